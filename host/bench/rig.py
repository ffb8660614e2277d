"""A host assembled for measuring: the real client, engine, plugins and journal, and stopwatches.

The host is built the way a session builds it (:class:`~host.exchange.connection.OkxConnection`,
:class:`~host.sessions.runner.StartupGate`, :func:`~host.sessions.runner.assemble`), against a
simulator on 127.0.0.1 for REST — instruments, account, and the orders the bench makes it send.
Its clock (:class:`BenchClock`) is real time counted from the simulator's start, and the
simulator's clock is kept abreast of it, so request budgets (setting the leverage of 200
instruments takes OKX's 20 requests per 2 s), signatures and time-outs work as they do live;
the frames are stamped before that start, so every one is credible. No chore or periodic
reconciliation is started: what is timed is the work a frame causes.

The stopwatches sit only at public seams: the socket's frame decoder (a subclass whose
``decode`` notes when a frame arrived and when it was decoded), the engine's sink (when the
decision was made), the journal (when an order's intent was durable) and aiohttp's request
tracing (when the order's request was started and written).
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp

from host.bench.frames import HOT, STOP
from host.clock import LiveClock, monotonic_ns
from host.domain import Position, PositionSide
from host.engine.engine import Engine
from host.exchange.connection import OkxConnection
from host.exchange.decode import FrameDecoder
from host.exchange.events import ExchangeEvent, QuotePush, TickerPush
from host.journal import Journal, OrderIntent
from host.journal.records import Record
from host.notify.service import Notifier
from host.pluginmanager import build_plugin_host
from host.sessions.runner import StartupGate, assemble
from host.settings import Settings, load_settings
from host.sim.config import SimConfig
from host.sim.instruments import SimInstrument
from host.sim.server import Simulator
from host.sim.standalone import sim_account_credentials

MARKET = (TickerPush, QuotePush)
ORDER_PATH = "/api/v5/trade/order"
IDLE_SECONDS = 10.0
FOLLOW_SECONDS = 0.05
NEVER = 10**9
"""Seconds: a reconciliation interval no measurement reaches."""


class BenchClock:
    """Real time, counted from ``start`` (the simulator's start).

    The live clock shifted by a fixed offset, so reading it costs what reading the live clock
    costs: the engine reads it twice a frame, and a clock of the bench's own making that took
    four times as long (real time rebuilt from a monotonic reading, about 1.2 µs more per frame
    on the development machine) was measured as the host's cost.
    """

    def __init__(self, start: datetime) -> None:
        self._live = LiveClock()
        self._offset = start - self._live.now()

    def now(self) -> datetime:
        """``start`` plus the real time since the clock was made."""
        return self._live.now() + self._offset

    def monotonic(self) -> float:
        """Real seconds."""
        return monotonic_ns() / 1e9

    async def sleep(self, seconds: float) -> None:
        """A real wait: this clock runs in real time."""
        await asyncio.sleep(seconds)


async def keep_abreast(sim: Simulator, clock: BenchClock) -> None:
    """Move the simulator's clock (not its market) along with ``clock``, until cancelled."""
    while True:
        behind = clock.now() - sim.clock.now()
        if behind > timedelta(0):
            sim.clock.advance(behind)
        await asyncio.sleep(FOLLOW_SECONDS)


@dataclass
class Stamps:
    """Nanosecond readings of :func:`~host.clock.monotonic_ns`, in the order things happened.

    One entry per market frame in ``arrived`` / ``decoded`` / ``decided`` (``decided`` stays 0
    for a frame the feed dropped); one per order intent committed; one per order request.
    """

    arrived: list[int] = field(default_factory=list)
    decoded: list[int] = field(default_factory=list)
    decided: list[int] = field(default_factory=list)
    committed: list[int] = field(default_factory=list)
    requests: list[tuple[int, int]] = field(default_factory=list)
    """(started, written) of each order request: after signing, and once its body was sent."""
    _awaited: tuple[int, asyncio.Event] = field(default_factory=lambda: (0, asyncio.Event()))

    def expect(self, frames: int) -> asyncio.Event:
        """An event set once ``frames`` more market frames have been decoded."""
        self._awaited = (len(self.arrived) + frames, asyncio.Event())
        return self._awaited[1]

    def note_arrival(self, arrived: int) -> None:
        """A market frame arrived at ``arrived`` and is decoded now."""
        self.arrived.append(arrived)
        self.decoded.append(monotonic_ns())
        self.decided.append(0)
        target, event = self._awaited
        if len(self.arrived) >= target:
            event.set()

    def clear(self) -> None:
        """Forget the warm-up."""
        for readings in (self.arrived, self.decoded, self.decided, self.committed, self.requests):
            readings.clear()


class TimedDecoder(FrameDecoder):
    """The socket's decoder, noting when each market frame arrived and was decoded."""

    def __init__(self, stamps: Stamps) -> None:
        super().__init__()
        self.stamps = stamps

    def decode(self, frame: str | bytes) -> tuple[ExchangeEvent, ...]:
        """Decode as the host does, with a reading either side."""
        arrived = monotonic_ns()
        events = super().decode(frame)
        if events and isinstance(events[0], MARKET):
            self.stamps.note_arrival(arrived)
        return events


class TimedJournal(Journal):
    """The journal, noting when each order intent has been committed (durably, as configured)."""

    stamps: Stamps | None = None

    async def commit(self, record: Record) -> bool:
        """Commit as the journal does, then note the time for an order's intent."""
        new = await super().commit(record)
        if self.stamps is not None and isinstance(record, OrderIntent):
            self.stamps.committed.append(monotonic_ns())
        return new


def order_tracing(stamps: Stamps) -> aiohttp.TraceConfig:
    """Aiohttp tracing that notes when each order request started and was written."""
    tracing = aiohttp.TraceConfig()

    async def started(_: Any, context: SimpleNamespace, params: Any) -> None:
        context.order = params.method == "POST" and params.url.path == ORDER_PATH
        context.started = monotonic_ns()
        context.written = 0

    async def written(_: Any, context: SimpleNamespace, __: Any) -> None:
        context.written = monotonic_ns()

    async def ended(_: Any, context: SimpleNamespace, __: Any) -> None:
        if context.order:
            stamps.requests.append((context.started, context.written))

    tracing.on_request_start.append(started)
    tracing.on_request_headers_sent.append(written)
    tracing.on_request_chunk_sent.append(written)
    tracing.on_request_end.append(ended)
    return tracing


@dataclass
class Rig:
    """An assembled host and its stopwatches."""

    engine: Engine
    connection: OkxConnection
    settings: Settings
    stamps: Stamps
    opened: int = 0

    def open_position(self, inst_id: str = HOT.inst_id, stop: Decimal = STOP) -> Position:
        """Track a new long at 65,000 whose stop a crossing frame reaches."""
        self.opened += 1
        now = self.engine.clock.now()
        position = Position(
            f"bench{self.opened}", inst_id, PositionSide.LONG, Decimal(1), Decimal(65000), now, now,
            stop=stop,
        )  # fmt: skip
        self.engine.registry.track(position)
        return position

    def open_positions_not_closing(self, inst_id: str = HOT.inst_id) -> int:
        """How many of the instrument's positions no close is under way for."""
        registry = self.engine.registry
        return sum(not registry.is_closing(p.pos_id) for p in registry.for_instrument(inst_id))


def bench_settings(inst_ids: Sequence[str], journal_directory: Path) -> Settings:
    """The defaults (``config/paper.yaml``), trading ``inst_ids``, journaling in a temp dir."""
    settings = load_settings(None)
    return settings.model_copy(
        update={
            "instruments": tuple(inst_ids),
            "engine": settings.engine.model_copy(
                update={"dead_man_seconds": 0, "reconcile_interval_seconds": NEVER}
            ),
            "journal": settings.journal.model_copy(update={"directory": journal_directory}),
            # the pusher sends each instrument's mark once; OKX resends it every 10 s at least
            "exchange": settings.exchange.model_copy(update={"stream_stale_seconds": NEVER}),
        }
    )


@asynccontextmanager
async def assembled_host(
    listed: Sequence[SimInstrument], ws_url: str | None = None
) -> AsyncIterator[Rig]:
    """A host trading every instrument of ``listed``; its sockets go to ``ws_url`` when run.

    Entries are stopped (no signal may open anything) and the periodic reconciliation is put
    off for good: the bench opens the positions, in the host only.
    """
    sim = Simulator(SimConfig(instruments=tuple(listed)))
    await sim.start()
    stamps = Stamps()
    try:
        with tempfile.TemporaryDirectory(prefix="scalphost-bench-") as directory:
            settings = bench_settings([inst.inst_id for inst in listed], Path(directory))
            connected = settings.model_copy(update={"credentials": sim_account_credentials(sim)})
            clock = BenchClock(sim.clock.now())
            follower = asyncio.create_task(keep_abreast(sim, clock))
            # Journal.open builds an instance of the class it is called on
            journal = cast(
                TimedJournal,
                await TimedJournal.open(Path(directory) / "bench.sqlite3", clock, settings.journal),
            )
            journal.stamps = stamps
            try:
                async with aiohttp.ClientSession(trace_configs=[order_tracing(stamps)]) as session:
                    gate = StartupGate()

                    def sink(event: ExchangeEvent) -> None:
                        gate(event)
                        if isinstance(event, MARKET) and stamps.decided:
                            stamps.decided[-1] = monotonic_ns()

                    connection = OkxConnection(
                        session, connected, clock, sink, gate.on_resync,
                        rest_url=sim.urls.rest, ws_url=ws_url or sim.urls.ws_base,
                    )  # fmt: skip
                    connection.sockets[0].decoder = TimedDecoder(stamps)
                    await connection.rest.sync_clock()
                    plugins = build_plugin_host(settings, discover_entry_points=False)
                    # Never run: the bench measures trading, not delivering notifications.
                    silent = Notifier(plugins.dispatch, settings.notify, clock, settings.mode)
                    engine = await assemble(
                        settings, clock, connection.api, journal, plugins, silent
                    )
                    engine.entries.stop()
                    # The bench's positions live in the host only: a periodic reconciliation
                    # would find them gone from the exchange and close them.
                    engine.positions.reconcile_at(math.inf)
                    gate.open(engine)
                    try:
                        yield Rig(engine, connection, settings, stamps)
                    finally:  # the closes under way finish before the journal closes
                        with suppress(TimeoutError):
                            await asyncio.wait_for(engine.idle(), IDLE_SECONDS)
            finally:
                follower.cancel()
                await journal.close()
    finally:
        await sim.stop()
