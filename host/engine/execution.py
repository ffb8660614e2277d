"""Sending orders: every intent is journaled durably *before* it goes out, every outcome after.

The executor owns the order protocol and nothing else: the engine decides, the executor sends and
records. Its rule is the one that makes a crash survivable: an order exists in the journal (with
its ``clOrdId``) before it can exist on the exchange, so a restart can always ask OKX what became
of it. Outcomes are written as they are learnt — acknowledged, rejected, not placed, or unknown
(the reply was lost and even the lookups failed; the next reconciliation settles it).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum

from host.clock import Clock
from host.domain import Fill, Order, OrderRejection, Position, Regime, Signal
from host.exchange.api import OkxApi, OrderNotPlaced
from host.exchange.errors import POSITION_GONE_CODE, AmbiguousOutcome, OkxError
from host.exchange.orders import (
    ClientOrderIds,
    OrderRequest,
    OrderType,
    StopRequest,
    TriggerPriceType,
)
from host.journal import Journal
from host.journal.records import IntentOutcome, IntentPurpose, OrderIntent, Outcome

_log = logging.getLogger(__name__)


class Sent(Enum):
    """What became of one order request."""

    ACKED = "acked"
    REFUSED = "refused"
    UNKNOWN = "unknown"
    UNJOURNALED = "unjournaled"
    """Not sent: its intent could not be journaled (a full disk); no order goes out unrecorded."""


@dataclass(slots=True)
class TrackedOrder:
    """One of the host's own orders while it can still change.

    ``expires_at`` is when a resting entry's time-to-live runs out (on the injected clock);
    ``reprices`` counts how often the limit-order policy moved it. ``fills`` are this order's
    executions so far, by ``tradeId``.
    """

    order: Order
    purpose: IntentPurpose
    reason: str
    pos_id: str | None = None
    signal: Signal | None = None
    regime: Regime | None = None
    expires_at: datetime | None = None
    reprices: int = 0
    expiring: bool = False
    market: bool = False
    fills: dict[str, Fill] = field(default_factory=dict)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the exchange reports the order filled or canceled."""
    applying: list[asyncio.Task[object]] = field(default_factory=list)
    """The tasks applying its fills (journal, registry, ``on_fill``)."""
    settle_at: float | None = None
    """When (clock's monotonic seconds) to ask OKX for the order if no push has settled it."""
    settling: bool = False
    refusal: str | None = None
    """OKX's code when the order was refused (``not-placed`` when it never reached OKX)."""


@dataclass(slots=True)
class OrderCounts:
    """What the executor sent and what came of it, for the metrics (read at scrape time)."""

    sent: int = 0
    acknowledged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """Refused orders by OKX's code (``not-placed``: the order never reached OKX)."""
    unknown: int = 0
    """Orders whose outcome was unknown when sent (looked up afterwards)."""
    stops_placed: int = 0
    stops_moved: int = 0
    stops_refused: int = 0
    """Exchange-side stops OKX would not place or move."""


