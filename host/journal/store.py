"""How each record becomes rows: one function per record type, run inside the writer's transaction.

Every function answers whether the record was *new*. Records that have an identity are written
idempotently, so replaying an event (a duplicated push, a retried send after a crash) never makes
a second row: a fill by ``(instId, tradeId)``, an intent by ``clOrdId``, a position by
``(posId, cTime)`` (OKX reuses a ``posId`` after a close, the creation time tells the lifetimes
apart), a close by its position. Events without an identity (signals, stop moves, balances,
errors, trips) are always new.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from host.domain import ClosedPosition, Fill, OrderRejection, Position
from host.journal.codec import (
    money_text,
    optional_money_text,
    optional_time_text,
    time_text,
)
from host.journal.records import (
    BalanceSnapshot,
    BreakerTrip,
    ErrorEvent,
    IntentOutcome,
    OrderIntent,
    PositionChanged,
    PositionOpened,
    Record,
    SignalRecord,
    StopMove,
)


class UnknownPositionError(LookupError):
    """A stop move or change for a position the journal holds no open row for."""


def _inserted(connection: sqlite3.Connection, sql: str, parameters: tuple[Any, ...]) -> bool:
    return connection.execute(sql, parameters).rowcount == 1


def _insert(
    connection: sqlite3.Connection, table: str, row: dict[str, Any], *, or_ignore: bool = False
) -> bool:
    """Insert ``row`` (column → value) into ``table``; ``False`` when ignored as a duplicate.

    Table and column names come from this module only, never from data, so building the
    statement from them is safe; the values are always bound parameters.
    """
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    columns = ", ".join(row)
    placeholders = ", ".join("?" * len(row))
    sql = f"{verb} INTO {table} ({columns}) VALUES ({placeholders})"
    return _inserted(connection, sql, tuple(row.values()))


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


def _signal(connection: sqlite3.Connection, record: SignalRecord) -> bool:
    signal = record.signal
    return _insert(
        connection,
        "signals",
        {
            "inst_id": signal.inst_id,
            "side": signal.side.value,
            "created_at": time_text(signal.created_at),
            "source": signal.source,
            "reason": signal.reason,
            "reference_price": optional_money_text(signal.reference_price),
            "regime": _value(record.regime),
            "vetoed_by": record.vetoed_by,
            "veto_reason": record.veto_reason,
        },
    )


def _intent(connection: sqlite3.Connection, intent: OrderIntent) -> bool:
    order = intent.order
    return _insert(
        connection,
        "order_intents",
        {
            "cl_ord_id": order.cl_ord_id,
            "inst_id": order.inst_id,
            "purpose": intent.purpose.value,
            "side": order.side.value,
            "size": money_text(order.size),
            "price": optional_money_text(order.price),
            "post_only": int(order.post_only),
            "reduce_only": int(order.reduce_only),
            "pos_id": intent.pos_id,
            "reason": intent.reason,
            "created_at": time_text(order.created_at),
        },
        or_ignore=True,
    )


def _outcome(connection: sqlite3.Connection, outcome: IntentOutcome) -> bool:
    return _insert(
        connection,
        "intent_outcomes",
        {
            "cl_ord_id": outcome.cl_ord_id,
            "outcome": outcome.outcome.value,
            "ord_id": outcome.ord_id,
            "exchange_state": _value(outcome.exchange_state),
            "detail": outcome.detail,
            "at": time_text(outcome.at),
        },
    )


def _fill(connection: sqlite3.Connection, fill: Fill) -> bool:
    return _insert(
        connection,
        "fills",
        {
            "inst_id": fill.inst_id,
            "trade_id": fill.trade_id,
            "ord_id": fill.ord_id,
            "cl_ord_id": fill.cl_ord_id,
            "side": fill.side.value,
            "price": money_text(fill.price),
            "size": money_text(fill.size),
            "fee": money_text(fill.fee),
            "ts": time_text(fill.ts),
            "maker": int(fill.maker),
        },
        or_ignore=True,
    )


def _insert_position(connection: sqlite3.Connection, record: PositionOpened) -> tuple[int, bool]:
    """The position's row id, and whether this call created it."""
    position = record.position
    created = _insert(
        connection,
        "positions",
        {
            "pos_id": position.pos_id,
            "inst_id": position.inst_id,
            "side": position.side.value,
            "size": money_text(position.size),
            "entry_price": money_text(position.entry_price),
            "entry_time": time_text(position.entry_time),
            "updated_at": time_text(position.updated_at),
            "origin": position.origin.value,
            "regime": _value(record.regime),
            "entry_cl_ord_id": record.entry_cl_ord_id,
        },
        or_ignore=True,
    )
    row_id = _row_of(connection, position)
    assert row_id is not None  # noqa: S101 -- inserted, or there already
    return row_id, created


