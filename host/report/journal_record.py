"""What the journal says happened with the exchange: the side :mod:`host.report.against` checks.

Read through the report's read-only connection (:func:`host.report.source.read_only`), in one
transaction, so a session still writing cannot make the parts disagree.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from host.domain import PositionSide
from host.journal.codec import instant, money
from host.report.source import Period


@dataclass(frozen=True, slots=True)
class JournalFill:
    """A journaled execution: OKX's identity of it and what the host booked."""

    inst_id: str
    trade_id: str
    price: Decimal
    size: Decimal
    fee: Decimal
    ts: datetime


@dataclass(frozen=True, slots=True)
class JournalPosition:
    """A position the journal holds open (entered, never closed)."""

    pos_id: str
    inst_id: str
    side: PositionSide
    size: Decimal


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """The period's fills and closes' gross PnL, and what the journal holds open now."""

    fills: tuple[JournalFill, ...]
    gross_by_instrument: dict[str, Decimal]
    open_positions: tuple[JournalPosition, ...]
    client_order_ids: frozenset[str]


def read_journal_record(connection: sqlite3.Connection, period: Period) -> JournalRecord:
    """The journal's side of the comparison, as one consistent snapshot."""
    condition, parameters = period.where("ts")
    closed, closed_parameters = period.where("c.closed_at")
    connection.execute("BEGIN")
    try:
        fills = connection.execute(
            "SELECT inst_id, trade_id, price, size, fee, ts FROM fills"  # noqa: S608
            f" WHERE {condition} ORDER BY ts, id",
            parameters,
        ).fetchall()
        gross = connection.execute(
            "SELECT p.inst_id, c.gross FROM closes c JOIN positions p ON p.id = c.position"  # noqa: S608
            f" WHERE {closed}",
            closed_parameters,
        ).fetchall()
        open_rows = connection.execute(
            "SELECT p.pos_id, p.inst_id, p.side, p.size FROM positions p"
            " LEFT JOIN closes c ON c.position = p.id WHERE c.position IS NULL ORDER BY p.id"
        ).fetchall()
        intents = connection.execute("SELECT cl_ord_id FROM order_intents").fetchall()
    finally:
        connection.execute("ROLLBACK")
    by_instrument: dict[str, Decimal] = {}
    for inst_id, value in gross:
        by_instrument[inst_id] = by_instrument.get(inst_id, Decimal(0)) + money(value)
    return JournalRecord(
        fills=tuple(
            JournalFill(r[0], r[1], money(r[2]), money(r[3]), money(r[4]), instant(r[5]))
            for r in fills
        ),
        gross_by_instrument=by_instrument,
        open_positions=tuple(
            JournalPosition(r[0], r[1], PositionSide(r[2]), money(r[3])) for r in open_rows
        ),
        client_order_ids=frozenset(row[0] for row in intents),
    )
