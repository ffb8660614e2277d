"""What a restart reads back from the journal, and the checks that say it can be trusted.

Each function takes an open connection and only reads. :class:`host.journal.Journal` runs them on
its writer thread, after every write queued before them, so a query sees everything the caller
has written so far.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from host.domain import (
    ClosedPosition,
    Order,
    OrderRejection,
    OrderState,
    PnL,
    Position,
    PositionOrigin,
    PositionSide,
    Regime,
    Side,
)
from host.journal.codec import instant, money, optional_money, time_text
from host.journal.records import IntegrityReport, IntentPurpose, OpenPosition, OrderIntent

_POSITION_COLUMNS = (
    "p.id, p.pos_id, p.inst_id, p.side, p.size, p.entry_price, p.entry_time, p.updated_at,"
    " p.origin, p.regime"
)
_OPEN = "p.id NOT IN (SELECT position FROM closes)"


def _position(row: sqlite3.Row, stop: Decimal | None) -> Position:
    return Position(
        pos_id=row["pos_id"],
        inst_id=row["inst_id"],
        side=PositionSide(row["side"]),
        size=money(row["size"]),
        entry_price=money(row["entry_price"]),
        entry_time=instant(row["entry_time"]),
        updated_at=instant(row["updated_at"]),
        origin=PositionOrigin(row["origin"]),
        stop=stop,
    )


def _tighter(side: PositionSide, a: Decimal, b: Decimal) -> bool:
    """Whether stop ``a`` protects more than ``b``: a long's stop is tighter higher up."""
    return a > b if side is PositionSide.LONG else a < b


def open_positions(connection: sqlite3.Connection) -> tuple[OpenPosition, ...]:
    """Every position without a close, with its tightest journaled stop on its current side.

    The tightest rather than the latest: stops only ever tighten, so they are the same — unless a
    bug wrote a looser one, and then a restart still must not loosen the protection.
    """
    rows = connection.execute(
        f"SELECT {_POSITION_COLUMNS} FROM positions p WHERE {_OPEN} ORDER BY p.pos_id, p.id"  # noqa: S608
    ).fetchall()
    result = []
    for row in rows:
        side = PositionSide(row["side"])
        best: sqlite3.Row | None = None
        for level in connection.execute(
            "SELECT stop, plugin, reason FROM stop_levels WHERE position = ? AND side = ?"
            " ORDER BY id",
            (row["id"], side.value),
        ):
            if best is None or _tighter(side, money(level["stop"]), money(best["stop"])):
                best = level
        result.append(
            OpenPosition(
                position=_position(row, None if best is None else money(best["stop"])),
                regime=None if row["regime"] is None else Regime(row["regime"]),
                stop_by=None if best is None else best["plugin"],
                stop_reason=None if best is None else best["reason"],
            )
        )
    return tuple(result)


def unresolved_intents(connection: sqlite3.Connection) -> tuple[OrderIntent, ...]:
    """Intents whose fate is unknown: no outcome yet, or *unknown* as the latest one.

    Each must be settled by querying its ``clOrdId`` before anything is re-sent. The order's
    ``ord_id`` is the last one any outcome reported, if any did.
    """
    rows = connection.execute(
        "SELECT i.*,"
        " (SELECT outcome FROM intent_outcomes o WHERE o.cl_ord_id = i.cl_ord_id"
        "  ORDER BY o.id DESC LIMIT 1) AS latest,"
        " (SELECT ord_id FROM intent_outcomes o WHERE o.cl_ord_id = i.cl_ord_id"
        "  AND o.ord_id IS NOT NULL ORDER BY o.id DESC LIMIT 1) AS known_ord_id"
        " FROM order_intents i WHERE latest IS NULL OR latest = 'unknown'"
        " ORDER BY i.created_at, i.cl_ord_id"
    ).fetchall()
    return tuple(
        OrderIntent(
            order=Order(
                cl_ord_id=row["cl_ord_id"],
                inst_id=row["inst_id"],
                side=Side(row["side"]),
                size=money(row["size"]),
                price=optional_money(row["price"]),
                created_at=instant(row["created_at"]),
                state=OrderState.LIVE,
                ord_id=row["known_ord_id"],
                post_only=bool(row["post_only"]),
                reduce_only=bool(row["reduce_only"]),
            ),
            purpose=IntentPurpose(row["purpose"]),
            reason=row["reason"],
            pos_id=row["pos_id"],
        )
        for row in rows
    )


