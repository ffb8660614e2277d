"""Fills: own executions journaled, their positions found, protected and announced.

OKX does not order its channels, so an entry's position may show on the positions channel
before its fill on the orders channel; either way the position is claimed for the entry (not
taken for a stranger), journaled, tracked with its initial stop, and only then is ``on_fill``
called. The other way round, a close's fill may come before the positions push that shows the
position smaller or flat: ``on_fill`` is still handed the position *after* the fill
(:func:`position_after`), never the registry's older version.

The host's own orders are its entries, its closes and its exchange-side stops: a stop's fill
reaches ``on_fill`` too (an exit plugin or a breaker must see every fill of its position).
Liquidations and orders placed outside the host are journaled only; their effect reaches the
plugins as a drift or a close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from host.domain import (
    Fill,
    Position,
    PositionOrigin,
    PositionSide,
)
from host.engine.entries import EntryFlow
from host.engine.execution import TrackedOrder
from host.exchange.events import (
    OrderPush,
    PositionReport,
)
from host.journal.records import (
    ErrorEvent,
    IntentPurpose,
    PositionOpened,
)

_log = logging.getLogger(__name__)

HOST = "host"
"""Who set a stop the host chose itself (the initial stop of an own entry)."""


class FillFlow(EntryFlow):
    """Applies order pushes and fills."""

    # --- orders and fills ---------------------------------------------------------------------

    def _on_order(self, push: OrderPush) -> None:
        tracked = self.orders.get(push.order.cl_ord_id)
        fill = push.fill if push.fill is not None and self._first_sighting(push.fill) else None
        if tracked is None:
            if fill is not None:  # an exchange-side stop, a liquidation, or an order not ours
                if push.algo_cl_ord_id.startswith(self.executor.ids.prefix):
                    self._stop_fired_on(fill.inst_id)
                    self._apply_stop_fill(fill)
                else:
                    self._apply_fill(fill, None)
            return
        tracked.order = push.order
        if fill is not None:
            self._apply_fill(fill, tracked)
        if push.order.state.is_terminal:
            tracked.finished.set()
            self.orders.pop(push.order.cl_ord_id, None)
            if tracked.purpose is IntentPurpose.ENTRY and not tracked.fills:
                self._entry_done(tracked)
            if tracked.purpose is IntentPurpose.CLOSE:
                self.close_ended(tracked)

    def _stop_fired_on(self, inst_id: str) -> None:
        """One of the host's exchange-side stops traded: credit the instrument's close to it.

        By instrument (one position each in net mode): the positions channel may already have
        reported the position flat and the registry dropped it.
        """
        self._stops_fired.add(inst_id)

    def _apply_stop_fill(self, fill: Fill) -> None:
        """A fill of an own exchange-side stop: journaled, then announced through ``on_fill``.

        Its task is kept until the position's close is journaled, which waits for it: the
        plugins hear the fill before ``on_position_closed``.
        """
        pending = [task for task in self._stop_fills.get(fill.inst_id, ()) if not task.done()]
        pending.append(self.spawn(self._stop_fill(fill)))
        self._stop_fills[fill.inst_id] = pending

    async def _stop_fill(self, fill: Fill) -> None:
        inst_id = fill.inst_id
        async with self.gate.serial(inst_id):
            await self.journal.commit(fill)
            self.dispatch.on_fill(fill, self._position_after(fill), self.context(inst_id))

    def _position_after(self, fill: Fill) -> Position | None:
        """The instrument's position after ``fill``: the registry's, plus the fills it lacks.

        The fills booked on the instrument that the registry's version does not count yet are
        applied in the order they arrived, up to and including ``fill``; those it counts are
        forgotten.
        """
        held = self.registry.for_instrument(fill.inst_id)
        position = held[0] if held else None
        booked = self._booked_fills.setdefault(fill.inst_id, [])
        if position is not None:
            booked[:] = [other for other in booked if other.ts > position.updated_at]
        upto = booked.index(fill) + 1 if fill in booked else 0
        return position_after(position, booked[:upto])

    def _first_sighting(self, fill: Fill) -> bool:
        """Book a fill the first time its ``tradeId`` is seen; False for every later sighting.

        The one gate for fills from every source (pushes, REST lookups, the restart's catch-up),
        so a fill seen twice is applied once.
        """
        key = (fill.inst_id, fill.trade_id)
        if key in self.seen_trades:
            return False
        self.seen_trades.add(key)
        self._account(fill)
        return True

    def _apply_fill(self, fill: Fill, tracked: TrackedOrder | None) -> None:
        """A new fill of an own order goes through ``on_fill``; any other is only journaled."""
        if tracked is None:
            self.spawn(self.journal.commit(fill))
            return
        tracked.fills[fill.trade_id] = fill
        tracked.applying.append(self.spawn(self._own_fill(tracked, fill)))

    def _account(self, fill: Fill) -> None:
        """Book a fill's fee against the instrument's position, as soon as the fill is known.

        Done synchronously when the push arrives, so a close journaled right after sees every
        fee of the position, whatever order the fill tasks run in.
        """
        self.fees[fill.inst_id] = self.fees.get(fill.inst_id, Decimal(0)) + fill.fee
        self._booked_fills.setdefault(fill.inst_id, []).append(fill)
        self._last_fill[fill.inst_id] = fill
        self._fill_arrived(fill.inst_id).set()

    async def _own_fill(self, tracked: TrackedOrder, fill: Fill) -> None:
        inst_id = fill.inst_id
        async with self.gate.serial(inst_id):
            await self.journal.commit(fill)
            position = self._position_after(fill)
            if tracked.purpose is IntentPurpose.ENTRY and position is None:
                try:
                    position = await self._open_own(tracked, inst_id)
                finally:
                    # Found or not, the instrument is no longer hidden from reconciliation:
                    # a position not found here is adopted and protected as a drift.
                    self.gate.end_entry(inst_id)
                    self._position_waiters.pop(inst_id, None)
                if position is None:
                    self._next_reconcile = 0.0  # reconcile at the next chore, not in 30 s
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
        if position.size <= 0 or not self.gate.entering(position.inst_id):
            return False
        if self.registry.get(position.pos_id) is not None:
            return False
        waiter = self._waiter(position.inst_id)
        if not waiter.done():
            waiter.set_result(report)
        return True


def position_after(held: Position | None, fills: Sequence[Fill]) -> Position | None:
    """The position as the exchange holds it after ``fills``; ``None`` when flat or unknown.

    ``held`` is the registry's version, which the exchange's pushes keep current; ``fills`` are
    the instrument's fills since, oldest first. A fill that ``held`` already counts (its ``uTime``
    has reached the fill's time) is skipped; the others are applied, as the positions push still
    on its way will show them: an add-on grows the position at the averaged price, a reduce
    shrinks it, and once nothing is left the position is flat, ``None``. (Two fills of the same
    instant with a push between them cannot be told apart by time; OKX sends one positions push
    for the fills of one order's match, so the pair is counted by that push or by neither.)
    """
    if held is None:
        return None
    position: Position | None = held
    for fill in (fill for fill in fills if fill.ts > held.updated_at):
        if position is None:
            return None
        if fill.side is position.side.entry_side:
            size = position.size + fill.size
            average = (position.entry_price * position.size + fill.price * fill.size) / size
            position = replace(position, size=size, entry_price=average, updated_at=fill.ts)
        else:
            left = position.size - fill.size
            position = replace(position, size=left, updated_at=fill.ts) if left > 0 else None
    return position
