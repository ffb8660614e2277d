"""The engine: market data in, protected positions out.

The calling sequence a plugin author can rely on (README, "The engine's calling sequence"):

1. Each ``trades`` push feeds the instrument's bars; a closed bar calls ``detect_regime``.
2. Each ``tickers`` push is a *tick*. For the instrument's open positions, **one**
   ``on_tick_exit`` call carries them all; a close beats a stop, stops only tighten, and a stop
   the tick has crossed closes the position. Then a resting entry whose time-to-live ran out
   calls ``on_limit_expired``. Then, if the instrument is free (no position, no resting entry,
   no unresolved drift) and the safety limits allow it, ``generate_signals``; each signal goes
   through ``on_signal`` (any veto blocks), then ``plan_entry``, then ``limit_order_ttl``, and
   the entry is sent.
3. A fill of an own order is journaled, applied to the registry (an entry's position is looked
   up, protected with the initial stop and an exchange-side stop) and then ``on_fill`` is called.
4. A position the exchange shows and the host does not know is a drift: ``on_position_drift``
   decides (``drift_guard`` adopts it with a stop), before anything else on that instrument.
5. When the exchange reports a position flat, it is journaled with its PnL and
   ``on_position_closed`` is called.

Hook calls are synchronous and happen on the event loop in the order above; everything that
waits on the network or the disk runs as a task, so a tick never waits for I/O. Only one
position per instrument (OKX net mode) and one entry at a time per instrument.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from host.clock import Clock
from host.context import HookContext
from host.decisions import Accept, CancelOrder, CrossSpread, RepriceOrder
from host.dispatch import Close, HookDispatch, MoveStop
from host.domain import (
    ClosedPosition,
    Drift,
    DriftKind,
    Fill,
    InstrumentSpec,
    Order,
    OrderRejection,
    OrderSizeError,
    OrderState,
    Position,
    PositionOrigin,
    PositionSide,
    Regime,
    Signal,
    Tick,
)
from host.domain.pnl import PnL, gross_pnl
from host.engine.execution import Executor, Sent, TrackedOrder
from host.engine.market import BarBuilder, MarketBook
from host.engine.stats import SessionStats
from host.exchange.api import OkxApi
from host.exchange.connection import ExchangeSnapshot
from host.exchange.events import (
    AlgoOrderPush,
    ExchangeEvent,
    MarkPricePush,
    OrderPush,
    PositionReport,
    PositionsEventType,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)
from host.journal import Journal
from host.journal.records import (
    ErrorEvent,
    IntentPurpose,
    PositionChanged,
    PositionOpened,
    SignalRecord,
    StopMove,
)
from host.registry import PositionRegistry, RegistryError
from host.settings import EngineSettings

_log = logging.getLogger(__name__)

HOST = "host"
STOP_FIRED_STATES = frozenset({"effective", "order_placed", "filled", "partially_effective"})
"""``orders-algo`` states of a stop whose trigger was reached and that placed its close order."""


class Engine:
    """One account's trading: decisions through the plugins, orders through the executor."""

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
        self._entering: set[str] = set()
        self._drifting: set[str] = set()
        self._position_waiters: dict[str, asyncio.Future[PositionReport]] = {}
        self._stop_dirty: set[str] = set()
        self._last_stop_move: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        self._next_reconcile = 0.0
        self._close_orders: dict[str, TrackedOrder] = {}
        self._stops_fired: set[str] = set()
        self._settling: set[str] = set()
        self._last_fill_price: dict[str, Decimal] = {}

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
            self._on_trade(event)
        elif isinstance(event, OrderPush):
            self._on_order(event)
        elif isinstance(event, PositionsPush):
            self._on_positions(event)
        elif isinstance(event, AlgoOrderPush):
            self._on_algo(event)

    # --- market -------------------------------------------------------------------------------

    def context(self, inst_id: str) -> HookContext:
        """What a plugin may know about ``inst_id`` now."""
        return HookContext(
            now=self.clock.now(),
            instrument=self.specs[inst_id],
            regime=self.regimes.get(inst_id, self._fallback),
        )

    def _on_trade(self, push: TradePush) -> None:
        inst_id = push.trade.inst_id
        if inst_id not in self.specs:
            return
        closed = self.bars.add(push.trade)
        if closed is not None:
            self.regimes[inst_id] = self.dispatch.detect_regime(
                self.bars.bars(inst_id), self.context(inst_id)
            )

    def _on_tick(self, tick: Tick) -> None:
        inst_id = tick.inst_id
        if inst_id not in self.specs:
            return
        self.stats.ticks += 1
        ctx = self.context(inst_id)
        positions = self.registry.for_instrument(inst_id)
        if positions:
            self._exits(tick, positions, ctx)
        self._expire_entries(inst_id, tick, ctx)
        if self._may_enter(inst_id, tick):
            for signal in self.dispatch.generate_signals(tick, ctx):
                self._consider(signal, tick, ctx)
                if inst_id in self._entering:
                    break
        self._housekeeping()

    # --- exits --------------------------------------------------------------------------------

    def _exits(self, tick: Tick, positions: tuple[Position, ...], ctx: HookContext) -> None:
        decisions = self.dispatch.on_tick_exit(tick, positions, ctx)
        for position in positions:
            decision = decisions.get(position.pos_id)
            if isinstance(decision, Close):
                self.close(position, f"{decision.plugin}: {decision.reason}")
                continue
            if isinstance(decision, MoveStop):
                position = self._move_stop(position, decision)
            if position.stop is not None and _crossed(position.side, position.stop, tick):
                self.close(position, f"stop: {position.stop} crossed")

    def _move_stop(self, position: Position, decision: MoveStop) -> Position:
        spec = self.specs[position.inst_id]
        level = spec.protective_stop(position.side, decision.price)
        try:
            moved = self.registry.set_stop(position.pos_id, level)
        except RegistryError:
            return position  # rounding toward the market never loosens; a racing update might
        self.journal.write(
            StopMove(position.pos_id, level, decision.plugin, decision.reason, self.clock.now())
        )
        self._stop_dirty.add(position.pos_id)
        return moved

    def close(self, position: Position, reason: str) -> None:
        """Close ``position`` at the market, once: a second caller is refused by the registry."""
        if not self.registry.claim_close(position.pos_id):
            return
        order = Order(
            cl_ord_id=self.executor.ids.next("x", position.pos_id),
            inst_id=position.inst_id,
            side=position.side.entry_side.opposite,
            size=position.size,
            price=None,
            created_at=self.clock.now(),
            reduce_only=True,
        )
        tracked = TrackedOrder(
            order, IntentPurpose.CLOSE, reason, pos_id=position.pos_id, market=True
        )
        self.orders[order.cl_ord_id] = tracked
        self._close_orders[position.pos_id] = tracked
        self.spawn(self._send_close(tracked))

    async def _send_close(self, tracked: TrackedOrder) -> None:
        sent = await self.executor.send(tracked)
        if sent is Sent.REFUSED and tracked.pos_id is not None:
            self.orders.pop(tracked.order.cl_ord_id, None)
            self._close_orders.pop(tracked.pos_id, None)
            self.registry.release_close(tracked.pos_id)  # a later decision may try again

    # --- entries ------------------------------------------------------------------------------

    def _may_enter(self, inst_id: str, tick: Tick) -> bool:
        if (
            not self.accepting_entries
            or inst_id in self._entering
            or inst_id in self._drifting
            or inst_id in self._settling
        ):
            return False
        if self.registry.for_instrument(inst_id):
            return False
        if len(self.registry.positions()) + len(self._entering) >= self.settings.max_open_positions:
            return False
        age = self.clock.now() - tick.ts
        return age <= timedelta(seconds=self.settings.stale_market_seconds)

    def _consider(self, signal: Signal, tick: Tick, ctx: HookContext) -> None:
        self.stats.signals += 1
        verdict = self.dispatch.on_signal(signal, ctx)
        vetoed_by = ", ".join(plugin for plugin, _ in verdict.vetoes) or None
        reasons = "; ".join(reason for _, reason in verdict.vetoes) or None
        self.journal.write(SignalRecord(signal, ctx.regime, vetoed_by, reasons))
        if not verdict.allowed:
            self.stats.vetoed += 1
            return
        plan = self.dispatch.plan_entry(signal, tick, ctx)
        if plan is None:
            return
        spec = ctx.instrument
        side = signal.side.entry_side
        try:
            price = spec.entry_limit_price(side, plan.price)
            size = self._entry_size(spec, price)
        except (OrderSizeError, ValueError) as refused:
            _log.info("%s: entry skipped: %s", spec.inst_id, refused)
            return
        order = Order(
            cl_ord_id=self.executor.ids.next("e", signal.source),
            inst_id=spec.inst_id,
            side=side,
            size=size,
            price=price,
            created_at=ctx.now,
            post_only=plan.post_only,
        )
        ttl = self.dispatch.limit_order_ttl(order, ctx)
        tracked = TrackedOrder(
            order,
            IntentPurpose.ENTRY,
            f"{signal.source}: {signal.reason}",
            signal=signal,
            regime=ctx.regime,
            expires_at=ctx.now + ttl,
        )
        self.orders[order.cl_ord_id] = tracked
        self._entering.add(spec.inst_id)
        self.stats.entries_sent += 1
        _log.info("%s: entry %s %s @ %s (%s)", spec.inst_id, side, size, price, tracked.reason)
        self.spawn(self._send_entry(tracked))

    def _entry_size(self, spec: InstrumentSpec, price: Decimal) -> Decimal:
        """Contracts worth ``entry_notional_usdt``, capped by the notional limits."""
        budget = min(
            self.settings.entry_notional_usdt,
            self.settings.max_order_notional_usdt,
            self.settings.max_instrument_notional_usdt,
        )
        return spec.order_size(budget / (spec.contract_size * price))

    async def _send_entry(self, tracked: TrackedOrder) -> None:
        if await self.executor.send(tracked) is Sent.REFUSED:
            self._entry_done(tracked)

    def _entry_done(self, tracked: TrackedOrder) -> None:
        """An entry ended without a fill: free its instrument, unless a follow-up is in flight.

        A time-out that reprices or crosses sends a new order before the old one's cancel is
        confirmed; the instrument stays taken until the last of them is done.
        """
        self.orders.pop(tracked.order.cl_ord_id, None)
        inst_id = tracked.order.inst_id
        if not any(
            other.purpose is IntentPurpose.ENTRY and other.order.inst_id == inst_id
            for other in self.orders.values()
        ):
            self._entering.discard(inst_id)
            self._position_waiters.pop(inst_id, None)

    def _expire_entries(self, inst_id: str, tick: Tick, ctx: HookContext) -> None:
        if inst_id not in self._entering:
            return
        for tracked in list(self.orders.values()):
            if (
                tracked.purpose is IntentPurpose.ENTRY
                and tracked.order.inst_id == inst_id
                and tracked.expires_at is not None
                and ctx.now >= tracked.expires_at
                and not tracked.expiring
                and tracked.order.ord_id is not None
            ):
                tracked.expiring = True
                action = self.dispatch.on_limit_expired(tracked.order, tick, ctx)
                self.spawn(self._expire(tracked, action, ctx))

    async def _expire(
        self,
        tracked: TrackedOrder,
        action: CancelOrder | RepriceOrder | CrossSpread,
        ctx: HookContext,
    ) -> None:
        """Carry out the limit-order policy's answer to a time-out.

        A reprice amends the order in place (same ``clOrdId``, so the policy can count its
        reprices) and starts a new wait; a cancel cancels it; a cross cancels it and takes the
        rest at the market with a new order.
        """
        order = tracked.order
        self.stats.entries_expired += 1
        if isinstance(action, RepriceOrder) and order.ord_id is not None:
            price = ctx.instrument.entry_limit_price(order.side, action.price)
            if await self.api.amend_order(order.inst_id, order.ord_id, price):
                tracked.order = replace(order, price=price)
                ttl = self.dispatch.limit_order_ttl(tracked.order, self.context(order.inst_id))
                tracked.expires_at = self.clock.now() + ttl
                tracked.reprices += 1
                tracked.expiring = False
            return
        found = await self.executor.cancel(order)
        if isinstance(action, CancelOrder) or (found is not None and found.state.is_terminal):
            return  # canceled, or it filled first: the order's pushes settle it
        remaining = order.remaining_size
        if remaining <= 0:
            return
        crossing = TrackedOrder(
            replace(
                order,
                cl_ord_id=self.executor.ids.next("e", "cross"),
                size=remaining,
                price=None,
                created_at=self.clock.now(),
                state=OrderState.LIVE,
                filled_size=Decimal(0),
                average_price=None,
                ord_id=None,
                post_only=False,
            ),
            IntentPurpose.ENTRY,
            f"{tracked.reason} (cross: {action.reason})",
            signal=tracked.signal,
            regime=tracked.regime,
            market=True,
        )
        self.orders[crossing.order.cl_ord_id] = crossing
        self._entering.add(order.inst_id)
        await self._send_entry(crossing)

    # --- orders and fills ---------------------------------------------------------------------

    def _on_order(self, push: OrderPush) -> None:
        tracked = self.orders.get(push.order.cl_ord_id)
        fill = push.fill
        if fill is not None:
            key = (fill.inst_id, fill.trade_id)
            if key in self.seen_trades:
                fill = None
            else:
                self.seen_trades.add(key)
        if fill is not None:
            self._account(fill)
        if tracked is None:
            if fill is not None:  # an exchange-side stop, a liquidation, or an order not ours
                self.spawn(self.journal.commit(fill))
            return
        tracked.order = push.order
        if fill is not None:
            tracked.fills[fill.trade_id] = fill
            self.spawn(self._own_fill(tracked, fill))
        if push.order.state.is_terminal:
            tracked.finished.set()
            self.orders.pop(push.order.cl_ord_id, None)
            if tracked.purpose is IntentPurpose.ENTRY and not tracked.fills:
                self._entry_done(tracked)
            if tracked.purpose is IntentPurpose.CLOSE and not tracked.fills and tracked.pos_id:
                self.registry.release_close(tracked.pos_id)

    def _account(self, fill: Fill) -> None:
        """Book a fill's fee against the instrument's position, as soon as the fill is known.

        Done synchronously when the push arrives, so a close journaled right after sees every
        fee of the position, whatever order the fill tasks run in.
        """
        self.fees[fill.inst_id] = self.fees.get(fill.inst_id, Decimal(0)) + fill.fee
        self._last_fill_price[fill.inst_id] = fill.price

    async def _own_fill(self, tracked: TrackedOrder, fill: Fill) -> None:
        inst_id = fill.inst_id
        async with self._lock(inst_id):
            await self.journal.commit(fill)
            held = self.registry.for_instrument(inst_id)
            position: Position | None = held[0] if held else None
            if tracked.purpose is IntentPurpose.ENTRY and position is None:
                position = await self._open_own(tracked, inst_id)
                self._entering.discard(inst_id)
            self.dispatch.on_fill(fill, position, self.context(inst_id))

    async def _open_own(self, tracked: TrackedOrder, inst_id: str) -> Position | None:
        """Find the position an entry fill opened, protect it, journal it.

        Entry price and time come from the exchange's position (``avgPx``, ``cTime``), never
        from local "now" and never rounded. If OKX does not show the position after the
        configured retries, the fallback is reconciliation: it will find it as a drift and
        ``drift_guard`` adopts it with a stop.
        """
        self.stats.entries_filled += 1
        report = await self._await_position(inst_id)
        if report is None:
            _log.error("%s: entry filled but its position is not visible yet", inst_id)
            self.journal.write(
                ErrorEvent(self.clock.now(), "engine", f"{inst_id}: position not visible")
            )
            return None
        there = report.position
        spec = self.specs[inst_id]
        distance = there.entry_price * self.settings.initial_stop_fraction
        raw_stop = (
            there.entry_price - distance
            if there.side is PositionSide.LONG
            else there.entry_price + distance
        )
        position = replace(
            there, origin=PositionOrigin.OWN, stop=spec.protective_stop(there.side, raw_stop)
        )
        regime = tracked.regime or self._fallback
        await self.journal.commit(
            PositionOpened(
                position,
                regime,
                tracked.order.cl_ord_id,
                stop_by=HOST,
                stop_reason=f"initial stop {self.settings.initial_stop_fraction} from entry",
            )
        )
        # Journaled first, then tracked: from here to on_fill nothing awaits, so no tick can
        # reach the exit plugins before they heard of the fill.
        self.registry.track(position)
        self.entry_regimes[position.pos_id] = regime
        self.spawn(self.protect_on_exchange(position))
        return position

    async def _await_position(self, inst_id: str) -> PositionReport | None:
        """The instrument's position as soon as a push or a REST lookup shows it."""
        waiter = self._waiter(inst_id)
        try:
            for _ in range(self.settings.position_visible_retries + 1):
                if not waiter.done():
                    for report in await self.api.positions(inst_id):
                        self._claim_own(report)
                try:
                    return await asyncio.wait_for(
                        asyncio.shield(waiter), self.settings.position_visible_delay_seconds
                    )
                except TimeoutError:
                    continue
            return None
        finally:
            self._position_waiters.pop(inst_id, None)

    def _waiter(self, inst_id: str) -> asyncio.Future[PositionReport]:
        waiter = self._position_waiters.get(inst_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._position_waiters[inst_id] = waiter
        return waiter

    def _claim_own(self, report: PositionReport) -> bool:
        """Take an unknown position on an instrument with an own entry in flight as ours.

        OKX does not order its channels: the positions push of an entry can arrive before the
        orders push with its fill. Such a position is the entry's, not a drift: it is handed to
        the entry's fill (which protects and journals it) instead of to ``on_position_drift``.
        """
        position = report.position
        if position.size <= 0 or position.inst_id not in self._entering:
            return False
        if self.registry.get(position.pos_id) is not None:
            return False
        waiter = self._waiter(position.inst_id)
        if not waiter.done():
            waiter.set_result(report)
        return True

    # --- positions ----------------------------------------------------------------------------

    def _on_positions(self, push: PositionsPush) -> None:
        if push.event_type is PositionsEventType.SNAPSHOT:
            self.reconcile(tuple(push.reports))
            return
        for report in push.reports:
            self._apply_report(report)

    def _apply_report(self, report: PositionReport) -> None:
        position = report.position
        known = self.registry.get(position.pos_id)
        if known is None and (
            self._claim_own(report) or position.size == 0 or position.inst_id in self._drifting
        ):
            return
        drift = self.registry.apply(position)
        if drift is not None:
            self._start_drift(
                replace(drift, mark_price=report.mark or self.market.mark(drift.inst_id))
            )
        elif known is not None and self.registry.get(position.pos_id) is None:
            self._settle_close(known, "closed on the exchange")
        elif known is not None and known.exchange_state != position.exchange_state:
            self.journal.write(PositionChanged(self.registry.get(position.pos_id) or position))

    def reconcile(self, reports: tuple[PositionReport, ...]) -> None:
        """Compare the registry with a complete list of the exchange's open positions."""
        marks = self.market.marks() | {
            r.position.inst_id: r.mark for r in reports if r.mark is not None
        }
        claimed = {r.position.inst_id for r in reports if self._claim_own(r)}
        snapshot = [r.position for r in reports if r.position.inst_id not in claimed]
        for drift in self.registry.drift(snapshot, marks):
            if drift.inst_id in self._drifting or drift.inst_id in self._entering:
                continue
            if drift.kind is DriftKind.REMOVE and drift.known is not None:
                self.registry.resolve(drift, Accept("gone from the exchange"))
                self._settle_close(drift.known, "closed on the exchange")
                continue
            self._start_drift(drift)

    async def on_resync(self, snapshot: ExchangeSnapshot) -> None:
        """After a reconnect: reconcile positions, and settle the orders we were waiting on."""
        self.reconcile(snapshot.positions)
        for fill in snapshot.fills:
            self._on_order_fill_from_rest(fill)
        pending = {push.order.cl_ord_id for push in snapshot.orders}
        for cl_ord_id, tracked in list(self.orders.items()):
            if tracked.order.created_at < snapshot.taken_at and cl_ord_id not in pending:
                self.spawn(self._settle(tracked))

    def _on_order_fill_from_rest(self, fill: Fill) -> None:
        key = (fill.inst_id, fill.trade_id)
        if key in self.seen_trades:
            return
        self.seen_trades.add(key)
        self._account(fill)
        tracked = self.orders.get(fill.cl_ord_id)
        if tracked is None:
            self.spawn(self.journal.commit(fill))
            return
        tracked.fills[fill.trade_id] = fill
        self.spawn(self._own_fill(tracked, fill))

    async def _settle(self, tracked: TrackedOrder) -> None:
        """An order that left the pending list while we were away: ask what became of it."""
        found = await self.api.get_order(tracked.order.inst_id, cl_ord_id=tracked.order.cl_ord_id)
        if found is None:
            if tracked.purpose is IntentPurpose.ENTRY:
                self._entry_done(tracked)
            return
        self._on_order(replace(found, fill=None))

    def _start_drift(self, drift: Drift) -> None:
        self._drifting.add(drift.inst_id)
        self.spawn(self._resolve_drift(drift, self.clock.monotonic()))

    async def _resolve_drift(self, drift: Drift, detected: float) -> None:
        """Let the plugins decide; protect an adopted position before anything else happens."""
        try:
            async with self._lock(drift.inst_id):
                ctx = self.context(drift.inst_id)
                decision = self.dispatch.on_position_drift(drift, ctx)
                position = self.registry.resolve(drift, decision.resolution)
                reason = f"{decision.plugin}: {type(decision.resolution).__name__}"
                if position is None:
                    if drift.known is not None:
                        await self._closed(drift.known, "closed on the exchange")
                    return
                if drift.kind is DriftKind.ADD:
                    self.stats.adopted += 1
                    self.entry_regimes[position.pos_id] = ctx.regime
                    await self.journal.commit(
                        PositionOpened(
                            position,
                            ctx.regime,
                            stop_by=decision.plugin,
                            stop_reason=reason,
                        )
                    )
                    if position.stop is not None:
                        await self.protect_on_exchange(position)
                        self.stats.protect_seconds.append(self.clock.monotonic() - detected)
                else:
                    self.journal.write(PositionChanged(position))
                if self.registry.is_flattening(position.pos_id):
                    self.close(position, f"{decision.plugin}: flatten drifted position")
        finally:
            self._drifting.discard(drift.inst_id)

    def _settle_close(self, position: Position, fallback_reason: str) -> None:
        """Journal a flat position in the background; its instrument waits until that is done."""
        self._settling.add(position.inst_id)
        self.spawn(self._closed_then_free(position, fallback_reason))

    async def _closed_then_free(self, position: Position, fallback_reason: str) -> None:
        try:
            await self._closed(position, fallback_reason)
        finally:
            self._settling.discard(position.inst_id)

    async def _closed(self, position: Position, fallback_reason: str) -> None:
        """Journal a position the exchange reports flat, with its PnL; tell the plugins.

        The positions channel may report the position flat before the orders channel reports
        the close order filled (OKX does not order the two), so the close order is given a
        moment to finish: its average price is the exit price. A position closed by the
        exchange-side stop or outside the host exits at its last fill, else at the mark.
        """
        inst_id = position.inst_id
        close_order = self._close_orders.pop(position.pos_id, None)
        if close_order is not None:
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    close_order.finished.wait(), self.settings.position_visible_delay_seconds
                )
        exit_price = (
            (close_order.order.average_price if close_order is not None else None)
            or self._last_fill_price.get(inst_id)
            or self.market.mark(inst_id)
            or position.entry_price
        )
        if close_order is not None:
            reason = close_order.reason
        elif position.pos_id in self._stops_fired:
            reason = "exchange stop: triggered at the mark"
        else:
            reason = fallback_reason
        self._stops_fired.discard(position.pos_id)
        spec = self.specs.get(inst_id)
        gross = (
            gross_pnl(spec, position.side, position.size, position.entry_price, exit_price)
            if spec is not None
            else Decimal(0)
        )
        fees = self.fees.pop(inst_id, Decimal(0))
        closed = ClosedPosition(
            position=position,
            exit_price=exit_price,
            closed_at=self.clock.now(),
            pnl=PnL(gross=gross, fees=fees),
            reason=reason,
        )
        await self.journal.commit(closed)
        regime = self.entry_regimes.pop(position.pos_id, None)
        self.stats.record_close(closed, regime)
        algo_id = self.exchange_stops.pop(position.pos_id, None)
        if algo_id is not None:
            self.spawn(self.executor.cancel_stop(inst_id, algo_id))
        if spec is not None:
            self.dispatch.on_position_closed(closed, self.context(inst_id))

    # --- exchange-side stops ------------------------------------------------------------------

    async def protect_on_exchange(self, position: Position) -> None:
        """Back ``position`` with a stop order on the exchange at its stop (if configured)."""
        if not self.settings.exchange_stops or position.stop is None:
            return
        algo_id = await self.executor.place_stop(position, position.stop)
        if algo_id is not None:
            self.exchange_stops[position.pos_id] = algo_id
            self._last_stop_move[position.pos_id] = self.clock.monotonic()

    def mark_stop_dirty(self, pos_id: str) -> None:
        """Have the position's exchange-side stop moved to its stop at the next chance."""
        self._stop_dirty.add(pos_id)

    def _housekeeping(self) -> None:
        """Per-tick chores that are due: move exchange-side stops, reconcile on schedule."""
        now = self.clock.monotonic()
        for pos_id in list(self._stop_dirty):
            if now - self._last_stop_move.get(pos_id, 0.0) < self.settings.stop_amend_min_seconds:
                continue
            self._stop_dirty.discard(pos_id)
            position = self.registry.get(pos_id)
            algo_id = self.exchange_stops.get(pos_id)
            if position is None or position.stop is None or algo_id is None:
                continue
            self._last_stop_move[pos_id] = now
            self.spawn(self.executor.move_stop(position.inst_id, algo_id, position.stop))
        if now >= self._next_reconcile:
            self._next_reconcile = now + self.settings.reconcile_interval_seconds
            self.spawn(self.reconcile_now())

    async def reconcile_now(self) -> None:
        """Fetch the exchange's positions over REST and reconcile the registry with them."""
        self.reconcile(await self.api.positions())

    def _on_algo(self, push: AlgoOrderPush) -> None:
        """Note an exchange-side stop that fired: its position's close is credited to it."""
        if push.state not in STOP_FIRED_STATES:
            return
        for pos_id, algo_id in self.exchange_stops.items():
            if algo_id == push.algo_id:
                self._stops_fired.add(pos_id)

    # --- plumbing -----------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Run ``work`` as a task; a failure is logged and journaled, never lost silently."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            _log.error("engine task failed: %r", error, exc_info=error)
            self.journal.write(ErrorEvent(self.clock.now(), "engine", repr(error)))

    async def idle(self) -> None:
        """Return once no engine task is running (used to pace replays)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _lock(self, inst_id: str) -> asyncio.Lock:
        return self._locks.setdefault(inst_id, asyncio.Lock())

    def on_refused(self, rejection: OrderRejection) -> None:
        """An order was refused: tell the plugins (the circuit breaker counts these)."""
        if rejection.inst_id in self.specs:
            self.dispatch.on_order_rejected(rejection, self.context(rejection.inst_id))


def _crossed(side: PositionSide, stop: Decimal, tick: Tick) -> bool:
    """Whether the tick is at or through the stop (the bid for a long, the ask for a short)."""
    return tick.bid <= stop if side is PositionSide.LONG else tick.ask >= stop
