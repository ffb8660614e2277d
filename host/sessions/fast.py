"""The fast replay: paper mode without sockets, deterministic (``scalphost run --fast``).

The same simulator, the same engine, dispatch and plugins, the same client code above the
transport (:class:`~host.exchange.api.OkxApi` and :class:`~host.exchange.rest.OkxRest`: signed
requests, rate limits, envelopes) and the same feed (:class:`~host.exchange.feed.ExchangeFeed`:
duplicates, watermarks, credibility) — only the transport is in-process
(:class:`~host.sim.inprocess.InProcessExchange`): requests are answered by a call and the
simulator's pushes are decoded from its messages without JSON text in between.

What makes it deterministic (the same seed, data and config give the same journal and the same
ledger digest, run after run):

* nothing waits on the network: pushes reach the feed in the order the simulator made them;
* the journal writes on the event loop's thread (``inline``), so tasks waiting on a commit
  resume in the order they wrote, not when a thread got the disk; it commits with
  ``synchronous = normal`` (a replay has nothing to lose to a power cut), and an order's intent
  is still committed before the order goes out;
* the chores (stops to move, orders to settle, reconciliation) run once per simulated second,
  not per wall second; the host's load (``ctx.load``: loop lag, exchange latency) is not
  measured — it stays zero, as the simulated exchange answers at once;
* a step ends only when every push is delivered and every task the pushes started has
  finished, as in socket paper mode — where the order of events within a step, and what the
  tasks do meanwhile, depends on the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

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
from host.pluginmanager import PluginHost, build_plugin_host
from host.sessions.paper import (
    PAPER_ACCOUNT,
    PROGRESS_EVERY,
    STEP,
    ZERO,
    PaperResult,
    Progress,
    forget_journal,
    paper_simulator,
    progress_line,
)
from host.sessions.runner import StartupGate, assemble, shutdown
from host.settings import Settings
from host.sim.inprocess import InProcessExchange
from host.sim.server import DEFAULT_START, Simulator
from host.sim.standalone import sim_account_credentials

REPLAY_SYNCHRONOUS = "normal"
"""The journal's durability in a replay: a crash of the process loses nothing committed."""


async def no_wait(_seconds: float) -> None:
    """The pause between order lookups in a replay: none, yet a yield to the loop.

    The simulated clock stands still while the host waits, so waiting on the wall clock would
    change nothing but the run time.
    """
    await asyncio.sleep(0)


async def run_fast(
    settings: Settings,
    *,
    duration: timedelta,
    seed: int = 1,
    data: Path | None = None,
    start: datetime = DEFAULT_START,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    plugin_host: PluginHost | None = None,
) -> PaperResult:
    """Trade ``duration`` of simulated market in-process; the same arguments as paper mode."""
    path = journal_path(settings.journal, PAPER_ACCOUNT)
    forget_journal(path)
    sim = paper_simulator(settings, seed, data, start)
    engine = await replay(
        settings,
        sim,
        duration,
        plugin_host=plugin_host,
        stop=stop,
        after_step=_reporter(progress, duration),
    )
    return PaperResult(engine.stats, path, len(engine.registry.positions()), sim.ledger.digest())


async def replay(
    settings: Settings,
    sim: Simulator,
    duration: timedelta,
    *,
    plugin_host: PluginHost | None = None,
    stop: asyncio.Event | None = None,
    after_step: Callable[[Engine, timedelta], None] | None = None,
) -> Engine:
    """Run the host against ``sim`` for ``duration``, in-process, then shut it down."""
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
        journal_path(settings.journal, PAPER_ACCOUNT), clock, connected.journal, inline=True
    )
    exchange = InProcessExchange(sim, sim.config.keys[0].uid)
    try:
        rest = OkxRest(
            None,
            connected.exchange,
            credentials,
            clock,
            ExchangeHealth(clock),
            sleep=no_wait,
            transport=exchange,
        )
        api = OkxApi(
            rest,
            lookup_attempts=settings.exchange.order_lookup_attempts,
            lookup_delay_seconds=settings.exchange.retry_backoff_seconds,
            request_timeout_seconds=settings.exchange.request_timeout_seconds,
            sleep=no_wait,
        )
        gate = StartupGate()
        feed = build_feed(gate, connected, clock)
        exchange.connect(
            feed,
            {
                "public": [sub.to_wire() for sub in public_subscriptions(settings.instruments)],
                "private": [sub.to_wire() for sub in PRIVATE_SUBSCRIPTIONS],
                "business": [sub.to_wire() for sub in BUSINESS_SUBSCRIPTIONS],
            },
        )
        await rest.sync_clock()
        engine = await assemble(settings, clock, api, journal, plugins)
        exchange.deliver()  # what the subscriptions brought waits in the gate
        try:
            await restore(engine, settings)
            gate.open(engine)
            await _settle(engine, exchange)
            await _drive(sim, engine, exchange, duration, stop, after_step)
        finally:
            await shutdown(engine, settings)
            await _settle(engine, exchange)
    finally:
        exchange.close()
        await journal.close()
    return engine


async def _drive(
    sim: Simulator,
    engine: Engine,
    exchange: InProcessExchange,
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
        exchange.deliver()
        engine.chores()
        await _settle(engine, exchange)
        if after_step is not None:
            after_step(engine, elapsed)


async def _settle(engine: Engine, exchange: InProcessExchange) -> None:
    """Return once every push is delivered and no task of the engine is left running."""
    while True:
        exchange.deliver()
        await engine.idle()
        await asyncio.sleep(0)  # scheduled deliveries and journal completions run here
        if not exchange.pending and not engine.tasks.running:
            return


def _reporter(
    progress: Progress | None, duration: timedelta
) -> Callable[[Engine, timedelta], None] | None:
    if progress is None:
        return None

    def report(engine: Engine, elapsed: timedelta) -> None:
        if elapsed + STEP > duration or elapsed % (STEP * PROGRESS_EVERY) == ZERO:
            progress(progress_line(engine, elapsed, duration))

    return report
