"""Which market prices and times the host believes: well-formed nonsense never moves money.

A push can be valid OKX JSON and still be impossible: a bid of 1 on BTC, a price of 0, a book
crossed by 1 %, a ``ts`` a century ahead. Acting on one closes real positions at market or moves
an exchange-side stop where the exchange triggers it at once. Each push is therefore judged
before the engine sees it, and one that is not credible is dropped and counted by reason:

* **times**: a market-data push stamped more than ``max_future_seconds`` ahead of the host's
  clock is dropped *before* the de-duplication watermark, so it cannot freeze its stream;
* **the mark price is the anchor**: OKX computes it from several venues' index prices, so one
  bad book does not move it. A mark must be positive, and a jump beyond ``jump_band`` from the
  last credible mark is believed only once ``gap_confirmations`` marks in a row agree on it;
* **ticks and quotes** (``tickers``, ``bbo-tbt``, ``books5``): positive, bid ≤ ask, the last
  price and the mid within ``mark_band`` of the credible mark, and the mid within ``jump_band``
  of the last credible mid — or, when the market really gaps, ``gap_confirmations`` pushes in a
  row agreeing on the new level, all of them inside the mark band (so the mark confirms it too);
* **trades**: a positive price within ``mark_band`` of the mark;
* before the first credible mark there is nothing to judge a price against, so ticks, quotes and
  trades wait for it (OKX sends the mark as soon as its channel is subscribed);
* a **position report's** ``markPx`` not within ``mark_band`` of the instrument's credible mark is
  removed, so nothing (an adoption's stop, say) is computed from another instrument's price; a
  report whose ``uTime`` is more than ``max_future_seconds`` ahead is marked so (its time is not
  believed: it would hold back every later update of the position, see
  :meth:`host.engine.positions.PositionKeeper.on_positions`).

This sits on the hot path: a few Decimal comparisons per push, no logging and no I/O; the
counts are read by whoever reports them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from host.clock import Clock
from host.exchange.events import (
    ExchangeEvent,
    MarkPricePush,
    PositionReport,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)
from host.settings import CredibilitySettings

ZERO = Decimal(0)
HALF = Decimal("0.5")
"""A mid is ``(bid + ask) * HALF``: exact, like a division by two, and cheaper."""


def within(price: Decimal, reference: Decimal, band: Decimal) -> bool:
    """Whether ``price`` lies within ``band`` (a fraction) of a positive ``reference``."""
    return abs(price - reference) <= reference * band


@dataclass(slots=True)
class PriceLevel:
    """The last credible price of one series, and a new level waiting to be confirmed.

    A price within ``band`` of the last credible one is believed and becomes the reference, so a
    market that moves step by step is followed. A price beyond it becomes a *candidate* level;
    it is believed once ``confirmations`` prices in a row (itself included) agree with each other
    within the band. One absurd price is thus always dropped, and a real gap costs
    ``confirmations - 1`` pushes.
    """

    band: Decimal
    confirmations: int
    reference: Decimal | None = None
    candidate: Decimal | None = None
    agreeing: int = 0

    def believe(self, price: Decimal) -> bool:
        """Judge ``price`` (already known to be positive); on True it is the new reference."""
        if self.reference is None or within(price, self.reference, self.band):
            return self._settle(price)
        if self.candidate is not None and within(price, self.candidate, self.band):
            self.agreeing += 1
        else:
            self.agreeing = 1
        self.candidate = price
        return self.agreeing >= self.confirmations and self._settle(price)

    def _settle(self, price: Decimal) -> bool:
        self.reference = price
        self.candidate = None
        self.agreeing = 0
        return True


@dataclass(slots=True)
class _Instrument:
    mark: PriceLevel
    mid: PriceLevel


@dataclass(slots=True)
class PriceCredibility:
    """Judges market pushes per instrument; ``dropped`` counts what it refused, by reason."""

    settings: CredibilitySettings
    clock: Clock
    dropped: Counter[str] = field(default_factory=Counter)
    _instruments: dict[str, _Instrument] = field(default_factory=dict)
    _max_ahead: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self._max_ahead = timedelta(seconds=self.settings.max_future_seconds)

    def timely(self, ts: datetime) -> bool:
        """Whether a market push's exchange time is not implausibly far ahead of the host's."""
        return not self._ahead(ts) or self._drop("from the future")

    def _ahead(self, ts: datetime) -> bool:
        """Whether ``ts`` is implausibly far ahead of the host's clock."""
        return ts - self.clock.now() > self._max_ahead

    def credible(self, event: ExchangeEvent) -> ExchangeEvent | None:
        """Return a market push if believed, or None; any other event passes unchanged."""
        if isinstance(event, TickerPush):
            tick = event.tick
            return event if self._quote(tick.inst_id, tick.bid, tick.ask, tick.last) else None
        if isinstance(event, QuotePush):
            return event if self._quote(event.inst_id, event.bid, event.ask, None) else None
        if isinstance(event, MarkPricePush):
            return event if self._mark(event.inst_id, event.mark) else None
        if isinstance(event, TradePush):
            return event if self._trade(event.trade.inst_id, event.trade.price) else None
        return event

    def judged_reports(self, push: PositionsPush) -> PositionsPush:
        """``push`` judged report by report: a ``markPx`` not credible is removed.

        A report whose ``uTime`` is far ahead of the host's clock is marked ``time_credible``
        false (and counted).
        """
        return replace(push, reports=tuple(self._report(r) for r in push.reports))

    def mark(self, inst_id: str) -> Decimal | None:
        """The instrument's last credible mark price, if any."""
        state = self._instruments.get(inst_id)
        return None if state is None else state.mark.reference

    def _state(self, inst_id: str) -> _Instrument:
        state = self._instruments.get(inst_id)
        if state is None:
            jump, confirmations = self.settings.jump_band, self.settings.gap_confirmations
            state = _Instrument(PriceLevel(jump, confirmations), PriceLevel(jump, confirmations))
            self._instruments[inst_id] = state
        return state

    def _mark(self, inst_id: str, mark: Decimal) -> bool:
        if mark <= ZERO:
            return self._drop("not positive")
        return self._state(inst_id).mark.believe(mark) or self._drop("mark jump unconfirmed")

    def _quote(self, inst_id: str, bid: Decimal, ask: Decimal, last: Decimal | None) -> bool:
        if bid <= ZERO or ask <= ZERO or (last is not None and last <= ZERO):
            return self._drop("not positive")
        if bid > ask:
            return self._drop("crossed book")
        state = self._state(inst_id)
        mark = state.mark.reference
        if mark is None:
            return self._drop("no mark yet")
        mid = (bid + ask) * HALF
        allowance = mark * self.settings.mark_band  # within(), written out: one product for two
        if abs(mid - mark) > allowance or (last is not None and abs(last - mark) > allowance):
            return self._drop("far from the mark")
        return state.mid.believe(mid) or self._drop("jump unconfirmed")

    def _trade(self, inst_id: str, price: Decimal) -> bool:
        if price <= ZERO:
            return self._drop("not positive")
        mark = self.mark(inst_id)
        if mark is None:
            return self._drop("no mark yet")
        return within(price, mark, self.settings.mark_band) or self._drop("far from the mark")

    def _report(self, report: PositionReport) -> PositionReport:
        if self._ahead(report.position.updated_at):
            self.dropped["position time from the future"] += 1
            report = replace(report, time_credible=False)
        if report.mark is None:
            return report
        mark = self.mark(report.position.inst_id)
        if mark is not None and within(report.mark, mark, self.settings.mark_band):
            return report
        self.dropped["position mark not credible"] += 1
        return replace(report, mark=None)

    def _drop(self, reason: str) -> bool:
        self.dropped[reason] += 1
        return False
