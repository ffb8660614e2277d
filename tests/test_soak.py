"""Soak: what the host keeps while it trades must level off, not grow with the session (issue 13,
defect 11).

A long fast replay is sampled as it runs. Resident memory is too noisy to assert on (the
allocator, SQLite's page cache and the simulator's own history live in the same process), so
the tests measure the host's containers that used to grow with every fill or close: the fill
ledger's remembered ``tradeId``s (bounded by ``engine.fill_memory_hours`` of the fills' own
time) and the session's kept trades (its figures are running totals). An unbounded ledger, the
one before the fix, remembers every fill of the session and fails the window assertion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from host.clock import EPOCH
from host.engine.engine import Engine
from host.engine.stats import RECENT_TRADES
from host.faults.invariants import account_uid
from host.sessions.fast import replay
from host.sessions.paper import new_session
from host.sessions.replay_loop import run_on_replay_loop
from host.settings import JournalSettings, Settings, load_settings
from host.sim.server import DEFAULT_START, Simulator

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Sample:
    """The host's bounded containers at one instant of a session."""

    now: datetime
    remembered: int
    kept_trades: int
    closed: int


def _settings(directory: Path, fill_memory_hours: float) -> Settings:
    settings = load_settings(REPO / "config" / "paper.yaml")
    engine = settings.engine.model_copy(update={"fill_memory_hours": fill_memory_hours})
    return settings.model_copy(
        update={"journal": JournalSettings(directory=directory), "engine": engine}
    )


def _soak(
    directory: Path, minutes: int, fill_memory_hours: float, every_minutes: int
) -> tuple[list[Sample], Simulator]:
    settings = _settings(directory, fill_memory_hours)
    session = new_session(settings, 1, None, DEFAULT_START, timedelta(minutes=minutes))
    samples: list[Sample] = []

    def sample(engine: Engine, elapsed: timedelta) -> None:
        if elapsed % timedelta(minutes=every_minutes) == timedelta(0):
            samples.append(
                Sample(
                    engine.clock.now(),
                    engine.ledger.remembered,
                    len(engine.stats.trades),
                    engine.stats.closed,
                )
            )

    run_on_replay_loop(replay(session.settings, session.sim, session.length, after_step=sample))
    return samples, session.sim


def _fill_times(sim: Simulator) -> list[datetime]:
    """When each of the host's fills happened, by the exchange's own record."""
    uid = account_uid(sim)
    return [
        EPOCH + timedelta(milliseconds=int(entry.ts))
        for entry in sim.ledger.entries("fill")
        if entry.data["uid"] == uid
    ]


def _window_bound(fills: list[datetime], now: datetime, window: timedelta) -> int:
    """Most fills the ledger may remember at ``now``: those within ``window`` of the latest.

    The ledger forgets when a fill arrives, so between fills it still holds the window that
    ended at the latest one.
    """
    seen = [ts for ts in fills if ts <= now]
    latest = max(seen, default=now)
    return sum(1 for ts in seen if ts >= latest - window)


def _assert_levels_off(samples: list[Sample], sim: Simulator, memory: timedelta) -> None:
    fills = _fill_times(sim)
    assert len(fills) >= 4, "a soak without fills proves nothing about the ledger"
    settled = [sample for sample in samples if sample.now - samples[0].now >= memory]
    assert len(settled) >= 2, "the session must outlast the memory by two samples"
    for sample in settled:
        assert sample.remembered <= _window_bound(fills, sample.now, memory), sample
        assert sample.kept_trades == min(sample.closed, RECENT_TRADES)
    # Well apart, the ledger holds a window of fills, not the session's history.
    assert settled[-1].remembered < len(fills)


def test_the_fill_ledger_remembers_a_window_not_the_session(tmp_path: Path) -> None:
    memory = timedelta(minutes=2)
    samples, sim = _soak(tmp_path, 8, memory / timedelta(hours=1), 1)
    _assert_levels_off(samples, sim, memory)


@pytest.mark.slow
def test_a_two_hour_session_keeps_no_more_than_it_did_after_the_first(tmp_path: Path) -> None:
    memory = timedelta(minutes=20)
    samples, sim = _soak(tmp_path, 120, memory / timedelta(hours=1), 10)
    _assert_levels_off(samples, sim, memory)
