"""The journal's rows a report is made from, read through a read-only connection.

A report may run while a session is still writing the journal (its writer keeps WAL mode and
normal locking for that), so the file is opened with SQLite's ``mode=ro``: a report can never
change what a restart will read. Everything is read in one transaction, so the figures agree
with each other even while rows are being added. Money stays Decimal, times aware UTC.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from host.domain import ClosedPosition, Regime, Side
from host.journal.codec import instant, money, optional_money, time_text
from host.journal.queries import closed_between
from host.journal.schema import MIGRATIONS, stored_version


class ReportInputError(ValueError):
    """The journal cannot be read as asked (missing, not a journal, too new): one line."""


@dataclass(frozen=True, slots=True)
class Period:
    """The time range a report covers: ``[since, until)``, either end open when ``None``."""

    since: datetime | None = None
    until: datetime | None = None

    def where(self, column: str) -> tuple[str, tuple[str | None, ...]]:
        """A SQL condition on ``column`` (a name from this package, never from data)."""
        since = None if self.since is None else time_text(self.since)
        until = None if self.until is None else time_text(self.until)
        return (
            f"(? IS NULL OR {column} >= ?) AND (? IS NULL OR {column} < ?)",
            (since, since, until, until),
        )


@dataclass(frozen=True, slots=True)
class EntryFill:
    """One fill of an entry order."""

    ts: datetime
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class EntryOrder:
    """An entry order as journaled: what was asked, when OKX took it, what filled, and why.

    ``price`` is ``None`` for a market order (a limit entry that crossed the spread at its
    time-out). ``signal_price`` and ``regime`` come from the signal it was sent for: the latest
    signal on its instrument at or before it (the host has one entry per instrument at a time).
    """

    cl_ord_id: str
    inst_id: str
    side: Side
    created_at: datetime
    price: Decimal | None
    acked_at: datetime | None
    fills: tuple[EntryFill, ...]
    signal_price: Decimal | None
    regime: Regime | None


@dataclass(frozen=True, slots=True)
class Balance:
    """The account's equity and available balance in one currency at one time."""

    at: datetime
    currency: str
    equity: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class Event:
    """A time-stamped line of the post-mortem: a breaker trip, an error or a rejection.

    ``source`` is the tripping plugin, the error's source (``plugin:<name>``, ``engine``,
    ``golive``) or the OKX code of a rejection.
    """

    at: datetime
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class JournalRows:
    """Everything of one period a report shows."""

    closed: tuple[tuple[ClosedPosition, Regime | None], ...]
    open_positions: int
    signals: int
    vetoed: int
    entries: tuple[EntryOrder, ...]
    fill_fees: tuple[tuple[datetime, Decimal], ...]
    balances: tuple[Balance, ...]
    trips: tuple[Event, ...]
    errors: tuple[Event, ...]
    rejections: tuple[Event, ...]


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the journal at ``path``; :class:`ReportInputError` if unusable."""
    if not path.is_file():
        raise ReportInputError(f"no journal at {path}")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as error:
        raise ReportInputError(f"{path}: cannot open: {error}") from None
    with closing(connection):
        connection.row_factory = sqlite3.Row
        try:
            version = stored_version(connection)
        except sqlite3.DatabaseError as error:
            if "not a database" in str(error):
                raise ReportInputError(f"{path} is not a scalphost journal") from None
            raise ReportInputError(f"{path}: cannot read: {error}") from None
        if version == 0 or version > len(MIGRATIONS):
            raise ReportInputError(
                f"{path} is not a journal this scalphost can read (schema version {version})"
            )
        yield connection


def read_rows(connection: sqlite3.Connection, period: Period) -> JournalRows:
    """The period's rows, read in one transaction (one consistent snapshot)."""
    connection.execute("BEGIN")
    try:
        return JournalRows(
            closed=closed_between(connection, period.since, period.until),
            open_positions=_open_positions(connection, period),
            signals=_count(connection, "signals", "created_at", period),
            vetoed=_count(connection, "signals", "created_at", period, "vetoed_by IS NOT NULL"),
            entries=_entries(connection, period),
            fill_fees=tuple(
                (instant(row["ts"]), money(row["fee"]))
                for row in _select(connection, "SELECT ts, fee FROM fills", "ts", period)
            ),
            balances=tuple(
                Balance(instant(row["at"]), row["ccy"], money(row["equity"]), money(row["free"]))
                for row in _select(
                    connection,
                    "SELECT at, currency AS ccy, equity, available AS free FROM balances",
                    "at",
                    period,
                )
            ),
            trips=_events(connection, "plugin", "reason", "breaker_trips", period),
            errors=_events(connection, "source", "message", "errors", period),
            rejections=_events(connection, "code", "message", "rejections", period),
        )
    finally:
        connection.execute("ROLLBACK")


