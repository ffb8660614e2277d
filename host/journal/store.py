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
from typing import Any

from host.domain import ClosedPosition, Fill
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


def _signal(connection: sqlite3.Connection, record: SignalRecord) -> bool:
    signal = record.signal
    return _inserted(
        connection,
        "INSERT INTO signals (inst_id, side, created_at, source, reason, reference_price, regime,"
        " vetoed_by, veto_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            signal.inst_id,
            signal.side.value,
            time_text(signal.created_at),
            signal.source,
            signal.reason,
            optional_money_text(signal.reference_price),
            None if record.regime is None else record.regime.value,
            record.vetoed_by,
            record.veto_reason,
        ),
    )


def _intent(connection: sqlite3.Connection, intent: OrderIntent) -> bool:
    order = intent.order
    return _inserted(
        connection,
        "INSERT OR IGNORE INTO order_intents (cl_ord_id, inst_id, purpose, side, size, price,"
        " post_only, reduce_only, pos_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?)",
        (
            order.cl_ord_id,
            order.inst_id,
            intent.purpose.value,
            order.side.value,
            money_text(order.size),
            optional_money_text(order.price),
            int(order.post_only),
            int(order.reduce_only),
            intent.pos_id,
            intent.reason,
            time_text(order.created_at),
        ),
    )


def _outcome(connection: sqlite3.Connection, outcome: IntentOutcome) -> bool:
    return _inserted(
        connection,
        "INSERT INTO intent_outcomes (cl_ord_id, outcome, ord_id, exchange_state, detail, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            outcome.cl_ord_id,
            outcome.outcome.value,
            outcome.ord_id,
            None if outcome.exchange_state is None else outcome.exchange_state.value,
            outcome.detail,
            time_text(outcome.at),
        ),
    )


def _fill(connection: sqlite3.Connection, fill: Fill) -> bool:
    return _inserted(
        connection,
        "INSERT OR IGNORE INTO fills (inst_id, trade_id, ord_id, cl_ord_id, side, price, size, fee,"
        " ts, maker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            fill.inst_id,
            fill.trade_id,
            fill.ord_id,
            fill.cl_ord_id,
            fill.side.value,
            money_text(fill.price),
            money_text(fill.size),
            money_text(fill.fee),
            time_text(fill.ts),
            int(fill.maker),
        ),
    )


def _insert_position(connection: sqlite3.Connection, record: PositionOpened) -> tuple[int, bool]:
    """The position's row id, and whether this call created it."""
    position = record.position
    created = _inserted(
        connection,
        "INSERT OR IGNORE INTO positions (pos_id, inst_id, side, size, entry_price, entry_time,"
        " updated_at, origin, regime, entry_cl_ord_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            position.pos_id,
            position.inst_id,
            position.side.value,
            money_text(position.size),
            money_text(position.entry_price),
            time_text(position.entry_time),
            time_text(position.updated_at),
            position.origin.value,
            None if record.regime is None else record.regime.value,
            record.entry_cl_ord_id,
        ),
    )
    row = connection.execute(
        "SELECT id FROM positions WHERE pos_id = ? AND entry_time = ?",
        (position.pos_id, time_text(position.entry_time)),
    ).fetchone()
    return int(row[0]), created


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
    return _inserted(
        connection,
        "INSERT INTO stop_levels (position, side, stop, plugin, reason, at) VALUES"
        " (?, ?, ?, ?, ?, ?)",
        (row_id, side, money_text(move.stop), move.plugin, move.reason, time_text(move.at)),
    )


def _stop_move(connection: sqlite3.Connection, move: StopMove) -> bool:
    row_id = _open_row(connection, move.pos_id)
    side = connection.execute("SELECT side FROM positions WHERE id = ?", (row_id,)).fetchone()[0]
    return _insert_stop(connection, row_id, side, move)


def _closed(connection: sqlite3.Connection, closed: ClosedPosition) -> bool:
    """Close the position's lifetime; one the journal never saw opened is recorded first.

    A position can vanish from the exchange before the journal heard of it (a crash between fill
    and journal); its close must still count for the circuit breaker, so its row is created.
    The position row takes the final size and entry the close was computed from.
    """
    position = closed.position
    row_id, _ = _insert_position(connection, PositionOpened(position))
    connection.execute(
        "UPDATE positions SET size = ?, entry_price = ?, updated_at = ? WHERE id = ?",
        (
            money_text(position.size),
            money_text(position.entry_price),
            time_text(position.updated_at),
            row_id,
        ),
    )
    return _inserted(
        connection,
        "INSERT OR IGNORE INTO closes (position, exit_price, closed_at, gross, fees, net, stop,"
        " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row_id,
            money_text(closed.exit_price),
            time_text(closed.closed_at),
            money_text(closed.pnl.gross),
            money_text(closed.pnl.fees),
            money_text(closed.pnl.net),
            optional_money_text(position.stop),
            closed.reason,
        ),
    )


def _balance(connection: sqlite3.Connection, snapshot: BalanceSnapshot) -> bool:
    return _inserted(
        connection,
        "INSERT INTO balances (currency, equity, available, at) VALUES (?, ?, ?, ?)",
        (
            snapshot.currency,
            money_text(snapshot.equity),
            money_text(snapshot.available),
            time_text(snapshot.at),
        ),
    )


def _error(connection: sqlite3.Connection, event: ErrorEvent) -> bool:
    return _inserted(
        connection,
        "INSERT INTO errors (at, source, message) VALUES (?, ?, ?)",
        (time_text(event.at), event.source, event.message),
    )


def _trip(connection: sqlite3.Connection, trip: BreakerTrip) -> bool:
    return _inserted(
        connection,
        "INSERT INTO breaker_trips (at, plugin, reason, until) VALUES (?, ?, ?, ?)",
        (time_text(trip.at), trip.plugin, trip.reason, optional_time_text(trip.until)),
    )


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
