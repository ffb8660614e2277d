"""Assemble one trading run: journal, plugins, connection, engine; start, trade, shut down.

The same assembly serves paper mode (the simulator on 127.0.0.1) and live trading (OKX): only the
:class:`Venue` differs. Shutdown is always graceful, however the run ends: new entries stop,
resting entries are canceled, positions are kept (protected by their exchange-side stops) or
closed as configured, the plugins are told and the journal is flushed and closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import aiohttp

from host.clock import Clock
from host.context import HostInfo
from host.engine.engine import Engine
from host.engine.execution import Executor
from host.engine.load import monitor_load
from host.engine.startup import check_account, instrument_specs, restore
from host.exchange.api import OkxApi
from host.exchange.connection import ExchangeSnapshot, OkxConnection
from host.exchange.events import ExchangeEvent
from host.exchange.orders import ClientOrderIds
from host.journal import Journal, journal_path
from host.journal.records import ErrorEvent
from host.monitor.server import start_monitoring
from host.monitor.watched import NOT_REQUIRED, GoliveInForce, Watched
from host.notify.events import connection_event, plugin_off_event
from host.notify.service import Notifier, delivering
from host.plugin_guard import FaultLog
from host.pluginmanager import PluginHost, build_plugin_host
from host.sessions.venue_time import Advance, VenueTime
from host.settings import Credentials, Settings

_log = logging.getLogger(__name__)

SHUTDOWN_CLOSE_SECONDS = 10.0
"""How long a shutdown that closes positions waits for the exchange to report them flat."""

SHUTDOWN_CANCEL_SECONDS = 10.0
"""How long a shutdown spends canceling resting entries, waits for rate budget included."""

SHUTDOWN_IDLE_SECONDS = 10.0
"""How long a shutdown waits for the engine's work under way (stops, closes) to finish."""

SHUTDOWN_PUSH_GRACE_SECONDS = 1.0
"""How long a shutdown waits for the push of an order in flight before looking it up."""

SHUTDOWN_SETTLE_SECONDS = 10.0
"""How long a shutdown spends settling the orders in flight, lookups included."""


@dataclass(frozen=True, slots=True)
class Venue:
    """Where to trade: endpoints, the account's credentials, its clock and journal name."""

    rest_url: str
    ws_url: str
    credentials: Credentials
    clock: Clock
    account: str
    advance: Advance | None = None
    """How a simulated venue moves on (``Simulator.advance``); None for a real exchange.

    Given, the venue's time passes while the host starts up or shuts down (:class:`VenueTime`).
    """


class StartupGate:
    """Holds exchange events back until the engine is restored, then lets them through in order.

    The sockets are live before the restart is complete; a fill pushed in that window must not
    be lost, nor applied to a registry that does not yet hold the journaled positions.
    """

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._backlog: list[ExchangeEvent] = []

    def __call__(self, event: ExchangeEvent) -> None:
        """Hold ``event`` back, or hand it to the engine once it is open."""
        if self.engine is None:
            self._backlog.append(event)
        else:
            self.engine.on_event(event)

    def open(self, engine: Engine) -> None:
        """Hand the held events to ``engine`` in order, then let the next ones straight through."""
        for event in self._backlog:
            engine.on_event(event)
        self._backlog.clear()
        self.engine = engine

    async def on_resync(self, snapshot: ExchangeSnapshot) -> None:
        """A reconnect's snapshot, for the engine once it is open (before, the restore reads)."""
        if self.engine is not None:
            await self.engine.on_resync(snapshot)


