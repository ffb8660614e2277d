"""What the engine knows of each instrument's market: latest tick, quote, mark, and bars.

Three channels describe one market and arrive independently: ``tickers`` (last trade and top of
book, the host's *tick*), ``bbo-tbt`` (the freshest top of book) and ``mark-price``. The
:class:`MarketBook` merges them so every tick handed to plugins carries the freshest bid, ask and
mark. Bars are built here from public trades rather than subscribed, so their boundaries are the
host's (configured ``bar_seconds``, aligned to UTC) and a replay builds the same bars as a live run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from host.clock import EPOCH
from host.domain import Bar, Tick, Trade


@dataclass(slots=True)
class _Quote:
    bid: Decimal
    ask: Decimal
    ts: datetime


class MarketBook:
    """The latest tick of each instrument, with the freshest quote and mark merged in."""

    def __init__(self) -> None:
        self._ticks: dict[str, Tick] = {}
        self._quotes: dict[str, _Quote] = {}
        self._marks: dict[str, Decimal] = {}

    def on_ticker(self, tick: Tick) -> Tick:
        """Take a ticker push; return the tick to decide on (quote and mark merged in)."""
        quote = self._quotes.get(tick.inst_id)
        fresher = quote is not None and quote.ts > tick.ts
        mark = self._marks.get(tick.inst_id)
        if fresher and quote is not None:  # one copy per tick, not one per merged field
            tick = Tick(tick.inst_id, tick.ts, tick.last, quote.bid, quote.ask, mark)
        elif mark is not None:
            tick = Tick(tick.inst_id, tick.ts, tick.last, tick.bid, tick.ask, mark)
        self._ticks[tick.inst_id] = tick
        return tick

    def on_quote(self, inst_id: str, bid: Decimal, ask: Decimal, ts: datetime) -> None:
        """Take a top-of-book push (``bbo-tbt`` / ``books5``)."""
        self._quotes[inst_id] = _Quote(bid, ask, ts)

    def on_mark(self, inst_id: str, mark: Decimal) -> None:
        """Take a mark-price push."""
        self._marks[inst_id] = mark

    def mark(self, inst_id: str) -> Decimal | None:
        """The latest mark price, or the last trade price before the first mark push."""
        mark = self._marks.get(inst_id)
        if mark is not None:
            return mark
        tick = self._ticks.get(inst_id)
        return None if tick is None else tick.last

    def marks(self) -> dict[str, Decimal]:
        """The mark (or last) price of every instrument seen, for reconciliation drifts."""
        return {
            inst_id: price
            for inst_id in self._ticks.keys() | self._marks.keys()
            if (price := self.mark(inst_id)) is not None
        }


class BarBuilder:
    """One-``period`` OHLCV bars per instrument from public trades, aligned to UTC.

    A bar closes when the first trade of a later period arrives; periods without trades produce
    no bar (a detector sees the gap as it is). The last ``history`` closed bars are kept.
    """

    def __init__(self, period: timedelta, history: int) -> None:
        self._period = period
        self._history = history
        self._open: dict[str, Bar] = {}
        self._closed: dict[str, deque[Bar]] = {}

    def add(self, trade: Trade) -> Bar | None:
        """Take one trade; return the bar it closed, if any."""
        start = EPOCH + (trade.ts - EPOCH) // self._period * self._period
        current = self._open.get(trade.inst_id)
        if current is None or start > current.start:
            self._open[trade.inst_id] = Bar(
                trade.inst_id, start, trade.price, trade.price, trade.price, trade.price, trade.size
            )
            if current is None:
                return None
            self._closed.setdefault(trade.inst_id, deque(maxlen=self._history)).append(current)
            return current
        if start < current.start:  # a late trade of a bar already closed: it stays closed
            return None
        self._open[trade.inst_id] = replace(
            current,
            high=max(current.high, trade.price),
            low=min(current.low, trade.price),
            close=trade.price,
            volume=current.volume + trade.size,
        )
        return None

    def bars(self, inst_id: str) -> tuple[Bar, ...]:
        """The instrument's closed bars, oldest first."""
        return tuple(self._closed.get(inst_id, ()))
