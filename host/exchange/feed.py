"""Between the sockets and the engine: drop re-sent pushes, join snapshot pages.

OKX re-sends pushes, a reconnect replays them, and a ``64008`` hand-over briefly runs two
connections side by side. This is the one place those duplicates are dropped, so the engine
sees each change once:

* market data (tickers, trades, top of book, mark price) passes only when its time is plausible,
  when it is newer than the last push of its stream (:class:`~host.dedup.MarketDataWatermark`,
  which also drops a push that arrives after a newer one), and when its prices are credible
  (:class:`~host.exchange.credibility.PriceCredibility`); the time is judged first, so a push
  from the far future cannot move the watermark and freeze its stream;
* orders and event-driven position updates pass the first time their identity is seen
  (:class:`~host.dedup.PrivateEventDedup`);
* control frames (login, subscription acks) stay with the socket that handles them;
* a positions **snapshot** is never filtered: a position missing from a complete snapshot is
  flat, so every report of it matters. Its pages are joined, and it is handed on once complete.
  Position reports lose a ``markPx`` that is not credible for their instrument, and one whose
  ``uTime`` is far ahead of the host's clock is marked so (the engine ignores that time).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.exchange.credibility import PriceCredibility
from host.exchange.events import (
    ControlEvent,
    ExchangeEvent,
    MarkPricePush,
    OrderPush,
    PositionReport,
    PositionsEventType,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)

EngineSink = Callable[[ExchangeEvent], None]


class ExchangeFeed:
    """Filters decoded events and hands each new one to ``sink``, in arrival order."""

    def __init__(
        self,
        sink: EngineSink,
        private: PrivateEventDedup,
        market: MarketDataWatermark,
        credibility: PriceCredibility,
    ) -> None:
        self._sink = sink
        self._private = private
        self._market = market
        self.credibility = credibility
        self._snapshot_pages: list[PositionReport] = []

    @property
    def duplicates(self) -> dict[str, int]:
        """Pushes dropped as already seen, ``private`` events and ``market`` data (the metrics)."""
        return {"private": self._private.dropped, "market": self._market.dropped}

    def __call__(self, events: tuple[ExchangeEvent, ...]) -> None:
        """Take the events of one frame (an :class:`~host.exchange.ws.OkxSocket` sink)."""
        for event in events:
            admitted = self._admit(event)
            if admitted is not None:
                self._sink(admitted)

    def _admit(self, event: ExchangeEvent) -> ExchangeEvent | None:
        stream = _market_stream(event)
        if stream is not None:
            channel, inst_id, stamp, ts = stream
            if not self.credibility.timely(ts):
                return None
            if isinstance(event, QuotePush) and event.stamp < event.prev_stamp:
                self._market.forget(channel, inst_id)  # OKX reset the book's sequence
            if not self._market.is_new(channel, inst_id, stamp):
                return None
            return self.credibility.credible(event)
        if isinstance(event, ControlEvent):  # logins and acks are the socket's business
            return None
        if isinstance(event, OrderPush):
            return event if self._private.first_time(event.order) else None
        if isinstance(event, PositionsPush):
            return self._positions(event)
        return event

    def _positions(self, push: PositionsPush) -> PositionsPush | None:
        if push.event_type is PositionsEventType.SNAPSHOT:
            if push.page == 1:
                self._snapshot_pages = []
            self._snapshot_pages.extend(push.reports)
            if not push.last_page:
                return None
            complete = replace(push, reports=tuple(self._snapshot_pages), page=1, last_page=True)
            self._snapshot_pages = []
            for report in complete.reports:  # a later re-send of the same state is a duplicate
                self._private.first_time(report.position)
            return self.credibility.judged_reports(complete)
        fresh = tuple(r for r in push.reports if self._private.first_time(r.position))
        if not fresh:
            return None
        return self.credibility.judged_reports(replace(push, reports=fresh))


def _market_stream(event: ExchangeEvent) -> tuple[str, str, int, datetime] | None:
    """The ``(channel, instId, stamp, ts)`` of a market-data push; ``None`` for anything else."""
    if isinstance(event, TickerPush):
        return "tickers", event.tick.inst_id, event.stamp, event.tick.ts
    if isinstance(event, TradePush):
        return "trades", event.trade.inst_id, event.stamp, event.trade.ts
    if isinstance(event, MarkPricePush):
        return "mark-price", event.inst_id, event.stamp, event.ts
    if isinstance(event, QuotePush):
        return event.channel, event.inst_id, event.stamp, event.ts
    return None
