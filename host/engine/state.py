"""The engine's state and plumbing: what every layer of the engine reads and writes.

The engine is built in layers, one module each, each adding one responsibility on top of the
previous: state (here), exits, entries, fills, positions, and the event routing in
:mod:`host.engine.engine`. Everything here is shared: the registry, the tracked orders, the
per-instrument locks, and the task spawner that makes sure no failure goes unnoticed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from host.clock import Clock
from host.context import HookContext, HostLoad
from host.dispatch import HookDispatch
from host.domain import (
    Fill,
    InstrumentSpec,
    OrderRejection,
    Regime,
)
from host.engine.execution import Executor, TrackedOrder
from host.engine.gate import InstrumentGate
from host.engine.market import BarBuilder, MarketBook
from host.engine.stats import SessionStats
from host.engine.tasks import EngineTasks
from host.exchange.api import OkxApi
from host.exchange.events import (
    PositionReport,
)
from host.journal import Journal
from host.journal.records import (
    ErrorEvent,
)
from host.registry import PositionRegistry
from host.settings import EngineSettings

_log = logging.getLogger(__name__)


class EngineState:
    """Shared state of one account's trading, and the plumbing every layer uses."""

    def __init__(
        self,
        settings: EngineSettings,
        regime_fallback: Regime,
        clock: Clock,
        dispatch: HookDispatch,
        api: OkxApi,
        journal: Journal,
        executor: Executor,
        specs: Mapping[str, InstrumentSpec],
    ) -> None:
        self.settings = settings
        self._fallback = regime_fallback
        self.clock = clock
        self.dispatch = dispatch
        self.api = api
        self.journal = journal
        self.executor = executor
        self.specs = dict(specs)
        self.registry = PositionRegistry()
        self.market = MarketBook()
        self.bars = BarBuilder(timedelta(seconds=settings.bar_seconds), settings.bar_history)
        self.stats = SessionStats()
        self.regimes: dict[str, Regime] = {}
        self.orders: dict[str, TrackedOrder] = {}
        self.entry_regimes: dict[str, Regime] = {}
        self.fees: dict[str, Decimal] = {}
        self.exchange_stops: dict[str, str] = {}
        self.seen_trades: set[tuple[str, str]] = set()
        self.accepting_entries = True
        self.gate = InstrumentGate()
        self._position_waiters: dict[str, asyncio.Future[PositionReport]] = {}
        self._stop_dirty: set[str] = set()
        self._last_stop_move: dict[str, float] = {}
        self._tasks = EngineTasks(self._task_failed)
        self._next_reconcile = 0.0
        self._close_orders: dict[str, TrackedOrder] = {}
        self.load: HostLoad | None = None
        """Loop lag and exchange latency (:mod:`host.engine.load`), handed to plugins in ctx."""
        self._next_dead_man = 0.0
        self._blocking: set[str] = set()
        """Plugins whose vetoes blocked the last signal (a trip is journaled when one starts)."""
        self._stops_fired: set[str] = set()
        """Instruments whose exchange-side stop traded: their next close is credited to it."""
        self._stop_fills: dict[str, list[asyncio.Task[object]]] = {}
        self._booked_fills: dict[str, list[Fill]] = {}
        """Per instrument, the fills the registry's position may not count yet, in arrival order."""
        """Per instrument, the tasks announcing own exchange-side stops' fills (``on_fill``)."""
        self._last_fill: dict[str, Fill] = {}
        self._fill_events: dict[str, asyncio.Event] = {}
        self._ignored_instruments: set[str] = set()

    def context(self, inst_id: str) -> HookContext:
        """What a plugin may know about ``inst_id`` now."""
        return HookContext(
            now=self.clock.now(),
            instrument=self.specs[inst_id],
            regime=self.regimes.get(inst_id, self._fallback),
            load=self.load,
        )

    # --- plumbing -----------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        """Run ``work`` as a task; a failure is logged and journaled, never lost silently."""
        return self._tasks.spawn(work)

    async def idle(self) -> None:
        """Return once no engine task is running (used to pace replays)."""
        await self._tasks.idle()

    def _task_failed(self, error: BaseException) -> None:
        _log.error("engine task failed: %r", error, exc_info=error)
        self.journal.write(ErrorEvent(self.clock.now(), "engine", repr(error)))

    def _fill_arrived(self, inst_id: str) -> asyncio.Event:
        """Set whenever a fill of the instrument is booked (a close waits for its exit fill)."""
        return self._fill_events.setdefault(inst_id, asyncio.Event())

    def on_refused(self, rejection: OrderRejection) -> None:
        """An order was refused: journal it and tell the plugins (the circuit breaker counts)."""
        self.journal.write(rejection)
        if rejection.inst_id in self.specs:
            self.dispatch.on_order_rejected(rejection, self.context(rejection.inst_id))