class Executor:
    """Journals and sends orders and exchange-side stops; reports refusals to ``on_refused``."""

    def __init__(
        self,
        api: OkxApi,
        journal: Journal,
        clock: Clock,
        ids: ClientOrderIds,
        margin_mode: str,
        on_refused: Callable[[OrderRejection], None],
    ) -> None:
        self._api = api
        self._journal = journal
        self._clock = clock
        self.ids = ids
        self._margin_mode = margin_mode
        self._on_refused = on_refused
        self.counts = OrderCounts()

    async def send(self, tracked: TrackedOrder) -> Sent:
        """Journal the intent durably, place the order, journal what came of it."""
        order = tracked.order
        try:
            await self._journal.commit(
                OrderIntent(order, tracked.purpose, tracked.reason, tracked.pos_id)
            )
        except sqlite3.Error as failure:
            _log.error(
                "%s %s not sent: the journal cannot record its intent (%s); exchange-side "
                "stops keep protecting open positions, and the host tries again",
                tracked.purpose.value,
                order.cl_ord_id,
                failure,
            )
            return Sent.UNJOURNALED
        request = OrderRequest(
            inst_id=order.inst_id,
            cl_ord_id=order.cl_ord_id,
            side=order.side,
            order_type=_order_type(tracked),
            size=order.size,
            price=None if tracked.market else order.price,
            reduce_only=order.reduce_only,
            td_mode=self._margin_mode,
        )
        self.counts.sent += 1
        try:
            ack = await self._api.place_order(request)
        except OrderNotPlaced:
            self._outcome(order, Outcome.RESOLVED, detail="never placed (reply lost, not found)")
            tracked.refusal = "not-placed"
            self._refused(order, "not-placed", "reply lost and the order was not found")
            return Sent.REFUSED
        except AmbiguousOutcome as unknown:
            self.counts.unknown += 1
            self._outcome(order, Outcome.UNKNOWN, detail=str(unknown))
            return Sent.UNKNOWN
        except OkxError as refused:
            self._outcome(order, Outcome.REJECTED, detail=f"{refused.code} {refused.message}")
            tracked.refusal = refused.code
            self._refused(order, refused.code, refused.message)
            return Sent.REFUSED
        self.counts.acknowledged += 1
        self._outcome(order, Outcome.ACKED, ord_id=ack.ord_id)
        if tracked.order.ord_id is None:  # the ack may beat the order's first push
            tracked.order = replace(tracked.order, ord_id=ack.ord_id)
        return Sent.ACKED

    async def cancel(self, order: Order) -> Order | None:
        """Cancel a resting order; when the cancel lost a race, the order as found (a fill kept)."""
        outcome = await self._api.cancel_order(
            order.inst_id, ord_id=order.ord_id, cl_ord_id=order.cl_ord_id
        )
        return outcome.order

    async def place_stop(self, position: Position, level: Decimal) -> str | None:
        """Back ``position`` with a stop on the exchange at ``level``; its ``algoId`` or None."""
        request = StopRequest(
            inst_id=position.inst_id,
            algo_cl_ord_id=self.ids.next("s", position.pos_id),
            side=position.side.entry_side.opposite,
            trigger_price=level,
            trigger_price_type=TriggerPriceType.MARK,
            td_mode=self._margin_mode,
        )
        try:
            ack = await self._api.place_stop(request)
        except OkxError as failed:
            if failed.code == POSITION_GONE_CODE:  # gone, or not yet updated after a fill
                _log.info(
                    "%s: no position on the exchange for its stop (51023): closed meanwhile, or "
                    "not updated yet after its fill; the positions update protects it if open",
                    position.pos_id,
                )
            else:
                _log.error("%s: exchange-side stop refused: %s", position.pos_id, failed)
            self.counts.stops_refused += 1
            return None
        self.counts.stops_placed += 1
        return ack.algo_id

    async def move_stop(self, inst_id: str, algo_id: str, level: Decimal) -> bool:
        """Move an exchange-side stop; False if OKX refused (the client-side stop still holds)."""
        try:
            await self._api.amend_stop(inst_id, algo_id, level)
        except OkxError as failed:
            _log.warning("%s: moving the exchange-side stop failed: %s", algo_id, failed)
            self.counts.stops_refused += 1
            return False
        self.counts.stops_moved += 1
        return True

    async def cancel_stop(self, inst_id: str, algo_id: str) -> None:
        """Cancel an exchange-side stop that has nothing left to protect."""
        try:
            await self._api.cancel_stops([(inst_id, algo_id)])
        except OkxError as failed:
            _log.info("%s: exchange-side stop not canceled (%s)", algo_id, failed)

    def _outcome(
        self, order: Order, outcome: Outcome, *, ord_id: str | None = None, detail: str = ""
    ) -> None:
        self._journal.write(
            IntentOutcome(order.cl_ord_id, outcome, self._clock.now(), ord_id=ord_id, detail=detail)
        )

    def _refused(self, order: Order, code: str, message: str) -> None:
        self.counts.rejected[code] += 1
        rejection = OrderRejection(order.inst_id, order.cl_ord_id, self._clock.now(), code, message)
        self._on_refused(rejection)


def _order_type(tracked: TrackedOrder) -> OrderType:
    if tracked.market:
        return OrderType.MARKET
    return OrderType.POST_ONLY if tracked.order.post_only else OrderType.LIMIT
