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
import json
import logging
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
from host.sim.replay import FileReplay, ReplayError
from host.sim.server import DEFAULT_START, Simulator
from host.sim.standalone import sim_account_credentials

PAPER_ACCOUNT = "paper"
STEP = timedelta(seconds=1)
"""Simulated time per driver step: the host sees every push of a step before the next."""
ZERO = timedelta(0)
PROGRESS_EVERY = 60
"""Steps between progress reports."""
DEFAULT_DURATION = timedelta(hours=1)
"""A generated market's length when none is asked for."""

_log = logging.getLogger(__name__)

Progress = Callable[[timedelta, timedelta, str], None]
"""Told the simulated time elapsed, the session's length and a status line."""


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
    ledger_digest: str = ""
    """The simulator's ledger digest (:meth:`~host.sim.ledger.Ledger.digest`): equal digests,
    identical histories on the exchange's side."""

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
    duration: timedelta | None = None,
    seed: int = 1,
    data: Path | None = None,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
) -> PaperResult:
    """Trade ``duration`` of simulated market, generated from ``seed`` or replayed from ``data``.

    Without ``duration``: an hour of generated market, or the replayed tape to its last trade
    (a short tape is not padded with an hour of nothing). A tape trades the configured
    instruments it has trades of; :class:`ReplayError` if it has none of them.
    """
    session = new_session(settings, seed, data, start, duration)
    sim = session.sim
    await sim.start()
    venue = Venue(
        rest_url=sim.urls.rest,
        ws_url=sim.urls.ws_base,
        credentials=sim_account_credentials(sim),
        clock=sim.clock,
        account=PAPER_ACCOUNT,
        advance=sim.advance,
    )

    async def drive(engine: Engine, connection: OkxConnection) -> None:
        def report(elapsed: timedelta) -> None:
            report_progress(progress, engine, elapsed, session.length)

        await step_simulator(sim, engine, connection, session.length, stop=stop, after_step=report)

    try:
        engine = await trade(session.settings, venue, drive)
    finally:
        await sim.stop()
    return paper_result(engine, session)


@dataclass(frozen=True, slots=True)
class NewSession:
    """A paper session about to start: its journal, simulator, settings and length.

    The last session's journal is forgotten; a tape's session trades the tape's instruments.
    """

    journal: Path
    sim: Simulator
    settings: Settings
    length: timedelta


def new_session(
    settings: Settings, seed: int, data: Path | None, start: datetime, duration: timedelta | None
) -> NewSession:
    """Set up a paper session, socket or fast: the market generated from ``seed``, or ``data``."""
    journal = journal_path(settings.journal, PAPER_ACCOUNT)
    forget_journal(journal)
    if data is None:
        sim = Simulator(SimConfig(seed=seed), start=start)
        return NewSession(journal, sim, settings, duration or DEFAULT_DURATION)
    replay = FileReplay(data, start)
    instruments = replay.instruments(SimConfig().instruments)
    settings = tape_settings(settings, data, [inst.inst_id for inst in instruments])
    sim = Simulator(SimConfig(seed=seed, instruments=instruments), start=start, source=replay)
    return NewSession(journal, sim, settings, duration or _whole_steps(replay.span))


def paper_result(engine: Engine, session: NewSession) -> PaperResult:
    """What a paper session leaves: figures, journal, open positions, the ledger's digest."""
    open_at_end = engine.registry.positions()
    protected = engine.protection.protected()
    return PaperResult(
        engine.stats,
        session.journal,
        len(open_at_end),
        sum(1 for position in open_at_end if position.pos_id not in protected),
        session.sim.ledger.digest(),
    )


def report_progress(
    progress: Progress | None, engine: Engine, elapsed: timedelta, length: timedelta
) -> None:
    """Report every :data:`PROGRESS_EVERY` steps, and after the last one."""
    last = elapsed + STEP > length
    if progress is not None and (last or elapsed % (STEP * PROGRESS_EVERY) == ZERO):
        progress(elapsed, length, progress_line(engine, elapsed, length))


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


def tape_settings(settings: Settings, data: Path, on_tape: list[str]) -> Settings:
    """The settings to replay ``data`` with: the configured instruments the tape has trades of.

    A newcomer's one-instrument file under the default list of four trades that one instrument
    (the others would have no market at all); a config that names none of the tape's
    instruments is refused with the line to set, rather than overruled.
    """
    traded = tuple(inst_id for inst_id in settings.instruments if inst_id in on_tape)
    if not traded:
        example = json.dumps(on_tape[:1])
        raise ReplayError(
            f"{data} has trades of {', '.join(on_tape)}, and the config lists none of them "
            f"(instruments: {', '.join(settings.instruments)}); set instruments, e.g. "
            f"SCALPHOST_INSTRUMENTS='{example}'"
        )
    left_out = [inst_id for inst_id in settings.instruments if inst_id not in traded]
    if left_out:
        _log.info(
            "%s has no trades of %s: trading %s", data, ", ".join(left_out), ", ".join(traded)
        )
    return settings.model_copy(update={"instruments": traded})


def _whole_steps(span: timedelta) -> timedelta:
    """``span`` rounded up to whole steps, and at least one: the tape's last trade is seen."""
    return max(STEP, -(-span // STEP) * STEP)


def progress_line(engine: Engine, elapsed: timedelta, duration: timedelta) -> str:
    """One progress report: simulated time, ticks, trades, open positions, net PnL."""
    stats = engine.stats
    net = stats.totals()[2]
    return (
        f"{elapsed} / {duration} simulated | ticks {stats.ticks} | trades {stats.closed} "
        f"| open {len(engine.registry.positions())} | net {net:+.2f} USDT"
    )
