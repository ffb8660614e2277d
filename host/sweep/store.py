"""The sweep's results on disk: one SQLite table of every run, which a re-run reads back.

A row is keyed by the run's key (config digest, code, data; :mod:`host.sweep.plan`). A re-run
takes a stored ``ok`` result as its own and runs only the rest; a failed run is tried again (its
cause may have been fixed outside what the key covers, such as a missing data file). Money and
ratios are stored as exact decimal text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from host.sweep.figures import Figures
from host.sweep.plan import Run
from host.sweep.task import OK, RunOutcome

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    config_id TEXT NOT NULL,
    overrides TEXT NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL,
    cause TEXT NOT NULL,
    trades INTEGER,
    wins INTEGER,
    win_rate TEXT,
    net_pnl TEXT,
    fees TEXT,
    max_drawdown TEXT,
    sharpe TEXT,
    returns TEXT,
    ledger_digest TEXT NOT NULL
)
"""
COLUMNS = (
    "key",
    "config_id",
    "overrides",
    "data",
    "status",
    "cause",
    "trades",
    "wins",
    "win_rate",
    "net_pnl",
    "fees",
    "max_drawdown",
    "sharpe",
    "returns",
    "ledger_digest",
)


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run of this sweep with its outcome: what the tables show, one line each."""

    run: Run
    outcome: RunOutcome
    cached: bool = False


def stored_outcomes(path: Path, keys: Iterable[str]) -> dict[str, RunOutcome]:
    """The ``ok`` results stored under any of ``keys`` (none when there is no file yet)."""
    if not path.exists():
        return {}
    wanted = set(keys)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(SCHEMA)
        rows = connection.execute(
            "SELECT key, trades, wins, net_pnl, fees, max_drawdown, returns, ledger_digest "
            "FROM runs WHERE status = ?",
            (OK,),
        ).fetchall()
    found = {}
    for key, trades, wins, net, fees, drawdown, returns, ledger in rows:
        if key in wanted:
            figures = Figures(
                trades,
                wins,
                Decimal(net),
                Decimal(fees),
                Decimal(drawdown),
                tuple(Decimal(r) for r in json.loads(returns)),
            )
            found[key] = RunOutcome(key, OK, figures, ledger)
    return found


def save_rows(path: Path, rows: Iterable[RunRow]) -> None:
    """Store (or replace) each run's row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(SCHEMA)
        connection.executemany(
            f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) "  # noqa: S608 -- constants
            f"VALUES ({', '.join('?' * len(COLUMNS))})",
            [_record(row) for row in rows],
        )


def _record(row: RunRow) -> tuple[object, ...]:
    run, outcome, figures = row.run, row.outcome, row.outcome.figures
    overrides = json.dumps(dict(run.configuration.overrides), default=str)
    measured: tuple[object, ...] = (None,) * 8
    if figures is not None:
        measured = (
            figures.trades,
            figures.wins,
            _text(figures.win_rate),
            str(figures.net_pnl),
            str(figures.fees),
            str(figures.max_drawdown),
            _text(figures.sharpe),
            json.dumps([str(r) for r in figures.returns]),
        )
    return (
        run.key,
        run.configuration.config_id,
        overrides,
        run.data.label,
        outcome.status,
        outcome.cause,
        *measured,
        outcome.ledger_digest,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
