"""The exit desk: one ``on_tick_exit`` call per tick and instrument, stops that tighten, one close.

A plugin's close beats any stop; a stop is rounded toward the market and may only tighten; a
tick through the current stop closes the position even when no plugin says so (the client-side
half of the protection; :mod:`host.engine.protection` keeps the exchange-side half). A close is
claimed in the registry first, so racing callers can never send two. The desk owns the close
order of each position until its close is journaled (its average price is the exit price).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

from host.context import HookContext
from host.dispatch import Close, MoveStop
from host.domain import InstrumentSpec, Order, OrderState, Position, PositionSide, Tick
from host.engine.execution import Executor, Sent, TrackedOrder
from host.engine.orders import OrderTracker
from host.engine.protection import ExchangeStops
from host.engine.services import EngineServices
from host.exchange.errors import NO_POSITION_CODES
from host.journal.records import IntentPurpose, StopMove
from host.registry import PositionRegistry, RegistryError


class ExitDesk:
    """Turns exit decisions into stop moves and closes; owns each position's close order."""

    def __init__(
        self,
        services: EngineServices,
        specs: Mapping[str, InstrumentSpec],
        registry: PositionRegistry,
        orders: OrderTracker,
        protection: ExchangeStops,
        executor: Executor,
        confirm_positions: Callable[[], Awaitable[None]],
    ) -> None:
        self._specs = specs
        self._registry = registry
        self._orders = orders
        self._protection = protection
        self._executor = executor
        self._services = services
        self._confirm_positions = confirm_positions
        self._close_orders: dict[str, TrackedOrder] = {}
        self._held: dict[str, Tick] = {}
        """Per instrument, the latest tick its exits did not judge (its drift was resolved)."""

    def hold(self, tick: Tick) -> None:
        """Keep the latest tick of an instrument whose exits wait (a drift is being resolved)."""
        self._held[tick.inst_id] = tick

    def resume(self, inst_id: str, positions: tuple[Position, ...], ctx: HookContext) -> None:
        """The instrument's exits may act again: judge the latest tick they missed, if any."""
        tick = self._held.pop(inst_id, None)
        if tick is not None and positions:
            self.on_tick(tick, positions, ctx)

    def on_tick(self, tick: Tick, positions: tuple[Position, ...], ctx: HookContext) -> None:
        """Ask the exit plugins once about the instrument's positions; act on their answers."""
        decisions = self._services.dispatch.on_tick_exit(tick, positions, ctx)
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
        spec = self._specs[position.inst_id]
        level = spec.protective_stop(position.side, decision.price)
        try:
            moved = self._registry.set_stop(position.pos_id, level)
        except RegistryError:
            return position  # rounding toward the market never loosens; a racing update might
        self._services.journal.write(
            StopMove(
                position.pos_id, level, decision.plugin, decision.reason, self._services.clock.now()
            )
        )
        self._protection.mark_to_move(position.pos_id)
        return moved

    def close(self, position: Position, reason: str) -> None:
        """Close ``position`` at the market, once: a second caller is refused by the registry."""
        if not self._registry.claim_close(position.pos_id):
            return
        order = Order(
            cl_ord_id=self._executor.ids.next("x", position.pos_id),
            inst_id=position.inst_id,
            side=position.side.entry_side.opposite,
            size=position.size,
            price=None,
            created_at=self._services.clock.now(),
            reduce_only=True,
        )
        tracked = TrackedOrder(
            order, IntentPurpose.CLOSE, reason, pos_id=position.pos_id, market=True
        )
        self._orders.track(tracked)
        self._close_orders[position.pos_id] = tracked
        self._services.tasks.spawn(self._send_close(tracked))

    async def _send_close(self, tracked: TrackedOrder) -> None:
        """Send a close; if no push settles it soon, it is looked up by its ``clOrdId``."""
        sent = await self._executor.send(tracked)
        if sent is Sent.REFUSED and tracked.refusal in NO_POSITION_CODES:
            self._services.tasks.spawn(self._close_refused_for_no_position(tracked))
        elif sent in (Sent.REFUSED, Sent.UNJOURNALED):  # the next decision may close again
            self.close_ended(tracked)
        else:
            self._orders.settle_after(tracked)

    async def _close_refused_for_no_position(self, tracked: TrackedOrder) -> None:
        """OKX has no position to close: ask it what it holds before any other close is sent.

        Releasing the claim at once would have every following tick send another close of a
        position that is gone (nine refusals in 1.2 s were seen); the claim is kept until the
        exchange's positions are read, which settles a position that is gone and leaves one
        that is really open closable again.
        """
        try:
            await self._confirm_positions()
        finally:
            self.close_ended(tracked)

    def close_ended(self, tracked: TrackedOrder) -> None:
        """A close order is over (refused, canceled, filled or not found): forget it.

        One that did not fill completely leaves its position open: the claim is released so a
        later decision may close the rest. A filled one keeps the claim until the exchange
        reports the position flat, or smaller (see :meth:`close_fell_short`).
        """
        self._orders.forget(tracked)
        order = tracked.order
        if order.state is OrderState.FILLED and order.filled_size >= order.size:
            return
        self._release_close(tracked)

    def close_fell_short(self, pos_id: str) -> None:
        """Release the claim of a position still open after its close filled.

        Its size was stale (the exchange added to it): the rest must be closable.
        """
        tracked = self._close_orders.get(pos_id)
        if tracked is not None and tracked.finished.is_set():
            self._release_close(tracked)

    def take_close_order(self, pos_id: str) -> TrackedOrder | None:
        """The close order of a position the exchange reports flat, if the host sent one."""
        return self._close_orders.pop(pos_id, None)

    def _release_close(self, tracked: TrackedOrder) -> None:
        pos_id = tracked.pos_id
        if pos_id is not None and self._registry.get(pos_id) is not None:
            if self._close_orders.get(pos_id) is tracked:
                del self._close_orders[pos_id]
            self._registry.release_close(pos_id)


def _crossed(side: PositionSide, stop: Decimal, tick: Tick) -> bool:
    """Whether the tick is at or through the stop (the bid for a long, the ask for a short)."""
    return tick.bid <= stop if side is PositionSide.LONG else tick.ask >= stop
