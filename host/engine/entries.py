"""The entry desk: signal → veto → plan → size → resting limit order under its time-to-live.

It owns what only entries need: whether entries are accepted at all (a shutdown stops them), which
plugins are blocking them (a trip is journaled where a run of vetoes starts) and the dead man's
switch that has OKX cancel the resting entries if the host stops. Whether an instrument is free
for an entry is the :class:`~host.engine.gate.InstrumentGate`'s to say; the entry's orders are
followed by the :class:`~host.engine.orders.OrderTracker`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from host.context import HookContext
from host.decisions import CancelOrder, CrossSpread, RepriceOrder
from host.domain import (
    InstrumentSpec,
    Order,
    OrderSizeError,
    OrderState,
    Signal,
    Tick,
)
from host.engine.execution import Executor, Sent, TrackedOrder
from host.engine.gate import InstrumentGate
from host.engine.orders import SETTLE_GRACE_SECONDS, OrderTracker
from host.engine.positions import PositionKeeper
from host.engine.services import EngineServices
from host.engine.view import MarketView
from host.exchange.api import OkxApi
from host.journal.records import (
    BreakerTrip,
    IntentPurpose,
    SignalRecord,
)
from host.notify.events import breaker_trip_event
from host.registry import PositionRegistry

_log = logging.getLogger(__name__)


class EntryDesk:
    """Decides and sends entries; carries out the limit-order policy at time-out."""

    def __init__(
        self,
        services: EngineServices,
        registry: PositionRegistry,
        gate: InstrumentGate,
        orders: OrderTracker,
        positions: PositionKeeper,
        market: MarketView,
        executor: Executor,
        api: OkxApi,
    ) -> None:
        self._services = services
        self._registry = registry
        self._gate = gate
        self._orders = orders
        self._positions = positions
        self._market = market
        self._executor = executor
        self._api = api
        self._accepting = True
        self._blocking: set[str] = set()
        """Plugins whose vetoes blocked the last signal (a trip is journaled when one starts)."""
        self.last_trip: BreakerTrip | None = None
        """The latest trip journaled (the status page shows it)."""
        self._next_dead_man = 0.0

    def on_tick(self, tick: Tick, ctx: HookContext) -> None:
        """Time out the instrument's resting entries; if it is free, ask for signals."""
        inst_id = tick.inst_id
        self._expire_entries(inst_id, tick, ctx)
        if self._may_enter(inst_id, tick):
            for signal in self._services.dispatch.generate_signals(tick, ctx):
                self._consider(signal, tick, ctx)
                if self._gate.entering(inst_id):
                    break

    @property
    def blocking(self) -> frozenset[str]:
        """The plugins whose vetoes blocked the last signal: the breakers open as of then."""
        return frozenset(self._blocking)

    def stop(self) -> None:
        """Take no new entry from now on (a shutdown); a time-out no longer crosses."""
        self._accepting = False

    def keep_alive(self) -> None:
        """Re-arm the dead man's switch (called while ticks flow).

        If the host or its market data stops, OKX cancels the resting entries by itself.
        """
        now = self._services.clock.monotonic()
        dead_man = self._services.settings.dead_man_seconds
        if dead_man and now >= self._next_dead_man:
            self._next_dead_man = now + dead_man / 3
            self._services.tasks.spawn(self._api.cancel_all_after(dead_man))

    def _may_enter(self, inst_id: str, tick: Tick) -> bool:
        if not self._accepting or not self._gate.may_enter(inst_id):
            return False
        if self._registry.for_instrument(inst_id):
            return False
        held = len(self._registry.positions()) + self._gate.entries_in_flight()
        if held >= self._services.settings.max_open_positions:
            return False
        age = self._services.clock.now() - tick.ts
        return age <= timedelta(seconds=self._services.settings.stale_market_seconds)

    def _consider(self, signal: Signal, tick: Tick, ctx: HookContext) -> None:
        self._services.stats.signals += 1
        verdict = self._services.dispatch.on_signal(signal, ctx)
        vetoed_by = ", ".join(plugin for plugin, _ in verdict.vetoes) or None
        reasons = "; ".join(reason for _, reason in verdict.vetoes) or None
        self._services.journal.write(SignalRecord(signal, ctx.regime, vetoed_by, reasons))
        self._note_blocking(verdict.vetoes, ctx)
        if not verdict.allowed:
            self._services.stats.vetoed += 1
            return
        plan = self._services.dispatch.plan_entry(signal, tick, ctx)
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
            cl_ord_id=self._executor.ids.next("e", signal.source),
            inst_id=spec.inst_id,
            side=side,
            size=size,
            price=price,
            created_at=ctx.now,
            post_only=plan.post_only,
        )
        tracked = TrackedOrder(
            order,
            IntentPurpose.ENTRY,
            f"{signal.source}: {signal.reason}",
            signal=signal,
            regime=ctx.regime,
        )
        self._orders.track(tracked)
        self._gate.begin_entry(spec.inst_id)
        self._services.stats.entries_sent += 1
        _log.info("%s: entry %s %s @ %s (%s)", spec.inst_id, side, size, price, tracked.reason)
        self._services.tasks.spawn(self._send_entry(tracked))

    def _note_blocking(self, vetoes: tuple[tuple[str, str], ...], ctx: HookContext) -> None:
        """Journal a trip when a plugin starts blocking entries (a circuit breaker opening).

        Every veto is in the signals table already; a trip marks where a run of vetoes from one
        plugin begins, so a post-mortem finds when entries stopped and why without scanning
        every signal. A plugin's run ends at the first signal it lets through.
        """
        blocking = dict(vetoes)
        for plugin, reason in blocking.items():
            if plugin not in self._blocking:
                self.last_trip = BreakerTrip(ctx.now, plugin, reason)
                self._services.journal.write(self.last_trip)
                self._services.notifier.emit(breaker_trip_event, ctx.now, plugin, reason)
        self._blocking = set(blocking)

    def _entry_size(self, spec: InstrumentSpec, price: Decimal) -> Decimal:
        """Contracts worth ``entry_notional_usdt``, capped by the notional limits."""
        budget = min(
            self._services.settings.entry_notional_usdt,
            self._services.settings.max_order_notional_usdt,
            self._services.settings.max_instrument_notional_usdt,
        )
        return spec.order_size(budget / (spec.contract_size * price))

    async def _send_entry(self, tracked: TrackedOrder) -> None:
        """Send an entry; its time-to-live starts when OKX acknowledges it (the hook contract).

        An entry whose outcome stayed unknown is looked up by ``clOrdId`` shortly after; one
        that rests is also looked up if no push settled it by its expiry (pushes can be lost).
        """
        sent = await self._executor.send(tracked)
        if sent in (Sent.REFUSED, Sent.UNJOURNALED):
            self.entry_done(tracked)
            return
        if sent is Sent.UNKNOWN or tracked.market:  # nothing rests: only settle if no push comes
            self._orders.settle_after(tracked)
            return
        self._start_wait(tracked)

    def _start_wait(self, tracked: TrackedOrder) -> None:
        """Ask the policy how long the resting entry may wait, and start counting.

        Once it is acknowledged, and again after each reprice. If no push has settled the order
        by its expiry (pushes can be lost), it is looked up shortly after.
        """
        order = tracked.order
        ttl = self._services.dispatch.limit_order_ttl(order, self._market.context(order.inst_id))
        tracked.expires_at = self._services.clock.now() + ttl
        self._orders.settle_after(tracked, ttl.total_seconds() + SETTLE_GRACE_SECONDS)

    def entry_done(self, tracked: TrackedOrder) -> None:
        """An entry ended without a fill: free its instrument, unless a follow-up is in flight.

        A time-out that reprices or crosses sends a new order before the old one's cancel is
        confirmed; the instrument stays taken until the last of them is done.
        """
        self._orders.forget(tracked)
        inst_id = tracked.order.inst_id
        if not self._orders.entries(inst_id):
            self._positions.entry_over(inst_id)

    def _expire_entries(self, inst_id: str, tick: Tick, ctx: HookContext) -> None:
        """Time-outs of the instrument's resting entries, partly filled ones included."""
        for tracked in self._orders.entries(inst_id):
            if (
                tracked.expires_at is not None
                and ctx.now >= tracked.expires_at
                and not tracked.expiring
                and tracked.order.ord_id is not None
            ):
                tracked.expiring = True
                action = self._services.dispatch.on_limit_expired(tracked.order, tick, ctx)
                self._services.tasks.spawn(self._expire(tracked, action, ctx))

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
        try:
            await self._carry_out(tracked, action, ctx)
        finally:
            tracked.expiring = False  # a failed cancel or amend is tried again at the next tick

    async def _carry_out(
        self,
        tracked: TrackedOrder,
        action: CancelOrder | RepriceOrder | CrossSpread,
        ctx: HookContext,
    ) -> None:
        order = tracked.order
        self._services.stats.entries_expired += 1
        if isinstance(action, RepriceOrder) and order.ord_id is not None:
            price = ctx.instrument.entry_limit_price(order.side, action.price)
            if await self._api.amend_order(order.inst_id, order.ord_id, price):
                tracked.order = replace(order, price=price)
                self._start_wait(tracked)
                tracked.reprices += 1
            return
        tracked.expires_at = None  # no second time-out for an order being canceled
        found = await self._executor.cancel(order)
        if found is not None and found.state.is_terminal:
            self._orders.settle_after(tracked, 0.0)  # it filled first: settle it from OKX
            return
        remaining = tracked.order.size - tracked.order.filled_size  # after the await: current
        if isinstance(action, CancelOrder) or remaining <= 0 or not self._accepting:
            return  # the canceled push frees the instrument
        crossing = TrackedOrder(
            replace(
                order,
                cl_ord_id=self._executor.ids.next("e", "cross"),
                size=remaining,
                price=None,
                created_at=self._services.clock.now(),
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
        self._orders.track(crossing)
        self._gate.begin_entry(order.inst_id)
        await self._send_entry(crossing)
