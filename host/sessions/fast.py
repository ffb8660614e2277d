"""The fast replay: paper mode without sockets, deterministic (``scalphost run --fast``).

The same simulator, the same engine, dispatch and plugins, the same client code above the
transport (:class:`~host.exchange.api.OkxApi` and :class:`~host.exchange.rest.OkxRest`: signed
requests, rate limits, envelopes) and the same feed (:class:`~host.exchange.feed.ExchangeFeed`:
duplicates, watermarks, credibility) — only the transport is in-process
(:class:`~host.sim.inprocess.InProcessExchange`): a request is answered by a call and the
simulator's pushes are decoded from its messages without JSON text in between.

What makes it deterministic (the same seed, data and config give the same journal and the same
ledger digest, run after run):

* nothing waits on a network: the pushes are handed over one message at a time, in the order
  the simulator made them, and the work a message starts runs as far as it can before the next
  (:class:`Pump`) — as if the host were infinitely fast;
* the event loop runs on virtual time (:class:`~host.sessions.replay_loop.ReplayLoop`): a wait
  with a time-out ends when nothing else can happen, never because the machine was slow;
* the journal writes on the event loop's thread (``inline``), so tasks waiting on a commit
  resume in the order they wrote, not when a thread got the disk; it commits with
  ``synchronous = normal`` (a replay has nothing to lose to a power cut), and an order's intent
  is still committed before the order goes out;
* the chores (stops to move, orders to settle, reconciliation) run once per simulated second,
  not per wall second; the host's load (``ctx.load``: loop lag, exchange latency) is not
  measured — it stays zero, as the simulated exchange answers at once.

Socket paper mode differs in exactly these points: there the pushes of a step arrive while the
requests they caused are on the wire, so the order of events within a step depends on the
machine (docs/engine.md, "Fast replay").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from host.engine.engine import Engine
from host.engine.startup import restore
from host.exchange.api import OkxApi
from host.exchange.connection import (
    BUSINESS_SUBSCRIPTIONS,
    PRIVATE_SUBSCRIPTIONS,
    build_feed,
    public_subscriptions,
)
from host.exchange.health import ExchangeHealth
from host.exchange.rest import OkxRest
from host.journal import Journal, journal_path
from host.notify.service import Notifier
from host.pluginmanager import PluginHost, build_plugin_host
from host.sessions.paper import (
    PAPER_ACCOUNT,
    STEP,
    ZERO,
    PaperResult,
    Progress,
    new_session,
    paper_result,
    report_progress,
)
from host.sessions.replay_loop import ReplayLoop
from host.sessions.runner import StartupGate, assemble, shutdown
from host.settings import Settings
from host.sim.inprocess import InProcessExchange
from host.sim.server import DEFAULT_START, Simulator
from host.sim.standalone import sim_account_credentials

T = TypeVar("T")
REPLAY_SYNCHRONOUS = "normal"
"""The journal's durability in a replay: a crash of the process loses nothing committed."""


async def run_fast(
    settings: Settings,
    *,
    duration: timedelta | None = None,
    seed: int = 1,
    data: Path | None = None,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    plugin_host: PluginHost | None = None,
) -> PaperResult:
    """Trade simulated market in-process; the same arguments and defaults as paper mode."""
    session = new_session(settings, seed, data, start, duration)

    def report(engine: Engine, elapsed: timedelta) -> None:
        report_progress(progress, engine, elapsed, session.length)

    engine = await replay(
        session.settings,
        session.sim,
        session.length,
        plugin_host=plugin_host,
        stop=stop,
        after_step=report,
    )
    return paper_result(engine, session)


