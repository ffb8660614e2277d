"""The real host trading the in-process simulator, driven one step at a time from outside.

``host.sessions.runner.trade`` runs a session until its ``until`` coroutine returns; here that
coroutine hands the engine and its connection out and waits for a stop. Whoever drives (a
hypothesis rule, a corpus example) moves the simulator's time, injects faults and reads the
ground truth between steps; :meth:`HostUnderTest.restart` ends the session gracefully and starts
a new one on the same simulator and journal, as a restarted process would.

Everything runs on one event loop; the caller owns it (an :class:`asyncio.Runner` per example).
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from host.engine.engine import Engine
from host.exchange.connection import OkxConnection
from host.journal import journal_path
from host.logs import configure_logging
from host.sessions.paper import step_simulator
from host.sessions.runner import Venue, trade
from host.settings import Settings
from host.sim.config import ApiKey, SimConfig
from host.sim.server import DEFAULT_START, Simulator
from host.sim.standalone import sim_account_credentials

T = TypeVar("T")

ACCOUNT = "faults"
INSTRUMENT = "BTC-USDT-SWAP"
"""One instrument keeps a step cheap; the faults, not the breadth of the market, are the point."""

RECONCILE_SECONDS = 10.0
"""The suite's reconciliation interval: short, so a session of minutes reconciles often."""

STUCK_WALL_SECONDS = 60.0
"""Real time after which a host that has not caught up with one step is declared stuck."""

STEADY_LOOK_SECONDS = 0.5
"""Real time a socket is given to get ready (its back-off is real) before the market moves on."""

RESTART_SECONDS = 3
"""Market time a restart takes."""

EAGER_MOMENTUM = {"lookback_seconds": 10.0, "threshold": "0.0005", "cooldown_seconds": 15.0}
"""``momentum_demo`` settings that enter often: a session needs own positions to fault."""


class SessionEndedError(RuntimeError):
    """The trading session ended by itself (a crash, as a user would see it)."""


def canary_key() -> ApiKey:
    """Credentials unique to one run: any trace of them in an output is a leak, not a look-alike."""
    return ApiKey(
        api_key=f"canary-{secrets.token_hex(12)}",
        secret_key=secrets.token_urlsafe(24),
        passphrase=f"Pp{secrets.token_urlsafe(12)}",
    )


def fault_simulator(seed: int) -> Simulator:
    """A simulator with one instrument and a canary account."""
    base = SimConfig(seed=seed)
    instruments = tuple(inst for inst in base.instruments if inst.inst_id == INSTRUMENT)
    return Simulator(
        SimConfig(seed=seed, instruments=instruments, keys=(canary_key(),)), start=DEFAULT_START
    )


def fault_settings(base: Settings, directory: Path) -> Settings:
    """``base`` made fit for the suite: paper, one instrument, quick retries, own journal.

    ``model_copy``, not a validated update, so no ``SCALPHOST_*`` variable moves the journal.
    """
    exchange = base.exchange.model_copy(
        update={
            "request_timeout_seconds": 1.0,
            "retry_backoff_seconds": 0.05,
            "reconnect_backoff_seconds": 0.05,
            "reconnect_backoff_max_seconds": 1.0,
        }
    )
    engine = base.engine.model_copy(update={"reconcile_interval_seconds": RECONCILE_SECONDS})
    plugins = {**base.plugins, "momentum_demo": {"enabled": True, **EAGER_MOMENTUM}}
    return base.model_copy(
        update={
            "mode": "paper",
            "instruments": (INSTRUMENT,),
            "journal": base.journal.model_copy(update={"directory": directory}),
            "exchange": exchange,
            "engine": engine,
            "plugins": plugins,
        }
    )


