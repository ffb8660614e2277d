"""Runs the real host (engine, client, journal) against the simulated exchange over loopback.

A test gives the plugins it wants (scripted ones below, or built-ins) and a script that moves the
simulator's clock and injects faults; the harness wires everything exactly as ``scalphost run``
does (``host.sessions.runner.trade``) and hands back the engine and the journal's path.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from host import (
    CloseNow,
    EntryPlan,
    HookContext,
    OrderRejection,
    Position,
    PositionSide,
    Signal,
    Tick,
    Veto,
    hookimpl,
)
from host.engine.engine import Engine
from host.exchange.connection import OkxConnection
from host.journal import journal_path
from host.pluginmanager import BUILTIN_PLUGINS, BuiltinPlugin, build_plugin_host
from host.sessions.runner import Venue, trade
from host.settings import (
    EngineSettings,
    ExchangeSettings,
    HookSettings,
    JournalSettings,
    Settings,
)
from host.sim.config import SimConfig
from host.sim.server import Simulator
from host.sim.standalone import sim_account_credentials

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
BTC = "BTC-USDT-SWAP"
ACCOUNT = "test"


@dataclass
class Session:
    """What a script drives: the simulator, the engine and its connection."""

    sim: Simulator
    engine: Engine
    connection: OkxConnection

    async def advance(self, seconds: float) -> None:
        """Move simulated time one second at a time; the host sees each second before the next."""
        for _ in range(round(seconds)):
            await self.sim.advance(timedelta(seconds=1))
            await self.connection.round_trip()
            await self.engine.idle()

    async def reconnected(self, before: int) -> None:
        """Wait (in real time: the back-off is real) until a reconnect beyond ``before`` is done."""
        async with asyncio.timeout(10):
            while self.connection.health.reconnects <= before:  # noqa: ASYNC110 -- polls counters
                await asyncio.sleep(0.01)
            await self.connection.wait_ready()

    async def until(self, condition: Callable[[], bool], max_seconds: float) -> float:
        """Advance until ``condition`` holds; return the simulated seconds it took."""
        for second in range(round(max_seconds) + 1):
            if condition():
                return float(second)
            await self.advance(1)
        raise AssertionError(f"not reached within {max_seconds} simulated seconds")


Script = Callable[[Session], Awaitable[None]]


async def run_session(
    tmp_path: Path,
    script: Script,
    *plugin_classes: type,
    builtins: Sequence[str] = (),
    sections: dict[str, dict[str, Any]] | None = None,
    hooks: HookSettings | None = None,
    sim_config: SimConfig | None = None,
    sim: Simulator | None = None,
    exchange_settings: ExchangeSettings | None = None,
    **engine: Any,
) -> Engine:
    """Trade with ``plugin_classes`` (each enabled under its lower-case name) and the named
    built-ins (others off, the essential ``drift_guard`` always on) while ``script`` runs.

    Given a running ``sim``, the session trades on it and leaves it running (a restart test
    runs two sessions on one exchange); otherwise a fresh simulator is started and stopped.
    """
    settings = Settings(
        instruments=(BTC,),
        exchange=exchange_settings or ExchangeSettings(),
        journal=JournalSettings(directory=tmp_path, synchronous="normal"),
        engine=EngineSettings(**engine),
        hooks=hooks or HookSettings(),
        plugins=sections or {},
    )
    chosen = tuple(p for p in BUILTIN_PLUGINS if p.essential or p.name in builtins)
    extra = tuple(BuiltinPlugin(cls.__name__.lower(), cls) for cls in plugin_classes)
    plugin_host = build_plugin_host(settings, builtins=chosen + extra, discover_entry_points=False)
    owned = sim is None
    if sim is None:
        sim = await start_simulator(sim_config)
    venue = Venue(
        rest_url=sim.urls.rest,
        ws_url=sim.urls.ws_base,
        credentials=sim_account_credentials(sim),
        clock=sim.clock,
        account=ACCOUNT,
    )

    exchange = sim

    async def drive(engine: Engine, connection: OkxConnection) -> None:
        await script(Session(exchange, engine, connection))

    try:
        return await trade(settings, venue, drive, plugin_host=plugin_host)
    finally:
        if owned:
            await sim.stop()


async def start_simulator(config: SimConfig | None = None) -> Simulator:
    """A started simulator at :data:`START` (rate limits off unless ``config`` says otherwise)."""
    sim = Simulator(config or SimConfig(rate_limits={}), start=START)
    await sim.start()
    return sim


def journal_rows(tmp_path: Path, query: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the test account's journal (opened read-only, after the run)."""
    path = journal_path(JournalSettings(directory=tmp_path), ACCOUNT)
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return connection.execute(query).fetchall()


