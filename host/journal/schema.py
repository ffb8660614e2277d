"""The journal's schema: ordered migrations, each applied once and recorded in ``schema_version``.

A journal file outlives the program that wrote it, so its layout only ever moves forward through
numbered migrations. Migration *n* turns a version *n − 1* file into version *n*; each runs in its
own transaction together with its ``schema_version`` row, so a crash mid-migration leaves the file
at the previous version, never half-migrated. A file written by a newer scalphost (a version this
code does not know) is refused rather than guessed at: writing old-layout rows into a newer file
could lose exactly the records a restart depends on.

Column conventions (enforced by ``CHECK`` constraints, so no code path can break them): money is
text holding a Decimal's exact digits, times are fixed-width UTC ISO text (see
:mod:`host.journal.codec`), booleans are 0/1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from host.journal.codec import time_text
from host.journal.errors import JournalOpenError


class JournalVersionError(JournalOpenError):
    """The journal file was written by a newer scalphost, whose schema this one cannot read."""


def _money(column: str, *, null: bool = False) -> str:
    """A money column: text only, so a float is refused instead of stored.

    The column has no declared type on purpose. A ``TEXT`` (or ``STRICT``) column would quietly
    convert a float to text with 15 significant digits, and the CHECK would then see text; with
    no type affinity the value keeps its type and the CHECK refuses anything but text.
    """
    check = f"CONSTRAINT {column}_is_text CHECK"
    if null:
        return f"{column} {check} ({column} IS NULL OR typeof({column}) = 'text')"
    return f"{column} NOT NULL {check} (typeof({column}) = 'text')"


def _time(column: str, *, null: bool = False) -> str:
    """A time column: UTC ISO text ending in +00:00 (never naive, never local)."""
    rule = f"typeof({column}) = 'text' AND {column} LIKE '____-__-__T__:__:__.______+00:00'"
    check = f"CONSTRAINT {column}_is_utc CHECK"
    if null:
        return f"{column} TEXT {check} ({column} IS NULL OR ({rule}))"
    return f"{column} TEXT NOT NULL {check} ({rule})"


_VERSION_1 = f"""
CREATE TABLE signals (
    id INTEGER PRIMARY KEY,
    inst_id TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('long', 'short')),
    {_time("created_at")},
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    {_money("reference_price", null=True)},
    regime TEXT CHECK (regime IS NULL OR regime IN ('trending', 'ranging', 'choppy')),
    vetoed_by TEXT,
    veto_reason TEXT
);
CREATE INDEX signals_by_time ON signals (created_at);

CREATE TABLE order_intents (
    cl_ord_id TEXT PRIMARY KEY,
    inst_id TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('entry', 'close', 'stop')),
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    {_money("size")},
    {_money("price", null=True)},
    post_only INTEGER NOT NULL CHECK (post_only IN (0, 1)),
    reduce_only INTEGER NOT NULL CHECK (reduce_only IN (0, 1)),
    pos_id TEXT,
    reason TEXT NOT NULL,
    {_time("created_at")}
);

CREATE TABLE intent_outcomes (
    id INTEGER PRIMARY KEY,
    cl_ord_id TEXT NOT NULL REFERENCES order_intents (cl_ord_id),
    outcome TEXT NOT NULL CHECK (outcome IN ('acked', 'rejected', 'unknown', 'resolved')),
    ord_id TEXT,
    exchange_state TEXT
        CHECK (exchange_state IS NULL
               OR exchange_state IN ('live', 'partially_filled', 'filled', 'canceled')),
    detail TEXT NOT NULL,
    {_time("at")}
);
CREATE INDEX intent_outcomes_by_intent ON intent_outcomes (cl_ord_id, id);

CREATE TABLE fills (
    id INTEGER PRIMARY KEY,
    inst_id TEXT NOT NULL,
    trade_id TEXT NOT NULL,
    ord_id TEXT NOT NULL,
    cl_ord_id TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    {_money("price")},
    {_money("size")},
    {_money("fee")},
    {_time("ts")},
    maker INTEGER NOT NULL CHECK (maker IN (0, 1)),
    UNIQUE (inst_id, trade_id)
);
CREATE INDEX fills_by_time ON fills (ts);

