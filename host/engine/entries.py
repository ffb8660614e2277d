"""Entries: signal → veto → plan → size → resting limit order under its time-to-live."""

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
from host.engine.execution import Sent, TrackedOrder
from host.engine.exits import ExitFlow
from host.journal.records import (
    BreakerTrip,
    IntentPurpose,
    SignalRecord,
)

_log = logging.getLogger(__name__)

SETTLE_AFTER_SECONDS = 5.0
"""Grace after which an order no push has settled is looked up by its ``clOrdId``."""


class EntryFlow(ExitFlow):
    """Decides and sends entries; carries out the limit-order policy at time-out."""

    # --- entries ------------------------------------------------------------------------------

    def _may_enter(self, inst_id: str, tick: Tick) -> bool:
        if not self.accepting_entries or not self.gate.may_enter(inst_id):
            return False
        if self.registry.for_instrument(inst_id):
            return False
        held = len(self.registry.positions()) + self.gate.entries_in_flight()
        if held >= self.settings.max_open_positions:
            return False
        age = self.clock.now() - tick.ts
        return age <= timedelta(seconds=self.settings.stale_market_seconds)

    def _consider(self, signal: Signal, tick: Tick, ctx: HookContext) -> None:
        self.stats.signals += 1
        verdict = self.dispatch.on_signal(signal, ctx)
        vetoed_by = ", ".join(plugin for plugin, _ in verdict.vetoes) or None
        reasons = "; ".join(reason for _, reason in verdict.vetoes) or None
        self.journal.write(SignalRecord(signal, ctx.regime, vetoed_by, reasons))
        self._note_blocking(verdict.vetoes, ctx)
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
        tracked = TrackedOrder(
            order,
            IntentPurpose.ENTRY,
            f"{signal.source}: {signal.reason}",
            signal=signal,
            regime=ctx.regime,
        )
        self.orders[order.cl_ord_id] = tracked
        self.gate.begin_entry(spec.inst_id)
        self.stats.entries_sent += 1
        _log.info("%s: entry %s %s @ %s (%s)", spec.inst_id, side, size, price, tracked.reason)
        self.spawn(self._send_entry(tracked))

    def _note_blocking(self, vetoes: tuple[tuple[str, str], ...], ctx: HookContext) -> None:
        """Journal a trip when a plugin starts blocking entries (a circuit breaker opening).

        Every veto is in the signals table already; a trip marks where a run of vetoes from one
        plugin begins, so a post-mortem finds when entries stopped and why without scanning
        every signal. A plugin's run ends at the first signal it lets through.
        """
        blocking = dict(vetoes)
        for plugin, reason in blocking.items():
            if plugin not in self._blocking:
                self.journal.write(BreakerTrip(ctx.now, plugin, reason))
        self._blocking = set(blocking)

    def _entry_size(self, spec: InstrumentSpec, price: Decimal) -> Decimal:
        """Contracts worth ``entry_notional_usdt``, capped by the notional limits."""
        budget = min(
            self.settings.entry_notional_usdt,
            self.settings.max_order_notional_usdt,
            self.settings.max_instrument_notional_usdt,
        )
        return spec.order_size(budget / (spec.contract_size * price))

    async def _send_entry(self, tracked: TrackedOrder) -> None:
        """Send an entry; its time-to-live starts when OKX acknowledges it (the hook contract).

        An entry whose outcome stayed unknown is looked up by ``clOrdId`` shortly after; one
        that rests is also looked up if no push settled it by its expiry (pushes can be lost).
        """
        sent = await self.executor.send(tracked)
        if sent is Sent.REFUSED:
            self._entry_done(tracked)
            return
        if sent is Sent.UNKNOWN or tracked.market:  # nothing rests: only settle if no push comes
            tracked.settle_at = self.clock.monotonic() + SETTLE_AFTER_SECONDS
            return
        self._start_wait(tracked)

    def _start_wait(self, tracked: TrackedOrder) -> None:
        """Ask the policy how long the resting entry may wait, and start counting."""
        ttl = self.dispatch.limit_order_ttl(tracked.order, self.context(tracked.order.inst_id))
        tracked.expires_at = self.clock.now() + ttl
        tracked.settle_at = self.clock.monotonic() + ttl.total_seconds() + SETTLE_AFTER_SECONDS

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
            self.gate.end_entry(inst_id)
            self._position_waiters.pop(inst_id, None)

    def _expire_entries(self, inst_id: str, tick: Tick, ctx: HookContext) -> None:
        """Time-outs of the instrument's resting entries, partly filled ones included."""
        if not self.orders:
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
        self.stats.entries_expired += 1
        if isinstance(action, RepriceOrder) and order.ord_id is not None:
            price = ctx.instrument.entry_limit_price(order.side, action.price)
            if await self.api.amend_order(order.inst_id, order.ord_id, price):
                tracked.order = replace(order, price=price)
                ttl = self.dispatch.limit_order_ttl(tracked.order, self.context(order.inst_id))
                tracked.expires_at = self.clock.now() + ttl
                tracked.settle_at = (
                    self.clock.monotonic() + ttl.total_seconds() + SETTLE_AFTER_SECONDS
                )
                tracked.reprices += 1
            return
        tracked.expires_at = None  # no second time-out for an order being canceled
        found = await self.executor.cancel(order)
        if found is not None and found.state.is_terminal:
            tracked.settle_at = self.clock.monotonic()  # it filled first: settle it from OKX
            return
        remaining = tracked.order.size - tracked.order.filled_size  # after the await: current
        if isinstance(action, CancelOrder) or remaining <= 0 or not self.accepting_entries:
            return  # the canceled push frees the instrument
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
        self.gate.begin_entry(order.inst_id)
        await self._send_entry(crossing)
