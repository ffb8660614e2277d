"""The journal file: WAL, versioned by ordered migrations, newer files refused, one owner at a time.

These open real files with the real writer thread; the schema's CHECK constraints are tested by
writing around the code, straight into SQLite, as a bug would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from journal_factory import T0, at

from host.clock import ManualClock
from host.journal import Journal, JournalInUseError, JournalVersionError, journal_path
from host.journal.schema import MIGRATIONS, migrate, stored_version
from host.settings import JournalSettings

SETTINGS = JournalSettings()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "accounts" / "paper.sqlite3"


async def open_journal(path: Path) -> Journal:
    return await Journal.open(path, ManualClock(T0), SETTINGS)


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    """An empty database in memory, closed after the test."""
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as connection:
        yield connection


def read(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        return db.execute(sql).fetchall()


async def test_a_new_journal_is_created_in_wal_mode_at_the_latest_version(path: Path) -> None:
    journal = await open_journal(path)
    await journal.close()
    assert read(path, "PRAGMA journal_mode") == [("wal",)]
    assert read(path, "SELECT version, applied_at FROM schema_version") == [
        (version, "2026-11-24T12:00:00.000000+00:00") for version in range(1, len(MIGRATIONS) + 1)
    ]


async def test_reopening_applies_nothing_twice(path: Path) -> None:
    for _ in range(2):
        journal = await open_journal(path)
        await journal.close()
    assert read(path, "SELECT count(*) FROM schema_version") == [(len(MIGRATIONS),)]


async def test_a_journal_from_a_newer_scalphost_is_refused_untouched(path: Path) -> None:
    await (await open_journal(path)).close()
    read(path, "INSERT INTO schema_version VALUES (99, '2027-01-01T00:00:00.000000+00:00')")
    with pytest.raises(JournalVersionError, match="version 99 is newer than this scalphost"):
        await open_journal(path)
    assert read(path, "SELECT max(version) FROM schema_version") == [(99,)]


def test_migrations_apply_in_order_each_with_its_version(db: sqlite3.Connection) -> None:
    assert migrate(db, T0, MIGRATIONS[:1]) == 1
    later = (*MIGRATIONS, "ALTER TABLE errors ADD COLUMN detail TEXT;")
    latest = len(later)
    assert migrate(db, at(60), later) == latest
    assert db.execute("SELECT version, applied_at FROM schema_version").fetchall() == [
        (1, "2026-11-24T12:00:00.000000+00:00"),
        *((version, "2026-11-24T12:01:00.000000+00:00") for version in range(2, latest + 1)),
    ]
    assert "detail" in {row[1] for row in db.execute("PRAGMA table_info(errors)")}


def test_a_failing_migration_leaves_the_previous_version_whole(db: sqlite3.Connection) -> None:
    migrate(db, T0)
    broken = (*MIGRATIONS, "CREATE TABLE half_done (a); INSERT INTO no_such_table VALUES (1);")
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrate(db, T0, broken)
    assert stored_version(db) == len(MIGRATIONS)
    assert not db.in_transaction
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall() == []


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        # a float price: SQLite would keep a REAL, i.e. a binary fraction, not the exchange's digits
        (
            "INSERT INTO balances (currency, equity, available, at) VALUES"
            " ('USDT', 0.1, '1', '2026-11-24T12:00:00.000000+00:00')",
            "equity_is_text",
        ),
        # a naive time: no reader could tell which zone it is in
        (
            "INSERT INTO errors (at, source, message) VALUES ('2026-11-24 12:00:00', 'x', 'y')",
            "at_is_utc",
        ),
        # a local time with an offset: stored times are UTC only
        (
            "INSERT INTO errors (at, source, message) VALUES"
            " ('2026-11-24T13:00:00.000000+01:00', 'x', 'y')",
            "at_is_utc",
        ),
    ],
)
def test_the_schema_itself_refuses_floats_and_non_utc_times(
    sql: str, constraint: str, db: sqlite3.Connection
) -> None:
    migrate(db, T0)
    with pytest.raises(sqlite3.IntegrityError, match=f"CHECK constraint failed: {constraint}"):
        db.execute(sql)


async def test_a_second_host_on_the_same_account_is_refused(path: Path) -> None:
    first = await open_journal(path)
    try:
        with pytest.raises(JournalInUseError, match="in use by another process"):
            await open_journal(path)
    finally:
        await first.close()
    await (await open_journal(path)).close()  # free again once the first host closed it


def test_one_file_per_account_inside_the_configured_directory(tmp_path: Path) -> None:
    settings = JournalSettings(directory=tmp_path)
    assert journal_path(settings, "live-4711") == tmp_path / "live-4711.sqlite3"
    for bad in ("../escape", "a/b", "", ".hidden", "paper\n"):
        with pytest.raises(ValueError, match="not a plain file name"):
            journal_path(settings, bad)
