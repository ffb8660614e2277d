"""Candles built from the trades: the ``candle{bar}`` channels and ``GET /market/candles``.

A bar opens at a multiple of its length (UTC), takes every trade inside it and closes when the
clock passes its end — with no trade it still closes, flat at the previous close with zero
volume, as OKX's do. Rows are ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from host.clock import EPOCH
from host.sim.wire import ms, num

BARS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "3m": timedelta(minutes=3),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1H": timedelta(hours=1),
    "4H": timedelta(hours=4),
    "1Dutc": timedelta(days=1),
}
"""Bar names as OKX spells them (case-sensitive) and their lengths; daily bars are UTC."""

KEPT = 1440
"""Closed bars kept per series (a day of 1-minute bars)."""


@dataclass(slots=True)
class Candle:
    """One bar; ``vol`` in contracts, ``vol_ccy`` in base coin, ``vol_quote`` in USDT."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    vol: Decimal = Decimal(0)
    vol_ccy: Decimal = Decimal(0)
    vol_quote: Decimal = Decimal(0)
    confirmed: bool = False
    traded: bool = False

    def row(self) -> list[str]:
        """The OKX array form."""
        return [
            ms(self.start), num(self.open), num(self.high), num(self.low), num(self.close),
            num(self.vol), num(self.vol_ccy), num(self.vol_quote), "1" if self.confirmed else "0",
        ]  # fmt: skip


@dataclass(slots=True)
class CandleSeries:
    """The bars of one length for one instrument."""

    length: timedelta
    current: Candle | None = None
    closed: deque[Candle] = field(default_factory=lambda: deque(maxlen=KEPT))
    _current_end: datetime | None = None
    """When the current bar ends (every trade asks, for each of the eight bar lengths)."""

    def start_of(self, moment: datetime) -> datetime:
        """The open time of the bar containing ``moment``."""
        return EPOCH + ((moment - EPOCH) // self.length) * self.length

    def roll(self, now: datetime) -> list[Candle]:
        """Close every bar that ended by ``now``; return the closed ones, oldest first.

        The next bar exists as soon as its time begins, flat at the last close until a trade
        comes, so a quiet minute still produces a (zero-volume) bar.
        """
        done: list[Candle] = []
        while self._current_end is not None and self._current_end <= now:
            bar = self.current
            assert bar is not None  # noqa: S101 -- an end is known only with a bar
            bar.confirmed = True
            self.closed.append(bar)
            done.append(bar)
            last = bar.close
            self._open(Candle(self._current_end, last, last, last, last))
        return done

    def _open(self, bar: Candle) -> None:
        self.current = bar
        self._current_end = bar.start + self.length

    def add(self, px: Decimal, sz: Decimal, base: Decimal, ts: datetime) -> None:
        """Put a trade of ``sz`` contracts (``base`` coins) at ``px`` into its bar."""
        if self._current_end is not None and ts >= self._current_end:
            self.roll(ts)
        bar = self.current
        if bar is None:
            bar = Candle(self.start_of(ts), px, px, px, px, traded=True)
            self._open(bar)
        if not bar.traded:  # the first trade sets the open of a bar that began flat
            bar.open = bar.high = bar.low = px
            bar.traded = True
        bar.high, bar.low, bar.close = max(bar.high, px), min(bar.low, px), px
        bar.vol += sz
        bar.vol_ccy += base
        bar.vol_quote += base * px

    def rows(self, *, confirmed_only: bool) -> list[list[str]]:
        """Newest first, as ``/market/candles`` (with the open bar) or ``history-candles``."""
        bars = list(self.closed)
        if not confirmed_only and self.current is not None:
            bars.append(self.current)
        return [bar.row() for bar in reversed(bars)]


def series_for_all_bars() -> dict[str, CandleSeries]:
    """One empty series per bar name."""
    return {name: CandleSeries(length) for name, length in BARS.items()}