async def replay(
    settings: Settings,
    sim: Simulator,
    duration: timedelta,
    *,
    plugin_host: PluginHost | None = None,
    stop: asyncio.Event | None = None,
    after_step: Callable[[Engine, timedelta], None] | None = None,
    account: str = PAPER_ACCOUNT,
) -> Engine:
    """Run the host against ``sim`` for ``duration``, in-process, then shut it down.

    Must run on a :class:`~host.sessions.replay_loop.ReplayLoop` (see
    :func:`~host.sessions.replay_loop.run_on_replay_loop`). ``account`` names the journal; a
    second call against the same ``sim`` and journal is a restart of the host.
    """
    loop = asyncio.get_running_loop()
    if not isinstance(loop, ReplayLoop):
        raise TypeError("a fast replay runs on a ReplayLoop (run_on_replay_loop)")
    plugins = plugin_host or build_plugin_host(settings)
    clock = sim.clock
    credentials = sim_account_credentials(sim)
    connected = settings.model_copy(
        update={
            "credentials": credentials,
            "journal": settings.journal.model_copy(update={"synchronous": REPLAY_SYNCHRONOUS}),
        }
    )
    journal = await Journal.open(
        journal_path(settings.journal, account), clock, connected.journal, inline=True
    )
    exchange = InProcessExchange(sim, sim.config.keys[0].uid)
    pump = Pump(loop, exchange)
    try:
        rest = OkxRest(
            None,
            connected.exchange,
            credentials,
            clock,
            ExchangeHealth(clock),
            transport=exchange,
        )
        api = OkxApi(
            rest,
            lookup_attempts=settings.exchange.order_lookup_attempts,
            lookup_delay_seconds=settings.exchange.retry_backoff_seconds,
            request_timeout_seconds=settings.exchange.request_timeout_seconds,
        )
        gate = StartupGate()
        exchange.connect(
            build_feed(gate, connected, clock),
            {
                "public": [sub.to_wire() for sub in public_subscriptions(settings.instruments)],
                "private": [sub.to_wire() for sub in PRIVATE_SUBSCRIPTIONS],
                "business": [sub.to_wire() for sub in BUSINESS_SUBSCRIPTIONS],
            },
        )
        await pump.run(rest.sync_clock())
        # Never run: a replay on virtual time cannot wait on a real receiver, so it sends none.
        silent = Notifier(plugins.dispatch, settings.notify, clock, settings.mode)
        engine = await pump.run(assemble(settings, clock, api, journal, plugins, silent))
        try:
            await pump.run(restore(engine, settings))
            gate.open(engine)
            pump.engine = engine
            await pump.settle()
            pump.driven = True
            await _drive(sim, engine, exchange, pump, duration, stop, after_step)
        finally:
            pump.driven = False
            await pump.run(shutdown(engine, settings))
    finally:
        exchange.close()
        await journal.close()
    return engine


class ReplayStalled(RuntimeError):
    """The host waits on something nothing can bring: no push is queued and no timer is left."""


class Pump:
    """Hands the pushes over when everything that can run has run; lets time pass when idle.

    One message at a time, and the work it starts (journal commits, requests, their answers)
    runs as far as it can before the next — as if the host were infinitely fast. Messages that
    start no work go through in one go. Only when no push is left does the loop's time pass, so
    a wait with a time-out (a position expected to show) ends early exactly when the push it
    waits for is not coming.
    """

    def __init__(self, loop: ReplayLoop, exchange: InProcessExchange) -> None:
        self._loop = loop
        self._exchange = exchange
        self.engine: Engine | None = None
        """Set once the engine takes the pushes: its tasks then pace the deliveries."""
        self.driven = False
        """Whether the drive steps the exchange (between start-up and shutdown).

        Outside it, a wait on the exchange's clock ends before the loop's time passes: the
        shutdown's real-time bounds (``host.sessions.runner.shutdown``) are timers of this
        loop, and jumping to them first would give up a cancel that only waits for its budget.
        """

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work``, delivering pushes meanwhile."""
        task = asyncio.ensure_future(work)
        await self.until(task.done)
        return task.result()

    async def settle(self) -> None:
        """Return once every push is delivered and no task of the engine is running."""
        await self.until(self._idle)

    async def until(self, finished: Callable[[], bool]) -> None:
        """Deliver pushes, and let time pass when none is left, until ``finished()``."""
        while True:
            await self._loop.quiescent()
            if self._exchange.pending:
                self._deliver()
                continue
            if finished():
                return
            if not self.driven and await self._wake_sleepers():
                continue
            if (
                not await self._loop.quiescent(let_time_pass=True)
                and not await self._wake_sleepers()
            ):
                raise ReplayStalled("the host waits, but no push is queued and no timer is left")

    async def _wake_sleepers(self) -> bool:
        """Move the exchange on to the end of the earliest wait on its clock; False if none.

        Between the steps of the drive, a task asleep on the simulated clock (a request
        waiting for its rate budget) counts as idle and the next step wakes it; only once no
        timer of the loop is left either does the exchange's time move. Outside the drive
        (start-up, shutdown) no step comes: the exchange's time moves just as far as the wait
        needs, before the loop's timers (see :attr:`driven`).
        """
        sim = self._exchange.sim
        wake = sim.clock.next_wake()
        if wake is None:
            return False
        await sim.advance(timedelta(seconds=wake - sim.clock.monotonic()))
        return True

    def _deliver(self) -> None:
        """Hand messages over until one starts work (which then runs before the next message)."""
        while self._exchange.deliver_next():
            if not self._idle():
                return

    def _idle(self) -> bool:
        return self.engine is None or not self.engine.tasks.running


async def _drive(
    sim: Simulator,
    engine: Engine,
    exchange: InProcessExchange,
    pump: Pump,
    duration: timedelta,
    stop: asyncio.Event | None,
    after_step: Callable[[Engine, timedelta], None] | None,
) -> None:
    """Advance ``sim`` one :data:`STEP` at a time; each step's work is done before the next."""
    elapsed = ZERO
    while elapsed + STEP <= duration:
        if stop is not None and stop.is_set():
            return
        await sim.advance(STEP)
        elapsed += STEP
        exchange.keep_alive()
        await pump.settle()
        engine.chores()  # once a simulated second (socket paper mode: once a wall second)
        await pump.settle()
        if after_step is not None:
            after_step(engine, elapsed)