CREATE TABLE positions (
    id INTEGER PRIMARY KEY,
    pos_id TEXT NOT NULL,
    inst_id TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('long', 'short')),
    {_money("size")},
    {_money("entry_price")},
    {_time("entry_time")},
    {_time("updated_at")},
    origin TEXT NOT NULL CHECK (origin IN ('own', 'adopted')),
    regime TEXT CHECK (regime IS NULL OR regime IN ('trending', 'ranging', 'choppy')),
    entry_cl_ord_id TEXT,
    UNIQUE (pos_id, entry_time)
);

CREATE TABLE stop_levels (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL REFERENCES positions (id),
    side TEXT NOT NULL CHECK (side IN ('long', 'short')),
    {_money("stop")},
    plugin TEXT NOT NULL,
    reason TEXT NOT NULL,
    {_time("at")}
);
CREATE INDEX stop_levels_by_position ON stop_levels (position, id);

CREATE TABLE closes (
    position INTEGER PRIMARY KEY REFERENCES positions (id),
    {_money("exit_price")},
    {_time("closed_at")},
    {_money("gross")},
    {_money("fees")},
    {_money("net")},
    {_money("stop", null=True)},
    reason TEXT NOT NULL
);
CREATE INDEX closes_by_time ON closes (closed_at);

CREATE TABLE balances (
    id INTEGER PRIMARY KEY,
    currency TEXT NOT NULL,
    {_money("equity")},
    {_money("available")},
    {_time("at")}
);

CREATE TABLE errors (
    id INTEGER PRIMARY KEY,
    {_time("at")},
    source TEXT NOT NULL,
    message TEXT NOT NULL
);

CREATE TABLE breaker_trips (
    id INTEGER PRIMARY KEY,
    {_time("at")},
    plugin TEXT NOT NULL,
    reason TEXT NOT NULL,
    {_time("until", null=True)}
);
"""

_VERSION_2 = f"""
CREATE TABLE rejections (
    id INTEGER PRIMARY KEY,
    inst_id TEXT NOT NULL,
    cl_ord_id TEXT NOT NULL,
    {_time("at")},
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX rejections_at ON rejections (at);
"""
"""Order requests the exchange refused or that failed: the circuit breaker's reject rate, kept
so a restart can replay it (version 1 kept only the intent's outcome text)."""

MIGRATIONS: tuple[str, ...] = (_VERSION_1, _VERSION_2)
"""Migration *n* (1-based) is ``MIGRATIONS[n - 1]``. Append only; never edit a released one."""


def stored_version(connection: sqlite3.Connection) -> int:
    """The schema version of an open journal; 0 for a new, empty file."""
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(
    connection: sqlite3.Connection, now: datetime, migrations: Sequence[str] = MIGRATIONS
) -> int:
    """Bring the journal up to ``len(migrations)``, one transaction per migration.

    Returns the version reached. Raises :class:`JournalVersionError` for a file newer than this
    code. The connection must be in autocommit mode (``isolation_level=None``), so the
    transactions here are exactly the ones written.
    """
    current = stored_version(connection)
    target = len(migrations)
    if current > target:
        raise JournalVersionError(
            f"journal schema version {current} is newer than this scalphost understands "
            f"({target}); run the scalphost release that wrote it, or a newer one"
        )
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY,"
        f" {_time('applied_at')})"
    )
    for version in range(current + 1, target + 1):
        _apply(connection, version, migrations[version - 1], now)
    return target


def _apply(connection: sqlite3.Connection, version: int, script: str, now: datetime) -> None:
    # executescript commits any open transaction first, so the whole migration, BEGIN to COMMIT,
    # is one script; on failure the transaction it opened is rolled back here.
    try:
        connection.executescript(
            f"BEGIN IMMEDIATE;\n{script}\n"
            f"INSERT INTO schema_version (version, applied_at) VALUES ({version:d}, "
            f"'{time_text(now)}');\nCOMMIT;"
        )
    except sqlite3.Error:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
