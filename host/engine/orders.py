"""The order tracker: the host's own orders by ``clOrdId`` while they can still change.

An entry or close is tracked from the moment it is decided until the exchange reports it done.
Pushes can be lost and replies can go missing, so every tracked order also carries a deadline
after which it is looked up by its ``clOrdId`` (:meth:`OrderTracker.settle`): what OKX says of it
is then applied exactly as a push would be, through the routes the engine hands in. Not found
means never placed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from host.clock import Clock
from host.domain import Fill, Order
from host.engine.execution import TrackedOrder
from host.engine.tasks import EngineTasks
from host.exchange.api import OkxApi
from host.exchange.events import OrderPush
from host.journal import Journal
from host.journal.records import IntentOutcome, IntentPurpose, Outcome

SETTLE_GRACE_SECONDS = 5.0
"""Grace after which an order no push has settled is looked up by its ``clOrdId``."""

SETTLE_RETRY_SECONDS = 10.0
"""Between two lookups of an order that is still open on the exchange."""


class OrderTracker:
    """Own orders in flight, and their settling by ``clOrdId`` when no push says what happened."""

    def __init__(
        self,
        api: OkxApi,
        journal: Journal,
        clock: Clock,
        tasks: EngineTasks,
        *,
        on_order: Callable[[OrderPush], None],
        on_fill: Callable[[Fill], None],
        on_gone: Callable[[TrackedOrder], None],
    ) -> None:
        """Follow nothing yet; route what lookups learn through the engine's own routes.

        ``on_order`` and ``on_fill`` take what a lookup found as a push would bring it;
        ``on_gone`` an order OKX never placed.
        """
        self._api = api
        self._journal = journal
        self._clock = clock
        self._tasks = tasks
        self._on_order = on_order
        self._on_fill = on_fill
        self._on_gone = on_gone
        self._orders: dict[str, TrackedOrder] = {}

    # --- the orders -----------------------------------------------------------------------------

    def track(self, tracked: TrackedOrder) -> None:
        """Follow a new order (before it is sent: its pushes may beat the reply)."""
        self._orders[tracked.order.cl_ord_id] = tracked

    def get(self, cl_ord_id: str) -> TrackedOrder | None:
        """The tracked order with ``cl_ord_id``, or ``None`` (not ours, or done)."""
        return self._orders.get(cl_ord_id)

    def update(self, order: Order) -> TrackedOrder | None:
        """Take the exchange's latest version of an own order; the tracked order, if any."""
        tracked = self._orders.get(order.cl_ord_id)
        if tracked is not None:
            tracked.order = order
        return tracked

    def finish(self, tracked: TrackedOrder) -> None:
        """The exchange reports the order filled or canceled: wake its waiters, forget it."""
        tracked.finished.set()
        self.forget(tracked)

    def forget(self, tracked: TrackedOrder) -> None:
        """Stop following an order."""
        self._orders.pop(tracked.order.cl_ord_id, None)

    def open(self) -> tuple[TrackedOrder, ...]:
        """Every order still followed, oldest first."""
        return tuple(self._orders.values())

    def entries(self, inst_id: str | None = None) -> tuple[TrackedOrder, ...]:
        """The entries still followed, of one instrument or of all."""
        if not self._orders:  # asked on every tick
            return ()
        return tuple(
            tracked
            for tracked in self._orders.values()
            if tracked.purpose is IntentPurpose.ENTRY
            and (inst_id is None or tracked.order.inst_id == inst_id)
        )

    # --- settling -------------------------------------------------------------------------------

    def settle_after(self, tracked: TrackedOrder, seconds: float = SETTLE_GRACE_SECONDS) -> None:
        """Look the order up if no push has settled it ``seconds`` from now."""
        tracked.settle_at = self._clock.monotonic() + seconds

    def settle_due(self) -> None:
        """Look up every order whose settle time has come (a chore)."""
        if not self._orders:  # called on every tick: nothing to copy when nothing is followed
            return
        now = self._clock.monotonic()
        for tracked in list(self._orders.values()):
            if tracked.settle_at is not None and now >= tracked.settle_at:
                self.settle(tracked)

    def settle_unlisted(self, listed: Iterable[str], taken_at: datetime) -> None:
        """After a reconnect: look up the orders a snapshot taken at ``taken_at`` no longer lists.

        ``listed`` are the ``clOrdId``s the exchange still shows open; an order created before
        the snapshot and not among them finished while the socket was down.
        """
        still_open = set(listed)
        for cl_ord_id, tracked in list(self._orders.items()):
            if tracked.order.created_at < taken_at and cl_ord_id not in still_open:
                self.settle(tracked)

    def settle(self, tracked: TrackedOrder) -> None:
        """Look the order up by its ``clOrdId`` (once at a time) to learn what no push said."""
        if not tracked.settling:
            tracked.settling = True
            self._tasks.spawn(self._settle(tracked))

    async def _settle(self, tracked: TrackedOrder) -> None:
        """Apply what OKX says of an order: its fills, its state, or that it never existed.

        The fallback for every lost message: an order of unknown outcome, a close or entry
        whose pushes never came. Not found means never placed: an entry frees its instrument,
        a close its claim (the position can be closed again).
        """
        order = tracked.order
        try:
            found = await self._api.get_order(order.inst_id, cl_ord_id=order.cl_ord_id)
            if found is None:
                self._journal.write(
                    IntentOutcome(
                        order.cl_ord_id,
                        Outcome.RESOLVED,
                        self._clock.now(),
                        detail="not found on the exchange",
                    )
                )
                self.forget(tracked)
                self._on_gone(tracked)
                return
            if found.order.filled_size > 0:
                for fill in reversed(await self._api.fills(order.inst_id)):
                    if fill.cl_ord_id == order.cl_ord_id:
                        self._on_fill(fill)
            self._on_order(replace(found, fill=None))
        finally:
            tracked.settling = False
            if tracked.settle_at is not None:  # still open: ask again later if nothing comes
                self.settle_after(tracked, SETTLE_RETRY_SECONDS)
