"""Crash safety for real: a process journaling at full speed is SIGKILLed, and the file holds.

The child (``journal_crash_child.py``) prints a line after each durable write returned. After
the kill, the reopened journal must pass its integrity check and hold every printed record; the
fire-and-forget records in flight may be lost, but only whole transactions, never a half one.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from journal_factory import T0

from host.clock import ManualClock
from host.journal import ErrorEvent, Journal
from host.journal.schema import MIGRATIONS
from host.settings import JournalSettings

CHILD = Path(__file__).with_name("journal_crash_child.py")


def run_and_kill(path: Path, durable_lines: int | None) -> list[str]:
    """Start the child, let it report ``durable_lines`` durable writes, SIGKILL it mid-stride.

    ``None`` kills it as soon as the journal file exists: while it is being created and migrated.
    """
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, str(CHILD), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=CHILD.parent.parent,
        env={**os.environ, "PYTHONPATH": str(CHILD.parent)},
    ) as child:
        assert child.stdout is not None
        try:
            if durable_lines is None:
                while not path.exists():
                    time.sleep(0.0005)
                return lines
            assert child.stdout.readline() == "ready\n"
            while len(lines) < durable_lines:
                line = child.stdout.readline()
                assert line, "the child died before it was killed"
                lines.append(line.strip())
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            assert child.returncode == -signal.SIGKILL
    return lines


def rows(path: Path, sql: str) -> set[object]:
    with closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute(sql)}


@pytest.mark.parametrize("durable_lines", [None, 0, 7, 60, 250])
async def test_a_sigkilled_journal_reopens_consistent_with_every_durable_record(
    tmp_path: Path, durable_lines: int | None
) -> None:
    path = tmp_path / "crash.sqlite3"
    printed = run_and_kill(path, durable_lines)

    journal = await Journal.open(path, ManualClock(T0), JournalSettings())
    try:
        report = await journal.integrity()
        trade_ids = {trade_id for _, trade_id in await journal.seen_trade_ids()}
        closes = {c.position.pos_id for c in await journal.closed_since(T0)}
        open_positions = await journal.open_positions()
        assert await journal.commit(ErrorEvent(T0, "test", "written after the restart"))
    finally:
        await journal.close()

    assert report.problems == ()
    # Migrated once, whole: every version recorded exactly once.
    assert rows(path, "SELECT version FROM schema_version") == set(range(1, len(MIGRATIONS) + 1))
    durable = {kind: {line.split()[1] for line in printed if line.startswith(kind)}
               for kind in ("intent", "fill", "close")}  # fmt: skip
    assert durable["intent"] <= rows(path, "SELECT cl_ord_id FROM order_intents")
    assert durable["fill"] <= trade_ids
    assert durable["close"] <= closes
    # No half-applied position: every open one came back with the stop it was opened with.
    assert all(held.position.stop is not None for held in open_positions)
    # Transactions commit in the order records were handed over, so what survived is a prefix:
    # a durable fill that survived brings every burst fill queued before it.
    for trade_id in trade_ids - {t for t in trade_ids if "-" in t}:
        assert {f"{trade_id}-{part}" for part in range(20)} <= trade_ids
