"""Market data as the host hands it to plugins: ticks, trades, bars and the regime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from host.domain.quick_init import quick_init
from host.domain.sides import Side


class Regime(StrEnum):
    """How an instrument's market behaves now; other plugins tune themselves per regime."""

    TRENDING = "trending"
    RANGING = "ranging"
    CHOPPY = "choppy"


@quick_init  # built at least once per tick
@dataclass(frozen=True, slots=True)
class Tick:
    """Top of book and last trade for one instrument at exchange time ``ts`` (aware UTC).

    ``mark`` is the latest mark price the host has seen for the instrument (exchange-side stops
    and ``upl`` use it); ``None`` until the first mark-price push.
    """

    inst_id: str
    ts: datetime
    last: Decimal
    bid: Decimal
    ask: Decimal
    mark: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade (``side`` is the taker's side)."""

    inst_id: str
    trade_id: str
    ts: datetime
    price: Decimal
    size: Decimal
    side: Side


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed candle, opening at ``start`` (aware UTC)."""

    inst_id: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
