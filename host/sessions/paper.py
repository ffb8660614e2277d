"""Paper mode: the whole host against the built-in simulator, on the simulator's clock.

``scalphost run`` with no arguments lands here. The simulator listens on 127.0.0.1 and the host
talks to it through the real client code (signed REST, logged-in WebSockets). Time is the
simulator's: the driver advances it step by step, as fast as the host keeps up, so an hour of
market runs in about a minute and the same seed gives the same market (the host's tasks still
interleave in real time, so its results may differ slightly). Each run is a new simulated
account, so it starts with a new journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from host.engine.engine import Engine
from host.engine.stats import SessionStats
from host.exchange.connection import OkxConnection
from host.journal import journal_path
from host.report.source import Period, read_only, read_rows
from host.sessions.runner import Venue, trade
from host.settings import Settings
from host.sim.config import SimConfig
from host.sim.replay import FileReplay
from host.sim.server import DEFAULT_START, Simulator
from host.sim.standalone import sim_account_credentials

PAPER_ACCOUNT = "paper"
STEP = timedelta(seconds=1)
"""Simulated time per driver step: the host sees every push of a step before the next."""
ZERO = timedelta(0)
PROGRESS_EVERY = 60
"""Steps between progress reports."""

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PaperResult:
    """What a paper session leaves: its figures and where its journal is.

    ``unprotected_at_end`` counts the positions left open without an exchange-side stop, so the
    summary says "with their exchange-side stops" only when it is true.
    """

    stats: SessionStats
    journal: Path
    open_at_end: int
    unprotected_at_end: int = 0

    def summary(self) -> str:
        """The summary printed at the end of ``scalphost run``."""
        with read_only(self.journal) as connection:
            trips = read_rows(connection, Period()).trips
        lines = [
            self.stats.render(
                self.journal,
                trips=[f"{trip.at:%H:%M:%S} {trip.source}: {trip.text}" for trip in trips],
            )
        ]
        if self.unprotected_at_end:
            lines.append(
                f"  open at the end: {self.open_at_end}, {self.unprotected_at_end} of them "
                "WITHOUT an exchange-side stop"
            )
        elif self.open_at_end:
            lines.append(
                f"  open at the end: {self.open_at_end} (kept, with their exchange-side stops)"
            )
        return "\n".join(lines)


async def run_paper(
    settings: Settings,
    *,
    duration: timedelta,
    seed: int = 1,
    data: Path | None = None,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
) -> PaperResult:
    """Trade ``duration`` of simulated market, generated from ``seed`` or replayed from ``data``."""
    journal = journal_path(settings.journal, PAPER_ACCOUNT)
    _forget(journal)
    sim = _simulator(settings, seed, data, start)
    await sim.start()
    venue = Venue(
        rest_url=sim.urls.rest,
        ws_url=sim.urls.ws_base,
        credentials=sim_account_credentials(sim),
        clock=sim.clock,
        account=PAPER_ACCOUNT,
    )

    async def drive(engine: Engine, connection: OkxConnection) -> None:
        def report(elapsed: timedelta) -> None:
            last = elapsed + STEP > duration
            if progress is not None and (last or elapsed % (STEP * PROGRESS_EVERY) == ZERO):
                progress(_status(engine, elapsed, duration))

        await step_simulator(sim, engine, connection, duration, stop=stop, after_step=report)

    try:
        engine = await trade(settings, venue, drive)
    finally:
        await sim.stop()
    open_at_end = engine.registry.positions()
    protected = engine.protection.protected()
    return PaperResult(
        engine.stats,
        journal,
        len(open_at_end),
        sum(1 for position in open_at_end if position.pos_id not in protected),
    )


async def step_simulator(
    sim: Simulator,
    engine: Engine,
    connection: OkxConnection,
    duration: timedelta,
    *,
    stop: asyncio.Event | None = None,
    after_step: Callable[[timedelta], None] | None = None,
) -> None:
    """Advance ``sim`` by ``duration``, one :data:`STEP` at a time, as fast as the host keeps up.

    Before each step the host has received every push of the previous one and finished what
    they started, so a simulated session is independent of how fast the machine is.
    """
    elapsed = ZERO
    while elapsed + STEP <= duration:
        if stop is not None and stop.is_set():
            return
        await sim.advance(STEP)
        elapsed += STEP
        await connection.round_trip()  # every push of the step has reached the engine
        await engine.idle()
        # Each of the awaits above may return without yielding (no client, no connection,
        # nothing running): yield once a step, so a reconnect or a callback is never starved.
        await asyncio.sleep(0)
        if after_step is not None:
            after_step(elapsed)


def _forget(journal: Path) -> None:
    """Remove the previous paper session's journal: each run trades a new simulated account.

    Its fills, positions and closes belong to a simulator that no longer exists; replayed into
    a new session they would pass for duplicates (the new simulator numbers its trades afresh)
    or trip the circuit breaker with another account's losses.
    """
    for suffix in ("", "-wal", "-shm"):
        journal.with_name(journal.name + suffix).unlink(missing_ok=True)


def _simulator(settings: Settings, seed: int, data: Path | None, start: datetime) -> Simulator:
    config = SimConfig(seed=seed)
    if data is None:
        return Simulator(config, start=start)
    replay = FileReplay(data, start)
    instruments = replay.instruments(config.instruments)
    return Simulator(SimConfig(seed=seed, instruments=instruments), start=start, source=replay)


def _status(engine: Engine, elapsed: timedelta, duration: timedelta) -> str:
    stats = engine.stats
    net = stats.totals()[2]
    return (
        f"{elapsed} / {duration} simulated | ticks {stats.ticks} | trades {len(stats.trades)} "
        f"| open {len(engine.registry.positions())} | net {net:+.2f} USDT"
    )