async def trade(
    settings: Settings,
    venue: Venue,
    until: Callable[[Engine, OkxConnection], Coroutine[Any, Any, None]],
    *,
    plugin_host: PluginHost | None = None,
    golive: GoliveInForce = NOT_REQUIRED,
) -> Engine:
    """Trade at ``venue`` until ``until(engine, connection)`` returns (or raises), shut down.

    With ``monitoring.enabled`` the metrics and status endpoint serve the run (``golive``: the
    stamp it started under, for the status page).
    """
    plugins = plugin_host or build_plugin_host(settings)
    clock = venue.clock
    connected = settings.model_copy(update={"credentials": venue.credentials})
    journal = await Journal.open(
        journal_path(settings.journal, venue.account), clock, settings.journal
    )
    gate = StartupGate()
    notifier = Notifier(plugins.dispatch, settings.notify, clock, settings.mode)

    def link_changed(url: str, lost: str | None) -> None:
        notifier.emit(connection_event, clock.now(), url, lost)

    try:
        async with (
            delivering(notifier, settings.notify.drain_seconds),
            aiohttp.ClientSession() as session,
            VenueTime(clock, venue.advance) as venue_time,
        ):
            connection = OkxConnection(
                session,
                connected,
                clock,
                gate,
                gate.on_resync,
                rest_url=venue.rest_url,
                ws_url=venue.ws_url,
                on_link=link_changed,
            )
            venue_time.taken_in_by(connection.round_trip)
            with connection.rest.waiting_out_rate_limits():  # nothing to trade without these
                await connection.rest.sync_clock()
                engine = await assemble(settings, clock, connection.api, journal, plugins, notifier)
            monitor = await start_monitoring(
                Watched(settings, engine, connection, plugins.plugins, golive)
            )
            link = asyncio.create_task(connection.run())
            load = asyncio.create_task(monitor_load(engine.market, connection.health))
            chores: asyncio.Task[None] | None = None
            try:
                await _ready(connection, link)
                with connection.rest.waiting_out_rate_limits():
                    await restore(engine, settings)
                gate.open(engine)
                # Not before the restore: a chore's reconciliation would take a journaled
                # position for a drift, adopt it (with a looser stop) and the restore's tracking
                # of it would fail (found by tests/test_crash.py).
                chores = asyncio.create_task(_every_second(engine.chores))
                async with venue_time.driven():
                    await _until_or_lost(until(engine, connection), link)
            finally:
                load.cancel()
                if chores is not None:
                    chores.cancel()
                await shutdown(engine, settings)
                await venue_time.stop()
                await connection.stop()
                with suppress(asyncio.CancelledError):
                    await link
                if monitor is not None:
                    await monitor.stop()
    finally:
        await journal.close()
    return engine


async def assemble(
    settings: Settings,
    clock: Clock,
    api: OkxApi,
    journal: Journal,
    plugins: PluginHost,
    notifier: Notifier,
) -> Engine:
    """The engine of one run: the account checked, the instruments read, the parts wired."""
    specs = await instrument_specs(api, settings)
    await check_account(api, settings)
    engine: Engine | None = None
    executor = Executor(
        api,
        journal,
        clock,
        ClientOrderIds(clock),
        settings.engine.margin_mode,
        lambda rejection: engine.on_refused(rejection) if engine else None,
    )
    engine = Engine(
        settings.engine,
        settings.hooks.regime_fallback,
        clock,
        plugins.dispatch,
        api,
        journal,
        executor,
        specs,
        notifier,
    )
    _watch_plugins(engine, plugins.faults)
    return engine


def _watch_plugins(engine: Engine, faults: FaultLog) -> None:
    """Show the plugins' health in the session summary; journal and announce a switch-off."""
    engine.stats.faults = faults

    def journal_switch_off(plugin: str, reason: str) -> None:
        engine.journal.write(ErrorEvent(engine.clock.now(), f"plugin:{plugin}", reason))
        engine.notifier.emit(plugin_off_event, engine.clock.now(), plugin, reason)

    faults.on_switch_off(journal_switch_off)


async def _until_or_lost(run: Coroutine[Any, Any, None], link: asyncio.Task[None]) -> None:
    """Run ``run`` while the exchange link lives; if the link ends first, raise its error.

    The link ends only when it cannot go on (credentials refused, a channel refused): trading
    blind is not an option, so the run stops and shuts down.
    """
    running = asyncio.create_task(run)
    done, _ = await asyncio.wait({running, link}, return_when=asyncio.FIRST_COMPLETED)
    if running in done:
        running.result()
        return
    running.cancel()
    with suppress(asyncio.CancelledError):
        await running
    link.result()
    raise ConnectionError("the exchange connection ended")