@dataclass
class HostUnderTest:
    """One account's host against ``sim``: start, step, restart, stop."""

    settings: Settings
    sim: Simulator
    engine: Engine | None = None
    connection: OkxConnection | None = None
    sessions: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _session: asyncio.Task[Engine] | None = None

    @property
    def venue(self) -> Venue:
        """The simulator as the host's exchange, with the canary credentials."""
        return Venue(
            rest_url=self.sim.urls.rest,
            ws_url=self.sim.urls.ws_base,
            credentials=sim_account_credentials(self.sim),
            clock=self.sim.clock,
            account=ACCOUNT,
            advance=self.sim.advance,
        )

    @property
    def journal_file(self) -> Path:
        """The account's journal."""
        return journal_path(self.settings.journal, ACCOUNT)

    @property
    def alive(self) -> bool:
        """Whether the session runs (it ends only when stopped, or by a crash)."""
        return self._session is not None and not self._session.done()

    async def start(self) -> None:
        """Start a session and return once it trades; raise if it ends before that."""
        self._stop = asyncio.Event()
        ready = asyncio.Event()

        async def until(engine: Engine, connection: OkxConnection) -> None:
            self.engine, self.connection = engine, connection
            ready.set()
            await self._stop.wait()

        self._session = asyncio.create_task(trade(self.settings, self.venue, until))
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait(
            {waiting, self._session},
            timeout=STUCK_WALL_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        waiting.cancel()
        if not ready.is_set() and not self._session.done():
            stuck = stuck_work()
            self._session.cancel()
            raise SessionEndedError(f"the host never got ready: {stuck}")
        if not ready.is_set():
            self.ended()
        self.sessions += 1

    async def advance(self, seconds: int) -> None:
        """Move the market ``seconds`` ahead, one step at a time, the host keeping up.

        A host that stops keeping up (its work never finishes) ends the session as a crash
        would, after :data:`STUCK_WALL_SECONDS`, saying what it was waiting for: a step takes
        milliseconds, so the bound only ever ends a hang.
        """
        engine, connection = self._running()
        step = step_simulator(self.sim, engine, connection, timedelta(seconds=seconds))
        await unless_stuck(step)

    async def settle(self) -> None:
        """Let the host take in everything already sent, without moving time."""
        engine, connection = self._running()

        async def settled() -> None:
            await self.sim.drain()
            await connection.round_trip()
            await engine.idle()

        await unless_stuck(settled())

    async def steady(self, market_seconds: int = 60) -> None:
        """Return once every socket is ready again; raise if the session ends first.

        A socket that lost its connection reconnects (ready again) or its failure ends the
        session (a crash): this waits for whichever comes, so a crash is pinned on its cause.
        """
        _, connection = self._running()
        await self._while_the_market_goes_on(connection.wait_ready(), market_seconds)
        if not self.alive:
            self.ended()

    async def reconnected(self, before: int, market_seconds: int = 60) -> bool:
        """Wait for a reconnect beyond ``before``, ready again; False if none came."""
        _, connection = self._running()

        async def back() -> None:
            while connection.health.reconnects <= before:  # noqa: ASYNC110 -- polls counters
                await asyncio.sleep(0.01)
            await connection.wait_ready()

        return await self._while_the_market_goes_on(back(), market_seconds)

    async def _while_the_market_goes_on(self, awaited: Awaitable[None], seconds: int) -> bool:
        """Await ``awaited`` (or the session's end) while the market moves a second at a time.

        As on a real exchange, time goes on while the host reconnects: its back-off is real
        time, so each second of market waits :data:`STEADY_LOOK_SECONDS` first, and a resync
        that waits for its REST budget waits on the venue's clock, which only a step moves.
        With the market held still, such a socket never got ready again (each later hostile
        frame waited 30 s for it, each later socket drop too). Returns whether ``awaited``
        completed within ``seconds`` of market.
        """
        assert self._session is not None  # noqa: S101 -- running
        waiting = asyncio.ensure_future(awaited)
        try:
            for _ in range(seconds):
                await asyncio.wait(
                    {waiting, self._session},
                    timeout=STEADY_LOOK_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if waiting.done() or not self.alive:
                    break
                await self.advance(1)
        finally:
            waiting.cancel()
        return waiting.done() and not waiting.cancelled() and waiting.exception() is None

    async def stop(self) -> None:
        """End the session gracefully (the runner's shutdown); raise if it had crashed."""
        if self._session is None:
            return
        self._stop.set()
        session, self._session = self._session, None
        try:
            await unless_stuck(asyncio.shield(session))
        except SessionEndedError:
            session.cancel()
            raise
        except Exception as error:
            raise SessionEndedError(f"the session ended with {error!r}") from error

    async def restart(self) -> None:
        """Stop gracefully, then :meth:`start_again`."""
        await self.stop()
        await self.start_again()

    async def start_again(self, down_seconds: int = RESTART_SECONDS) -> None:
        """Start anew after the session ended, once ``down_seconds`` of market went by.

        Same simulator, same journal. A restart takes time, and the exchange goes on meanwhile
        (its rate limits count in its own time, too).
        """
        session, self._session = self._session, None
        if session is not None and not session.done():  # stuck: abandoned
            session.cancel()
            await unless_stuck(asyncio.wait({session}))  # it closes the journal reopened next
        await unless_stuck(self.sim.advance(timedelta(seconds=down_seconds)))
        await self.start()

    def ended(self) -> NoReturn:
        """Raise :class:`SessionEndedError` with the reason the session ended by itself."""
        session = self._session
        reason = "it returned"
        if session is not None and session.done() and not session.cancelled():
            error = session.exception()
            reason = repr(error) if error is not None else reason
        raise SessionEndedError(f"the trading session ended: {reason}")

    def _running(self) -> tuple[Engine, OkxConnection]:
        if not self.alive or self.engine is None or self.connection is None:
            self.ended()
        return self.engine, self.connection


LONG_LIVED = ("engine/runner.py", "engine/load.py", "exchange/connection.py", "exchange/ws.py")
"""Where the session's own loops start: never the work a stuck step waits for."""


def stuck_work() -> str:
    """The host's pending work, each as its chain of coroutines (``module:line function``)."""
    chains = []
    for task in asyncio.all_tasks():
        frames: list[str] = []
        coroutine: Any = task.get_coro()
        while coroutine is not None:
            frame = getattr(coroutine, "cr_frame", None)
            if frame is not None and "/host/" in frame.f_code.co_filename:
                where = frame.f_code.co_filename.rsplit("/host/", 1)[1]
                frames.append(f"{where}:{frame.f_lineno} {frame.f_code.co_name}")
            coroutine = getattr(coroutine, "cr_await", None)
        if frames and not frames[0].startswith(("sim/", "faults/", *LONG_LIVED)):
            chains.append(" -> ".join(frames))
    return "; ".join(sorted(chains)) or "nothing of the host's"


async def within(work: Awaitable[T], wall_seconds: float) -> T:
    """``work``'s result, or :class:`TimeoutError` once ``wall_seconds`` of real time passed.

    ``asyncio.timeout`` would not do: it cancels the work and then waits for it to end, and a
    session whose cancellation never completes (its shutdown, in a ``finally``, waiting for
    something nobody brings) kept that wait, and the suite, going for ever. Here the work runs
    as its own task, is canceled on time-out and is not waited for.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=wall_seconds)
    finally:
        if not task.done():  # timed out, or the caller was canceled
            task.cancel()
    if not done:
        raise TimeoutError
    return task.result()


async def unless_stuck(work: Awaitable[T]) -> T:
    """Await ``work``; a host still busy after :data:`STUCK_WALL_SECONDS` is a crash.

    The crash says what the host was waiting for (:func:`stuck_work`; a cancellation only
    takes effect once the loop runs again, so the chains read are those that were stuck).
    """
    try:
        return await within(work, STUCK_WALL_SECONDS)
    except TimeoutError:
        raise SessionEndedError(f"the host stopped keeping up: {stuck_work()}") from None


def close_runner(runner: asyncio.Runner) -> str:
    """Close ``runner``; tasks that will not end are left behind, not waited for.

    ``asyncio.Runner.close`` cancels every task left and waits for all of them without a
    bound: one abandoned session that never finishes its cancellation would hang the suite
    there. Returns what was left behind ("" if nothing), for the figures.
    """
    left, pending = runner.run(_cancel_the_rest())
    if not pending:
        runner.close()
        return ""
    ABANDONED.extend(pending)
    asyncio.set_event_loop(None)
    runner.get_loop().close()
    return left


ABANDONED: list[asyncio.Task[Any]] = []
"""Tasks left behind by :func:`close_runner`, kept for the life of the process.

Collected, a task stuck in a ``finally`` that awaits would be closed and ignore the
``GeneratorExit`` (an error printed at a random later moment): left alone, it stays asleep.
"""


async def _cancel_the_rest() -> tuple[str, set[asyncio.Task[Any]]]:
    """Cancel every other task; those still pending after the bound, and their chains."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if not others:
        return "", set()
    for task in others:
        task.cancel()
    _, pending = await asyncio.wait(others, timeout=STUCK_WALL_SECONDS)
    return (stuck_work() if pending else ""), pending


def lots(sim: Simulator, count: int) -> str:
    """``count`` minimum sizes of the instrument, as the ``sz`` of an order."""
    instrument = sim.engine.market(INSTRUMENT).inst
    return str(instrument.min_sz * Decimal(count))


def key_secrets(sim: Simulator) -> tuple[str, ...]:
    """The account's credentials as the host holds them: what must never be written out."""
    key = sim.config.keys[0]
    return (key.api_key, key.secret_key, key.passphrase)


@contextmanager
def captured_logs(secrets_: tuple[str, ...]) -> Iterator[io.StringIO]:
    """Capture, at DEBUG, what the host's own log handler would write (redaction and all).

    The secret check reads this: it sees exactly what a user's terminal or log file would.
    The handler and level in force before are restored afterwards.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    handler = configure_logging("DEBUG", secrets_)
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        for previous in handlers:
            if previous not in root.handlers:
                root.addHandler(previous)
        root.setLevel(level)