def _select(
    connection: sqlite3.Connection, select: str, column: str, period: Period, extra: str = "1"
) -> list[sqlite3.Row]:
    condition, parameters = period.where(column)
    return connection.execute(
        f"{select} WHERE {condition} AND {extra} ORDER BY {column}, rowid",
        parameters,
    ).fetchall()


def _count(
    connection: sqlite3.Connection, table: str, column: str, period: Period, extra: str = "1"
) -> int:
    return len(_select(connection, f"SELECT 1 FROM {table}", column, period, extra))  # noqa: S608


def _events(
    connection: sqlite3.Connection, source: str, text: str, table: str, period: Period
) -> tuple[Event, ...]:
    rows = _select(connection, f"SELECT at, {source}, {text} FROM {table}", "at", period)  # noqa: S608
    return tuple(Event(instant(row[0]), row[1], row[2]) for row in rows)


def _open_positions(connection: sqlite3.Connection, period: Period) -> int:
    """Positions entered before the period's end and not closed by then."""
    until = None if period.until is None else time_text(period.until)
    row = connection.execute(
        "SELECT count(*) FROM positions p LEFT JOIN closes c ON c.position = p.id"
        " WHERE (? IS NULL OR p.entry_time < ?)"
        " AND (c.closed_at IS NULL OR (? IS NOT NULL AND c.closed_at >= ?))",
        (until, until, until, until),
    ).fetchone()
    return int(row[0])


def _entries(connection: sqlite3.Connection, period: Period) -> tuple[EntryOrder, ...]:
    orders = _select(
        connection, "SELECT * FROM order_intents", "created_at", period, "purpose = 'entry'"
    )
    return tuple(_entry(connection, row) for row in orders)


def _entry(connection: sqlite3.Connection, row: sqlite3.Row) -> EntryOrder:
    acked = connection.execute(
        "SELECT min(at) FROM intent_outcomes WHERE cl_ord_id = ? AND outcome = 'acked'",
        (row["cl_ord_id"],),
    ).fetchone()[0]
    fills = connection.execute(
        "SELECT ts, price, size FROM fills WHERE cl_ord_id = ? ORDER BY ts, id",
        (row["cl_ord_id"],),
    ).fetchall()
    signal = connection.execute(
        "SELECT reference_price, regime FROM signals WHERE inst_id = ? AND created_at <= ?"
        " AND vetoed_by IS NULL ORDER BY created_at DESC, id DESC LIMIT 1",
        (row["inst_id"], row["created_at"]),
    ).fetchone()
    return EntryOrder(
        cl_ord_id=row["cl_ord_id"],
        inst_id=row["inst_id"],
        side=Side(row["side"]),
        created_at=instant(row["created_at"]),
        price=optional_money(row["price"]),
        acked_at=None if acked is None else instant(acked),
        fills=tuple(
            EntryFill(instant(fill["ts"]), money(fill["price"]), money(fill["size"]))
            for fill in fills
        ),
        signal_price=None if signal is None else optional_money(signal["reference_price"]),
        regime=None if signal is None or signal["regime"] is None else Regime(signal["regime"]),
    )