def _row_of(connection: sqlite3.Connection, position: Position) -> int | None:
    """The row of ``position``'s lifetime (its ``posId`` and entry time), if journaled."""
    row = connection.execute(
        "SELECT id FROM positions WHERE pos_id = ? AND entry_time = ?",
        (position.pos_id, time_text(position.entry_time)),
    ).fetchone()
    return None if row is None else int(row[0])


def _position_opened(connection: sqlite3.Connection, record: PositionOpened) -> bool:
    row_id, created = _insert_position(connection, record)
    position = record.position
    if created and position.stop is not None:
        _insert_stop(
            connection,
            row_id,
            position.side.value,
            StopMove(
                position.pos_id,
                position.stop,
                record.stop_by,
                record.stop_reason,
                position.updated_at,
            ),
        )
    return created


def _open_row(connection: sqlite3.Connection, pos_id: str) -> int:
    """The row of the open position ``pos_id`` (the newest lifetime without a close)."""
    row = connection.execute(
        "SELECT id FROM positions WHERE pos_id = ? AND id NOT IN (SELECT position FROM closes)"
        " ORDER BY id DESC LIMIT 1",
        (pos_id,),
    ).fetchone()
    if row is None:
        raise UnknownPositionError(f"{pos_id}: no open position in the journal")
    return int(row[0])


def _position_changed(connection: sqlite3.Connection, record: PositionChanged) -> bool:
    position = record.position
    return _inserted(
        connection,
        "UPDATE positions SET side = ?, size = ?, entry_price = ?, updated_at = ? WHERE id = ?",
        (
            position.side.value,
            money_text(position.size),
            money_text(position.entry_price),
            time_text(position.updated_at),
            _open_row(connection, position.pos_id),
        ),
    )


def _insert_stop(connection: sqlite3.Connection, row_id: int, side: str, move: StopMove) -> bool:
    return _insert(
        connection,
        "stop_levels",
        {
            "position": row_id,
            "side": side,
            "stop": money_text(move.stop),
            "plugin": move.plugin,
            "reason": move.reason,
            "at": time_text(move.at),
        },
    )


def _stop_move(connection: sqlite3.Connection, move: StopMove) -> bool:
    row_id = _open_row(connection, move.pos_id)
    side = connection.execute("SELECT side FROM positions WHERE id = ?", (row_id,)).fetchone()[0]
    return _insert_stop(connection, row_id, side, move)


def _row_to_close(connection: sqlite3.Connection, closed: ClosedPosition) -> int | None:
    """The row ``closed`` closes; None if that close is journaled already.

    A position flipped from outside keeps its ``posId`` and its journal row (the flip is a
    ``PositionChanged``, and the row keeps the first side's entry time) while OKX restarts its
    entry time: its close is then the open row's, not a new row's, or the row would stay open
    for ever while the exchange is flat (found by ``scalphost faults``: "positions match").
    """
    position = closed.position
    row_id = _row_of(connection, position)
    if row_id is not None:
        return row_id
    if connection.execute(
        "SELECT 1 FROM closes c JOIN positions p ON p.id = c.position"
        " WHERE p.pos_id = ? AND c.closed_at = ?",
        (position.pos_id, time_text(closed.closed_at)),
    ).fetchone():
        return None
    opened_before = connection.execute(
        "SELECT id FROM positions WHERE pos_id = ? AND entry_time <= ?"
        " AND id NOT IN (SELECT position FROM closes) ORDER BY id DESC LIMIT 1",
        (position.pos_id, time_text(position.entry_time)),
    ).fetchone()
    if opened_before is not None:
        return int(opened_before[0])
    return _insert_position(connection, PositionOpened(position))[0]