async def _every_second(chore: Callable[[], None]) -> None:
    """Call ``chore`` once a second until cancelled (clock-driven work that ticks may not drive)."""
    while True:
        await asyncio.sleep(1.0)
        chore()


async def _ready(connection: OkxConnection, link: asyncio.Task[None]) -> None:
    """Wait until every socket is subscribed; raise at once if the link failed instead."""
    ready = asyncio.create_task(connection.wait_ready())
    done, _ = await asyncio.wait({ready, link}, return_when=asyncio.FIRST_COMPLETED)
    if link in done:
        ready.cancel()
        link.result()  # raises the link's error
        raise ConnectionError("the exchange connection ended before it was ready")


async def settle_in_flight(engine: Engine) -> None:
    """Learn what became of the orders still in flight before the journal closes (bounded).

    A close sent just before a stop signal fills a moment later; if its push is not heard
    before the connection goes, the journal would say open what the exchange has flat. Each
    order still open gets :data:`SHUTDOWN_PUSH_GRACE_SECONDS` for its push, then is looked up by
    its ``clOrdId``, and its fills are applied, all within :data:`SHUTDOWN_SETTLE_SECONDS`.
    """
    pending = [tracked for tracked in engine.orders.open() if not tracked.finished.is_set()]
    if not pending:
        return
    waits = [asyncio.ensure_future(tracked.finished.wait()) for tracked in pending]
    try:
        async with asyncio.timeout(SHUTDOWN_SETTLE_SECONDS):
            await asyncio.wait(waits, timeout=SHUTDOWN_PUSH_GRACE_SECONDS)
            for tracked in pending:
                if not tracked.finished.is_set():
                    engine.orders.settle(tracked)
            await engine.idle()
    except TimeoutError:
        unsettled = sum(not tracked.finished.is_set() for tracked in pending)
        _log.warning("shutdown: %d order(s) unsettled; the restart settles them", unsettled)
    finally:
        for wait in waits:
            wait.cancel()


async def shutdown(engine: Engine, settings: Settings) -> None:
    """Stop entries, cancel resting ones, keep or close positions, settle orders, flush.

    Every step that waits on the exchange is bounded in real time, so a shutdown always ends:
    a cancel can wait for rate budget, and a venue may stop answering. (In a simulated session
    the venue's time also passes meanwhile, :class:`VenueTime`, so the waits end as they would
    on OKX; the bounds are for what never ends.)
    """
    engine.entries.stop()
    try:
        async with asyncio.timeout(SHUTDOWN_CANCEL_SECONDS):
            await _cancel_entries(engine)
    except TimeoutError:
        left = len(engine.orders.entries())
        _log.warning(
            "shutdown: %d resting entry order(s) not canceled in time; the restart sees them", left
        )
    if settings.engine.close_on_shutdown:
        for position in engine.registry.positions():
            engine.exits.close(position, "shutdown: close_on_shutdown")
        with suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_CLOSE_SECONDS):
                await engine.registry.wait_flat()
    try:
        async with asyncio.timeout(SHUTDOWN_IDLE_SECONDS):
            await engine.idle()
    except TimeoutError:
        _log.warning("shutdown: %d engine task(s) still at work", engine.tasks.running)
    await settle_in_flight(engine)
    engine.dispatch.on_shutdown(
        HostInfo(now=engine.clock.now(), mode=settings.mode, instruments=engine.specs)
    )
    await engine.journal.flush()


async def _cancel_entries(engine: Engine) -> None:
    """Cancel every resting entry (by ``ordId``, or ``clOrdId`` before the ack), one at a time."""
    for tracked in engine.orders.entries():
        with suppress(Exception):
            await engine.executor.cancel(tracked.order)
