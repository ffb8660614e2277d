"""Paper mode: the whole host against the built-in simulator, on the simulator's clock.

``scalphost run`` with no arguments lands here. The simulator listens on 127.0.0.1 and the host
talks to it through the real client code (signed REST, logged-in WebSockets). Time is the
simulator's: the driver advances it step by step, as fast as the host keeps up, so an hour of
market runs in about a minute and the same seed gives the same market.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from host.engine.engine import Engine
from host.engine.runner import Venue, trade
from host.engine.stats import SessionStats
from host.exchange.connection import OkxConnection
from host.journal import journal_path
from host.settings import Credentials, Settings
from host.sim.config import SimConfig
from host.sim.replay import FileReplay
from host.sim.server import DEFAULT_START, Simulator

PAPER_ACCOUNT = "paper"
STEP = timedelta(seconds=1)
"""Simulated time per driver step: the host sees every push of a step before the next."""
PROGRESS_EVERY = 60
"""Steps between progress reports."""

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PaperResult:
    """What a paper session leaves: its figures and where its journal is."""

    stats: SessionStats
    journal: Path

    def summary(self) -> str:
        """The summary printed at the end of ``scalphost run``."""
        return self.stats.render(self.journal)


async def run_paper(
    settings: Settings,
    *,
    duration: timedelta,
    seed: int = 1,
    data: Path | None = None,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
) -> PaperResult:
    """Trade ``duration`` of simulated market, generated from ``seed`` or replayed from ``data``."""
    sim = _simulator(settings, seed, data, start)
    await sim.start()
    key = sim.config.keys[0]
    venue = Venue(
        rest_url=sim.urls.rest,
        ws_url=sim.urls.ws_base,
        credentials=Credentials(
            api_key=SecretStr(key.api_key),
            secret_key=SecretStr(key.secret_key),
            passphrase=SecretStr(key.passphrase),
        ),
        clock=sim.clock,
        account=PAPER_ACCOUNT,
    )

    async def drive(engine: Engine, connection: OkxConnection) -> None:
        steps = int(duration / STEP)
        for step in range(1, steps + 1):
            await sim.advance(STEP)
            await connection.round_trip()  # every push of the step has reached the engine
            await engine.idle()
            if progress is not None and (step % PROGRESS_EVERY == 0 or step == steps):
                progress(_status(engine, sim.clock.now() - start, duration))

    try:
        engine = await trade(settings, venue, drive)
    finally:
        await sim.stop()
    return PaperResult(engine.stats, journal_path(settings.journal, PAPER_ACCOUNT))


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