def _closed(connection: sqlite3.Connection, closed: ClosedPosition) -> bool:
    """Close the position's lifetime; one the journal never saw opened is recorded first.

    A position can vanish from the exchange before the journal heard of it (a crash between fill
    and journal); its close must still count for the circuit breaker, so its row is created.
    The position row takes the final size and entry the close was computed from.
    """
    position = closed.position
    row_id = _row_to_close(connection, closed)
    if row_id is None:
        return False  # this close is journaled already
    connection.execute(
        "UPDATE positions SET side = ?, size = ?, entry_price = ?, updated_at = ? WHERE id = ?",
        (
            position.side.value,
            money_text(position.size),
            money_text(position.entry_price),
            time_text(position.updated_at),
            row_id,
        ),
    )
    return _insert(
        connection,
        "closes",
        {
            "position": row_id,
            "exit_price": money_text(closed.exit_price),
            "closed_at": time_text(closed.closed_at),
            "gross": money_text(closed.pnl.gross),
            "fees": money_text(closed.pnl.fees),
            "net": money_text(closed.pnl.net),
            "stop": optional_money_text(position.stop),
            "reason": closed.reason,
        },
        or_ignore=True,
    )


def _balance(connection: sqlite3.Connection, snapshot: BalanceSnapshot) -> bool:
    return _insert(
        connection,
        "balances",
        {
            "currency": snapshot.currency,
            "equity": money_text(snapshot.equity),
            "available": money_text(snapshot.available),
            "at": time_text(snapshot.at),
        },
    )


def _error(connection: sqlite3.Connection, event: ErrorEvent) -> bool:
    row = {"at": time_text(event.at), "source": event.source, "message": event.message}
    return _insert(connection, "errors", row)


def _trip(connection: sqlite3.Connection, trip: BreakerTrip) -> bool:
    row = {
        "at": time_text(trip.at),
        "plugin": trip.plugin,
        "reason": trip.reason,
        "until": optional_time_text(trip.until),
    }
    return _insert(connection, "breaker_trips", row)


def _rejection(connection: sqlite3.Connection, rejection: OrderRejection) -> bool:
    row = {
        "inst_id": rejection.inst_id,
        "cl_ord_id": rejection.cl_ord_id,
        "at": time_text(rejection.at),
        "code": rejection.code,
        "message": rejection.message,
    }
    return _insert(connection, "rejections", row)


_WRITERS: dict[type, Callable[[sqlite3.Connection, Any], bool]] = {
    SignalRecord: _signal,
    OrderIntent: _intent,
    IntentOutcome: _outcome,
    Fill: _fill,
    PositionOpened: _position_opened,
    PositionChanged: _position_changed,
    StopMove: _stop_move,
    ClosedPosition: _closed,
    BalanceSnapshot: _balance,
    ErrorEvent: _error,
    BreakerTrip: _trip,
    OrderRejection: _rejection,
}


def store(connection: sqlite3.Connection, record: Record) -> bool:
    """Write ``record`` into the current transaction; ``True`` when it made a new row."""
    return writer_for(record)(connection, record)


def writer_for(record: object) -> Callable[[sqlite3.Connection, Any], bool]:
    """The function that stores ``record``; a :class:`TypeError` for what the journal ignores.

    The journal calls it in the caller's thread first, so a wrong object fails where it was
    handed over instead of in the writer thread.
    """
    try:
        return _WRITERS[type(record)]
    except KeyError:
        raise TypeError(f"the journal does not record {type(record).__name__}") from None
