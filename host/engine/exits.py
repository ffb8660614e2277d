"""Exits: one ``on_tick_exit`` call per tick per instrument, stops that only tighten, one close.

A plugin's close beats any stop; a stop is rounded toward the market and may only tighten; a
tick through the current stop closes the position even when no plugin says so (the client-side
half of the protection; the exchange-side stop is the other). A close is claimed in the registry
first, so racing callers can never send two.
"""

from __future__ import annotations

from decimal import Decimal

from host.context import HookContext
from host.dispatch import Close, MoveStop
from host.domain import (
    Order,
    OrderState,
    Position,
    PositionSide,
    Tick,
)
from host.engine.execution import Sent, TrackedOrder
from host.engine.state import EngineState
from host.journal.records import (
    IntentPurpose,
    StopMove,
)
from host.registry import RegistryError

CLOSE_SETTLE_SECONDS = 5.0
"""Grace after which a close no push has settled is looked up by its ``clOrdId``."""


class ExitFlow(EngineState):
    """Turns exit decisions into stop moves and closes."""

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
        """Send a close; if no push settles it soon, it is looked up by its ``clOrdId``."""
        sent = await self.executor.send(tracked)
        if sent is Sent.REFUSED:
            self.close_ended(tracked)
        else:
            tracked.settle_at = self.clock.monotonic() + CLOSE_SETTLE_SECONDS

    def close_ended(self, tracked: TrackedOrder) -> None:
        """A close order is over (refused, canceled, filled or not found): forget it.

        One that did not fill completely leaves its position open: the claim is released so a
        later decision may close the rest. A filled one keeps the claim until the exchange
        reports the position flat, or smaller (see :meth:`_close_fell_short`).
        """
        self.orders.pop(tracked.order.cl_ord_id, None)
        order = tracked.order
        if order.state is OrderState.FILLED and order.filled_size >= order.size:
            return
        self._release_close(tracked)

    def _close_fell_short(self, pos_id: str) -> None:
        """Release the claim of a position still open after its close filled.

        Its size was stale (the exchange added to it): the rest must be closable.
        """
        tracked = self._close_orders.get(pos_id)
        if tracked is not None and tracked.finished.is_set():
            self._release_close(tracked)

    def _release_close(self, tracked: TrackedOrder) -> None:
        pos_id = tracked.pos_id
        if pos_id is not None and self.registry.get(pos_id) is not None:
            if self._close_orders.get(pos_id) is tracked:
                del self._close_orders[pos_id]
            self.registry.release_close(pos_id)

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


def _crossed(side: PositionSide, stop: Decimal, tick: Tick) -> bool:
    """Whether the tick is at or through the stop (the bid for a long, the ask for a short)."""
    return tick.bid <= stop if side is PositionSide.LONG else tick.ask >= stop
