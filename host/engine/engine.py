"""The engine: market data in, protected positions out.

The calling sequence a plugin author can rely on (docs/engine.md, "The calling sequence"):

1. Each ``trades`` push feeds the instrument's bars; a closed bar calls ``detect_regime``.
2. Each ``tickers`` push is a *tick*. For the instrument's open positions, **one**
   ``on_tick_exit`` call carries them all; a close beats a stop, stops only tighten, and a stop
   the tick has crossed closes the position. Then a resting entry whose time-to-live ran out
   calls ``on_limit_expired``. Then, if the instrument is free (no position, no resting entry,
   no unresolved drift) and the safety limits allow it, ``generate_signals``; each signal goes
   through ``on_signal`` (any veto blocks), then ``plan_entry``, and the entry is sent; once
   OKX acknowledges it, ``limit_order_ttl`` (the wait counts from the acknowledgement).
3. A fill of an own order (entry, close, or the exchange-side stop) is journaled; an entry's
   position is looked up and protected with the initial stop and an exchange-side stop; then
   ``on_fill`` is called with the position after the fill (``None`` when flat), whether or not
   the positions push showing it has come yet.
4. A position the exchange shows and the host does not know is a drift: ``on_position_drift``
   decides (``drift_guard`` adopts it with a stop), before anything else on that instrument.
5. When the exchange reports a position flat, it is journaled with its PnL and
   ``on_position_closed`` is called.

Hook calls are synchronous and happen on the event loop in the order above; everything that
waits on the network or the disk runs as a task, so a tick never waits for I/O. Only one
position per instrument (OKX net mode) and one entry at a time per instrument.

:class:`Engine` owns no trading state: it builds the parts, each of which owns its own and gets
its collaborators in its constructor, and routes each event to the part it concerns. The data
flows one way through them — market view → exit desk / entry desk → order tracker → fill desk →
position keeper → close recorder — with the instrument gate, the fill ledger and the
exchange-side stops beside them (README, "The engine").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from datetime import timedelta
from typing import Any

from host.clock import Clock
from host.context import HookContext
from host.dispatch import HookDispatch
from host.domain import Fill, InstrumentSpec, OrderRejection, Regime, Tick
from host.engine.backlog import JournalBacklog
from host.engine.closes import CloseRecorder
from host.engine.entries import EntryDesk
from host.engine.execution import Executor, TrackedOrder
from host.engine.exits import ExitDesk
from host.engine.fills import FillDesk
from host.engine.gate import InstrumentGate
from host.engine.ledger import FillLedger
from host.engine.missed import MissedFills
from host.engine.orders import OrderTracker
from host.engine.positions import PositionKeeper
from host.engine.protection import ExchangeStops
from host.engine.services import EngineServices
from host.engine.stats import SessionStats
from host.engine.tasks import EngineTasks
from host.engine.view import MarketView
from host.exchange.api import OkxApi
from host.exchange.connection import ExchangeSnapshot
from host.exchange.errors import OkxRateLimited, OkxUnavailable
from host.exchange.events import (
    AccountPush,
    AlgoOrderPush,
    ExchangeEvent,
    MarkPricePush,
    OrderPush,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)
from host.journal import Journal
from host.journal.records import BalanceSnapshot, ErrorEvent, IntentPurpose
from host.notify.service import Notifier
from host.registry import PositionRegistry
from host.settings import EngineSettings

_log = logging.getLogger(__name__)

SETTLEMENT_CURRENCY = "USDT"
"""The currency every traded swap settles in: the balance worth journaling."""


class Engine:
    """One account's trading: the parts wired together, and exchange events routed to them."""

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
        notifier: Notifier,
    ) -> None:
        self.clock = clock
        self.dispatch = dispatch
        self.api = api
        self.journal = journal
        self.executor = executor
        self.notifier = notifier
        self.tasks = EngineTasks(self._task_failed, clock)
        self.registry = PositionRegistry()
        self.stats = SessionStats()
        self.gate = InstrumentGate()
        self.ledger = FillLedger(self.registry, clock, timedelta(hours=settings.fill_memory_hours))
        self.market = MarketView(settings, specs, regime_fallback, clock, dispatch)
        self.specs = self.market.specs
        tasks, registry = self.tasks, self.registry
        services = EngineServices(
            settings, dispatch, journal, self.stats, clock, tasks, notifier, JournalBacklog(journal)
        )
        self.orders = OrderTracker(
            api,
            journal,
            clock,
            tasks,
            on_order=self._on_order,
            on_fill=self._on_rest_fill,
            on_gone=self._on_order_gone,
        )
        self.protection = ExchangeStops(settings, registry, executor, api, clock, tasks, notifier)
        self.exits = ExitDesk(
            services, self.specs, registry, self.orders, self.protection, executor,
            confirm_positions=lambda: self.positions.reconcile_now(),
        )  # fmt: skip
        self.closes = CloseRecorder(
            services, self.specs, self.gate, self.exits, self.ledger, self.protection, self.market
        )
        self.missed_fills = MissedFills(
            api, self._on_rest_fill, timedelta(seconds=settings.reconcile_interval_seconds)
        )
        self.positions = PositionKeeper(
            services, registry, self.gate, self.market, self.exits, self.closes, self.protection,
            api, self.missed_fills,
        )  # fmt: skip
        self.entries = EntryDesk(
            services, registry, self.gate, self.orders, self.positions, self.market, executor, api
        )
        self.fills = FillDesk(
            services, registry, self.gate, self.ledger, self.positions, self.protection, self.market
        )

    def context(self, inst_id: str) -> HookContext:
        """What a plugin may know about ``inst_id`` now."""
        return self.market.context(inst_id)

    # --- the feed's sink ----------------------------------------------------------------------

    def on_event(self, event: ExchangeEvent) -> None:
        """Take one de-duplicated exchange event (the :class:`ExchangeFeed` sink)."""
        if isinstance(event, TickerPush):
            self._on_tick(self.market.on_ticker(event.tick))
        elif isinstance(event, QuotePush):
            self.market.on_quote(event.inst_id, event.bid, event.ask, event.ts)
        elif isinstance(event, MarkPricePush):
            self.market.on_mark(event.inst_id, event.mark)
        elif isinstance(event, TradePush):
            self.market.on_trade(event.trade)
        elif isinstance(event, OrderPush):
            self._on_order(event)
        elif isinstance(event, PositionsPush):
            self.positions.on_positions(event)
        elif isinstance(event, AlgoOrderPush):
            self.protection.on_algo(event)
        elif isinstance(event, AccountPush):
            self._on_account(event)

    def _on_account(self, push: AccountPush) -> None:
        """Journal the settlement currency's balance (OKX pushes it on change and periodically)."""
        for balance in push.balances:
            if balance.ccy == SETTLEMENT_CURRENCY and balance.available is not None:
                self.journal.write(
                    BalanceSnapshot(balance.ccy, balance.equity, balance.available, push.updated_at)
                )

    def _on_tick(self, tick: Tick) -> None:
        inst_id = tick.inst_id
        if inst_id not in self.specs:
            return
        self.stats.ticks += 1
        ctx = self.market.context(inst_id)
        positions = self.registry.for_instrument(inst_id)
        if positions:
            if self.gate.drifting(inst_id):  # a drift is resolved before all else
                self.exits.hold(tick)
            else:
                self.exits.on_tick(tick, positions, ctx)
        self.entries.on_tick(tick, ctx)
        self.chores()
        self.entries.keep_alive()

    def _on_order(self, push: OrderPush) -> None:
        """An order push (or what a lookup found): its fill applied once, its end routed."""
        tracked = self.orders.update(push.order)
        fill = push.fill if push.fill is not None and self._first_sighting(push.fill) else None
        if tracked is None:
            if fill is not None:  # an exchange-side stop, a liquidation, or an order not ours
                if self.protection.is_own(push.algo_cl_ord_id):
                    self.fills.apply_stop_fill(fill)
                else:
                    self.fills.apply(fill, None)
            return
        if fill is not None:
            self.fills.apply(fill, tracked)
        if push.order.state.is_terminal:
            self.orders.finish(tracked)
            if tracked.purpose is IntentPurpose.ENTRY and not tracked.fills:
                self.entries.entry_done(tracked)
            if tracked.purpose is IntentPurpose.CLOSE:
                self.exits.close_ended(tracked)

    def _on_rest_fill(self, fill: Fill) -> None:
        """A fill learnt over REST (a lookup, a reconnect's snapshot), applied once."""
        if self._first_sighting(fill):
            self.fills.apply(fill, self.orders.get(fill.cl_ord_id))

    def _first_sighting(self, fill: Fill) -> bool:
        """Whether ``fill`` is new; one older than the ledger's memory is only journaled.

        Such a fill can only be one handled long ago (or one whose position reconciliation
        settled since): it is written in case the journal lacks it (the journal ignores a fill it
        holds) and applied to nothing.
        """
        if self.ledger.first_sighting(fill):
            return True
        if self.ledger.beyond_memory(fill):
            _log.warning(
                "%s: fill %s of %s is older than the fill memory; journaled only",
                fill.inst_id, fill.trade_id, fill.ts,
            )  # fmt: skip
            self.journal.write(fill)
        return False

    def _on_order_gone(self, tracked: TrackedOrder) -> None:
        """An order OKX never placed: an entry frees its instrument, a close its claim."""
        if tracked.purpose is IntentPurpose.ENTRY:
            self.entries.entry_done(tracked)
        else:
            self.exits.close_ended(tracked)

    def on_refused(self, rejection: OrderRejection) -> None:
        """An order was refused: journal it and tell the plugins (the circuit breaker counts)."""
        self.journal.write(rejection)
        if rejection.inst_id in self.specs:
            self.dispatch.on_order_rejected(rejection, self.context(rejection.inst_id))

    # --- the clock and the connection ---------------------------------------------------------

    def chores(self) -> None:
        """What is due on the clock, ticks or not (the runner also calls this every second).

        Exchange-side stops to place again or move, orders no push settled, the periodic
        reconciliation.
        """
        self.protection.replace_due()
        self.protection.move_due()
        self.orders.settle_due()
        self.positions.reconcile_due()

    async def on_resync(self, snapshot: ExchangeSnapshot) -> None:
        """After a reconnect: reconcile positions and stops, settle the orders in flight."""
        self.positions.reconcile(snapshot.positions)
        await self.protection.check(snapshot.stops)
        for fill in reversed(snapshot.fills):  # OKX lists them newest first
            self._on_rest_fill(fill)
        self.orders.settle_unlisted(
            (push.order.cl_ord_id for push in snapshot.orders), snapshot.taken_at
        )

    # --- tasks --------------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        """Run ``work`` as a task; a failure is logged and journaled, never lost silently."""
        return self.tasks.spawn(work)

    async def idle(self) -> None:
        """Return once no engine task is running (used to pace replays)."""
        await self.tasks.idle()

    def _task_failed(self, error: BaseException) -> None:
        """Log and journal a task's failure; a traceback only where the host itself failed.

        An exchange that stayed busy or over its rate limit through the client's retries is a
        fault of the venue, not a bug: a warning, since what the task was for is tried again
        (the stop's placement, the next reconciliation), and a traceback would read as a crash.
        """
        if isinstance(error, OkxRateLimited | OkxUnavailable):
            _log.warning("engine task ended by the exchange: %s", error)
        else:
            _log.error("engine task failed: %r", error, exc_info=error)
        self.journal.write(ErrorEvent(self.clock.now(), "engine", repr(error)))