# --- scripted plugins -------------------------------------------------------------------------


class BuyOnce:
    """Signals one long on the first tick and enters across the spread (fills as a taker)."""

    def __init__(self) -> None:
        self.sent = False

    @hookimpl
    def generate_signals(self, tick: Tick, ctx: HookContext) -> list[Signal] | None:
        if self.sent:
            return None
        self.sent = True
        return [Signal(tick.inst_id, PositionSide.LONG, ctx.now, "buyonce", "scripted")]

    @hookimpl
    def plan_entry(self, tick: Tick) -> EntryPlan:
        return EntryPlan(price=tick.ask * Decimal("1.002"), post_only=False)


class RestFarBelow:
    """Signals one long and rests its entry 2 % under the bid, where it will not fill."""

    def __init__(self) -> None:
        self.sent = False

    @hookimpl
    def generate_signals(self, tick: Tick, ctx: HookContext) -> list[Signal] | None:
        if self.sent:
            return None
        self.sent = True
        return [Signal(tick.inst_id, PositionSide.LONG, ctx.now, "restfarbelow", "scripted")]

    @hookimpl
    def plan_entry(self, tick: Tick) -> EntryPlan:
        return EntryPlan(price=tick.bid * Decimal("0.98"), post_only=True)


class CloseAfterTen:
    """Closes any position held ten seconds (by the exchange's entry time)."""

    @hookimpl
    def on_tick_exit(self, positions: Sequence[Position], ctx: HookContext) -> dict[str, CloseNow]:
        return {
            p.pos_id: CloseNow("held ten seconds")
            for p in positions
            if ctx.now - p.entry_time >= timedelta(seconds=10)
        }


class Recorder:
    """Records the name of every hook call it hears, in order (registered last: heard first)."""

    calls: ClassVar[list[str]] = []
    exit_ticks: ClassVar[list[tuple[str, datetime]]] = []

    def __init__(self) -> None:
        Recorder.calls = []
        Recorder.exit_ticks = []

    def _note(self, name: str) -> None:
        Recorder.calls.append(name)

    @hookimpl
    def on_startup(self) -> None:
        self._note("on_startup")

    @hookimpl
    def on_shutdown(self) -> None:
        self._note("on_shutdown")

    @hookimpl
    def generate_signals(self) -> None:
        self._note("generate_signals")

    @hookimpl
    def on_signal(self) -> None:
        self._note("on_signal")

    @hookimpl
    def plan_entry(self) -> None:
        self._note("plan_entry")

    @hookimpl
    def limit_order_ttl(self) -> None:
        self._note("limit_order_ttl")

    @hookimpl
    def on_fill(self) -> None:
        self._note("on_fill")

    @hookimpl
    def on_tick_exit(self, tick: Tick, positions: Sequence[Position]) -> None:
        self._note(f"on_tick_exit[{len(positions)}]")
        Recorder.exit_ticks.append((tick.inst_id, tick.ts))

    @hookimpl
    def on_position_closed(self) -> None:
        self._note("on_position_closed")


class HearsHistory:
    """Remembers what it is told about the past: rejections and closes, and when start-up came."""

    heard: ClassVar[list[str]] = []

    def __init__(self) -> None:
        HearsHistory.heard = []

    @hookimpl
    def on_order_rejected(self, rejection: OrderRejection) -> None:
        HearsHistory.heard.append(f"rejected {rejection.code}")

    @hookimpl
    def on_position_closed(self) -> None:
        HearsHistory.heard.append("closed")

    @hookimpl
    def on_startup(self) -> None:
        HearsHistory.heard.append("startup")


class SignalEveryTick:
    """Signals a long on every tick, as a busy strategy would."""

    @hookimpl
    def generate_signals(self, tick: Tick, ctx: HookContext) -> list[Signal]:
        return [Signal(tick.inst_id, PositionSide.LONG, ctx.now, "signaleverytick", "busy")]


class VetoEverything:
    """Blocks every entry, like an open circuit breaker."""

    @hookimpl
    def on_signal(self) -> Veto:
        return Veto("tripped: 3 losses in a row")