def seen_trade_ids(
    connection: sqlite3.Connection, since: datetime | None = None
) -> frozenset[tuple[str, str]]:
    """``(instId, tradeId)`` of every journaled fill (at or after ``since``), to seed the dedup."""
    if since is None:
        rows: Iterable[sqlite3.Row] = connection.execute("SELECT inst_id, trade_id FROM fills")
    else:
        rows = connection.execute(
            "SELECT inst_id, trade_id FROM fills WHERE ts >= ?", (time_text(since),)
        )
    return frozenset((row["inst_id"], row["trade_id"]) for row in rows)


def intent_client_ids(connection: sqlite3.Connection) -> frozenset[str]:
    """The ``clOrdId`` of every journaled order intent: what the host may have sent."""
    return frozenset(
        row["cl_ord_id"] for row in connection.execute("SELECT cl_ord_id FROM order_intents")
    )


def fills_seen_since(
    connection: sqlite3.Connection, since: datetime
) -> tuple[tuple[tuple[str, str], datetime], ...]:
    """``((instId, tradeId), ts)`` of the fills at or after ``since``: a restart's fill ledger."""
    rows = connection.execute(
        "SELECT inst_id, trade_id, ts FROM fills WHERE ts >= ? ORDER BY ts", (time_text(since),)
    )
    return tuple(((row["inst_id"], row["trade_id"]), instant(row["ts"])) for row in rows)


def closed_since(connection: sqlite3.Connection, since: datetime) -> tuple[ClosedPosition, ...]:
    """Positions closed at or after ``since``, oldest first: the circuit breaker's history."""
    return tuple(closed for closed, _ in closed_between(connection, since, None))


def closed_between(
    connection: sqlite3.Connection, since: datetime | None, until: datetime | None
) -> tuple[tuple[ClosedPosition, Regime | None], ...]:
    """Positions closed in ``[since, until)``, oldest first, each with its regime at entry.

    ``None`` leaves that end open. The history a report reads.
    """
    rows = connection.execute(
        f"SELECT {_POSITION_COLUMNS}, c.exit_price, c.closed_at, c.gross, c.fees, c.stop,"  # noqa: S608
        " c.reason FROM closes c JOIN positions p ON p.id = c.position"
        " WHERE (? IS NULL OR c.closed_at >= ?) AND (? IS NULL OR c.closed_at < ?)"
        " ORDER BY c.closed_at, p.id",
        (*_bound(since), *_bound(until)),
    ).fetchall()
    return tuple(
        (
            ClosedPosition(
                position=_position(row, optional_money(row["stop"])),
                exit_price=money(row["exit_price"]),
                closed_at=instant(row["closed_at"]),
                pnl=PnL(gross=money(row["gross"]), fees=money(row["fees"])),
                reason=row["reason"],
            ),
            None if row["regime"] is None else Regime(row["regime"]),
        )
        for row in rows
    )


def _bound(moment: datetime | None) -> tuple[str | None, str | None]:
    """A bound of a time range as the two parameters ``(? IS NULL OR column >= ?)`` takes."""
    text = None if moment is None else time_text(moment)
    return text, text


def rejections_since(connection: sqlite3.Connection, since: datetime) -> tuple[OrderRejection, ...]:
    """Order requests refused at or after ``since``, oldest first: the breaker's reject rate."""
    rows = connection.execute(
        "SELECT inst_id, cl_ord_id, at, code, message FROM rejections WHERE at >= ?"
        " ORDER BY at, id",
        (time_text(since),),
    ).fetchall()
    return tuple(
        OrderRejection(
            row["inst_id"], row["cl_ord_id"], instant(row["at"]), row["code"], row["message"]
        )
        for row in rows
    )


# --- integrity --------------------------------------------------------------------------------


