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
    """What a paper session leaves: its figures and where its journal is."""

    stats: SessionStats
    journal: Path
    open_at_end: int
    ledger_digest: str = ""
    """The simulator's ledger digest (:meth:`~host.sim.ledger.Ledger.digest`): equal digests,
    identical histories on the exchange's side."""

    def summary(self) -> str:
        """The summary printed at the end of ``scalphost run``."""
        kept = f"  open at the end: {self.open_at_end} (kept, with their exchange-side stops)"
        return self.stats.render(self.journal) + "\n" + kept


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
    journal, sim = new_session(settings, seed, data, start)
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
            report_progress(progress, engine, elapsed, duration)

        await step_simulator(sim, engine, connection, duration, stop=stop, after_step=report)

    try:
        engine = await trade(settings, venue, drive)
    finally:
        await sim.stop()
    return paper_result(engine, journal, sim)


def new_session(
    settings: Settings, seed: int, data: Path | None, start: datetime
) -> tuple[Path, Simulator]:
    """The journal of a new paper session (the last one's forgotten) and its simulator."""
    journal = journal_path(settings.journal, PAPER_ACCOUNT)
    forget_journal(journal)
    return journal, paper_simulator(settings, seed, data, start)


def paper_result(engine: Engine, journal: Path, sim: Simulator) -> PaperResult:
    """What a paper session that traded on ``sim`` leaves."""
    return PaperResult(engine.stats, journal, len(engine.registry.positions()), sim.ledger.digest())


def report_progress(
    progress: Progress | None, engine: Engine, elapsed: timedelta, duration: timedelta
) -> None:
    """Report every :data:`PROGRESS_EVERY` steps, and after the last one."""
    last = elapsed + STEP > duration
    if progress is not None and (last or elapsed % (STEP * PROGRESS_EVERY) == ZERO):
        progress(progress_line(engine, elapsed, duration))


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


def forget_journal(journal: Path) -> None:
    """Remove the previous paper session's journal: each run trades a new simulated account.

    Its fills, positions and closes belong to a simulator that no longer exists; replayed into
    a new session they would pass for duplicates (the new simulator numbers its trades afresh)
    or trip the circuit breaker with another account's losses.
    """
    for suffix in ("", "-wal", "-shm"):
        journal.with_name(journal.name + suffix).unlink(missing_ok=True)


def paper_simulator(settings: Settings, seed: int, data: Path | None, start: datetime) -> Simulator:
    """The simulator of a paper session: the market generated from ``seed``, or ``data``."""
    config = SimConfig(seed=seed)
    if data is None:
        return Simulator(config, start=start)
    replay = FileReplay(data, start)
    instruments = replay.instruments(config.instruments)
    return Simulator(SimConfig(seed=seed, instruments=instruments), start=start, source=replay)


def progress_line(engine: Engine, elapsed: timedelta, duration: timedelta) -> str:
    """One progress report: simulated time, ticks, trades, open positions, net PnL."""
    stats = engine.stats
    net = stats.totals()[2]
    return (
        f"{elapsed} / {duration} simulated | ticks {stats.ticks} | trades {len(stats.trades)} "
        f"| open {len(engine.registry.positions())} | net {net:+.2f} USDT"
    )
