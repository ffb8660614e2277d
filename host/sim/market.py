"""The public market of one instrument: last trade, book, mark price, 24 h figures, wire records.

Every public channel and market endpoint reads from here, so a ticker, the book and the trades a
client sees always agree with the prices the matching engine fills at.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from host.sim.book import Book, Level
from host.sim.candles import CandleSeries, series_for_all_bars
from host.sim.fields import TICKER_FIELDS
from host.sim.instruments import SimInstrument
from host.sim.wire import JsonDict, ms, num

RECENT_TRADES = 10_000
"""Public trades kept for ``market/trades`` and ``market/history-trades`` (OKX keeps months)."""
MARK_SMOOTHING = Decimal("0.2")
"""Weight of the newest mid in the mark price, so the mark lags the last price as OKX's does."""


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """A trade as the ``trades`` channel shows it (``side`` = taker side)."""

    inst_id: str
    trade_id: str
    px: Decimal
    sz: Decimal
    side: str
    ts: datetime

    def record(self) -> JsonDict:
        """The ``trades`` channel item."""
        return {
            "instId": self.inst_id,
            "tradeId": self.trade_id,
            "px": num(self.px),
            "sz": num(self.sz),
            "side": self.side,
            "ts": ms(self.ts),
            "count": "1",
        }


@dataclass(slots=True)
class InstrumentMarket:
    """Everything public about one instrument, updated trade by trade."""

    inst: SimInstrument
    book: Book
    last: Decimal
    mark: Decimal
    ts: datetime
    last_sz: Decimal = Decimal(0)
    open24h: Decimal = Decimal(0)
    high24h: Decimal = Decimal(0)
    low24h: Decimal = Decimal(0)
    vol24h: Decimal = Decimal(0)
    next_trade_id: int = 1
    trades: list[PublicTrade] = field(default_factory=list)
    recent: deque[PublicTrade] = field(default_factory=lambda: deque(maxlen=RECENT_TRADES))
    candles: dict[str, CandleSeries] = field(default_factory=series_for_all_bars)

    @classmethod
    def open(
        cls, inst: SimInstrument, rng: random.Random, depth: int, now: datetime
    ) -> InstrumentMarket:
        """A market at the instrument's start price, with a book around it."""
        book = Book(inst, rng, depth)
        book.reshape(inst.start_px, "buy")
        px = inst.start_px
        return cls(inst, book, px, px, now, open24h=px, high24h=px, low24h=px)

    def new_trade_id(self) -> str:
        """The next ``tradeId`` of this instrument (public and private fills share the sequence)."""
        trade_id = str(self.next_trade_id)
        self.next_trade_id += 1
        return trade_id

    def record_trade(
        self, side: str, px: Decimal, sz: Decimal, ts: datetime, trade_id: str
    ) -> PublicTrade:
        """Account for a trade in last price and 24 h figures, and remember it for the feed."""
        trade = PublicTrade(self.inst.inst_id, trade_id, px, sz, side, ts)
        self.last, self.last_sz, self.ts = px, sz, ts
        self.high24h = max(self.high24h, px)
        self.low24h = min(self.low24h, px)
        self.vol24h += sz
        self.trades.append(trade)
        self.recent.append(trade)
        for series in self.candles.values():
            series.add(px, sz, sz * self.inst.ct_val, ts)
        return trade

    def roll_candles(self, now: datetime) -> None:
        """Close the bars that ended by ``now`` (they are pushed with ``confirm "1"``)."""
        for series in self.candles.values():
            series.roll(now)

    def update_mark(self) -> bool:
        """Move the mark toward the mid; tell whether it changed (mark-price pushes on change)."""
        target = self.mark + (self.book.mid - self.mark) * MARK_SMOOTHING
        mark = self.inst.to_tick(target)
        changed = mark != self.mark
        self.mark = mark
        return changed

    def drain_trades(self) -> list[PublicTrade]:
        """The trades since the last call (what the ``trades`` channel has to publish)."""
        trades, self.trades = self.trades, []
        return trades

    def ticker_record(self) -> JsonDict:
        """``tickers`` channel / ``GET /market/ticker`` item."""
        record: JsonDict = dict.fromkeys(TICKER_FIELDS, "")
        best_bid = self.book.head(bid_side=True, count=1)[0]
        best_ask = self.book.head(bid_side=False, count=1)[0]
        record.update(
            instType="SWAP",
            instId=self.inst.inst_id,
            last=num(self.last),
            lastSz=num(self.last_sz),
            askPx=num(best_ask.px),
            askSz=num(best_ask.sz),
            bidPx=num(best_bid.px),
            bidSz=num(best_bid.sz),
            open24h=num(self.open24h),
            high24h=num(self.high24h),
            low24h=num(self.low24h),
            vol24h=num(self.vol24h),
            volCcy24h=num(self.vol24h * self.inst.ct_val),
            sodUtc0=num(self.open24h),
            sodUtc8=num(self.open24h),
            ts=ms(self.ts),
        )
        return record

    def books_record(self, depth: int, *, with_seq: bool) -> JsonDict:
        """``books5``/``bbo-tbt`` item (with ``seqId``) or ``GET /market/books`` item (without)."""
        record: JsonDict = {
            "asks": [wire_level(lv) for lv in self.book.head(bid_side=False, count=depth)],
            "bids": [wire_level(lv) for lv in self.book.head(bid_side=True, count=depth)],
            "ts": ms(self.ts),
        }
        if with_seq:
            record["seqId"] = self.book.seq_id
        return record

    def mark_record(self, now: datetime | None = None) -> JsonDict:
        """``mark-price`` channel item, stamped ``now`` (when pushed) or at the last trade."""
        return {
            "instType": "SWAP",
            "instId": self.inst.inst_id,
            "markPx": num(self.mark),
            "ts": ms(now or self.ts),
        }


def wire_level(level: Level) -> list[str]:
    """A book level as OKX sends it: ``[px, sz, "0" (deprecated), number of orders]``."""
    return [num(level.px), num(level.sz), "0", str(level.orders)]