def integrity(connection: sqlite3.Connection) -> IntegrityReport:
    """Check the file and the journal's own invariants; every problem is one line.

    * SQLite's ``integrity_check`` and ``foreign_key_check``: the file and its references.
    * Every fill is explained: its ``clOrdId`` is a journaled intent (the host sent that order,
      and intents are written before sending), or a journaled position on its instrument was
      open at its time (a fill of an order the host did not send: an adopted position, an
      exchange-side stop, a liquidation), or it is one of the fills without a ``clOrdId`` that
      net to zero between two journaled entries (a position opened and closed from outside
      before the host saw it). A fill that is none of these means an order went out without
      its intent, or a position was never journaled.
    * At most one open position per ``posId`` (OKX holds one position per ``posId``).
    * Every fill has a positive price and size (the decoder refuses others; an older journal,
      or one edited by hand, may still hold one).
    * Stop levels never loosen within a position's side: a restart must not hand back a stop
      looser than one the host already had.
    """
    problems = [
        f"sqlite integrity_check: {row[0]}"
        for row in connection.execute("PRAGMA integrity_check")
        if row[0] != "ok"
    ]
    problems += [
        f"table {row[0]} row {row[1]} refers to a missing {row[2]} row"
        for row in connection.execute("PRAGMA foreign_key_check")
    ]
    problems += [
        f"fill {row['inst_id']}/{row['trade_id']} (clOrdId {row['cl_ord_id']!r}) matches no "
        "journaled intent and no position open at its time"
        for row in _unexplained_fills(connection)
    ]
    problems += [
        f"position {row[0]} is open {row[1]} times"
        for row in connection.execute(
            f"SELECT pos_id, count(*) FROM positions p WHERE {_OPEN}"  # noqa: S608
            " GROUP BY pos_id HAVING count(*) > 1"
        )
    ]
    problems += _impossible_fills(connection)
    problems += _loosened_stops(connection)
    return IntegrityReport(tuple(problems))


def _unexplained_fills(connection: sqlite3.Connection) -> list[sqlite3.Row]:
    """Fills explained by no intent, no journaled position and no outside round trip.

    A fill without a ``clOrdId`` is an order the host did not send (the app, ADL, a
    liquidation). Such fills may open and close a position before the host sees it (within a
    reconciliation interval, or while it restarts): the journal rightly holds the fills and no
    position. They explain themselves when they net to zero between two journaled entries of
    their instrument; a remainder is a position the journal never held, and is flagged.
    """
    rows = connection.execute(
        "SELECT f.id, f.inst_id, f.trade_id, f.cl_ord_id, f.side, f.size, f.ts FROM fills f"
        " WHERE f.cl_ord_id NOT IN (SELECT cl_ord_id FROM order_intents)"
        " AND NOT EXISTS (SELECT 1 FROM positions p LEFT JOIN closes c ON c.position = p.id"
        "  WHERE p.inst_id = f.inst_id AND p.entry_time <= f.ts"
        "  AND (c.closed_at IS NULL OR c.closed_at >= f.ts))"
        " ORDER BY f.id"
    ).fetchall()
    entries: dict[str, list[str]] = defaultdict(list)
    for inst_id, entry_time in connection.execute(
        "SELECT inst_id, entry_time FROM positions ORDER BY entry_time"
    ):
        entries[inst_id].append(entry_time)
    stretches: dict[tuple[str, int], list[sqlite3.Row]] = defaultdict(list)
    unexplained = []
    for row in rows:
        if row["cl_ord_id"]:
            unexplained.append(row)
        else:
            between = bisect_right(entries[row["inst_id"]], row["ts"])
            stretches[row["inst_id"], between].append(row)
    for outside in stretches.values():
        net = sum(_signed(money(row["size"]), row["side"]) for row in outside)
        if net != 0:
            unexplained += outside
    return sorted(unexplained, key=lambda row: int(row["id"]))


def _signed(size: Decimal, side: str) -> Decimal:
    return size if Side(side) is Side.BUY else -size


def _impossible_fills(connection: sqlite3.Connection) -> list[str]:
    """Fills no execution can have made: a price or size that is not positive."""
    return [
        f"fill {row['inst_id']}/{row['trade_id']}: impossible {field} {row[field]}"
        for row in connection.execute(
            "SELECT inst_id, trade_id, price, size FROM fills ORDER BY id"
        )
        for field in ("price", "size")
        if money(row[field]) <= 0
    ]


def _loosened_stops(connection: sqlite3.Connection) -> list[str]:
    problems = []
    previous: dict[tuple[int, str], Decimal] = {}
    for row in connection.execute(
        "SELECT s.position, s.side, s.stop, p.pos_id FROM stop_levels s"
        " JOIN positions p ON p.id = s.position ORDER BY s.id"
    ):
        key = (row["position"], row["side"])
        stop = money(row["stop"])
        before = previous.get(key)
        if before is not None and _tighter(PositionSide(row["side"]), before, stop):
            problems.append(f"position {row['pos_id']}: stop loosened from {before} to {stop}")
        else:
            previous[key] = stop
    return problems
