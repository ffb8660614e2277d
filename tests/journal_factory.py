"""Records for journal tests: small builders with realistic OKX-looking values."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from host.domain import (
    ClosedPosition,
    Fill,
    Order,
    PnL,
    Position,
    PositionOrigin,
    PositionSide,
    Side,
)
from host.journal import IntentPurpose, OrderIntent, PositionOpened
from host.journal.schema import migrate

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BTC = "BTC-USDT-SWAP"


def at(seconds: float) -> datetime:
    """``seconds`` after :data:`T0`."""
    return T0 + timedelta(seconds=seconds)


def entry_intent(cl_ord_id: str, when: datetime = T0, inst_id: str = BTC) -> OrderIntent:
    order = Order(cl_ord_id, inst_id, Side.BUY, Decimal("0.03"), Decimal("103698.9"), when)
    return OrderIntent(order, IntentPurpose.ENTRY, "demo signal")


def fill(trade_id: str, cl_ord_id: str, when: datetime = T0, inst_id: str = BTC) -> Fill:
    return Fill(
        inst_id, trade_id, "2497956918703120384", cl_ord_id, Side.BUY, Decimal("103698.9"),
        Decimal("0.03"), Decimal("-0.021776769"), when,
    )  # fmt: skip


def position(
    pos_id: str = "616057041198907393",
    *,
    opened: datetime = T0,
    stop: Decimal | None = Decimal("103000"),
    side: PositionSide = PositionSide.LONG,
    origin: PositionOrigin = PositionOrigin.OWN,
    inst_id: str = BTC,
) -> Position:
    return Position(
        pos_id, inst_id, side, Decimal("0.03"), Decimal("103698.9"), opened, opened, origin, stop
    )


def opened(held: Position, cl_ord_id: str | None = None) -> PositionOpened:
    return PositionOpened(held, None, cl_ord_id, "trailing_stop", "initial stop")


def closed(held: Position, when: datetime, reason: str = "stop hit") -> ClosedPosition:
    return ClosedPosition(
        held, Decimal("103100.5"), when, PnL(Decimal("-0.17952"), Decimal("-0.0414")), reason
    )


def memory_schema() -> sqlite3.Connection:
    """The journal schema in memory, for driving the store and query functions directly."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.row_factory = sqlite3.Row
    migrate(connection, T0)
    return connection
