"""Positions: exchange pushes and snapshots applied, drifts resolved, closes journaled.

The exchange is the source of truth: a position it shows that the host does not know is a drift
for ``on_position_drift`` (adopted positions are protected before anything else happens on the
instrument); a position it reports flat is journaled with its PnL and announced through
``on_position_closed``. Every open position is also backed by a stop order on the exchange.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import replace
from decimal import Decimal

from host.clock import LiveClock
from host.decisions import Accept
from host.domain import (
    ClosedPosition,
    Drift,
    DriftKind,
    Fill,
    Position,
)
from host.domain.pnl import PnL, gross_pnl
from host.engine.execution import TrackedOrder
from host.engine.fills import FillFlow
from host.exchange.connection import ExchangeSnapshot
from host.exchange.events import (
    AlgoOrderPush,
    PositionReport,
    PositionsEventType,
    PositionsPush,
)
from host.journal.records import (
    IntentOutcome,
    IntentPurpose,
    Outcome,
    PositionChanged,
    PositionOpened,
)

_log = logging.getLogger(__name__)

WALL_CLOCK = LiveClock()
"""Real elapsed time for the detection-to-protection figure: a measurement, never a decision
(on a simulated clock that time would read zero while the host works)."""

SETTLE_RETRY_SECONDS = 10.0
"""Between two lookups of an order that is still open on the exchange."""

STOP_FIRED_STATES = frozenset({"effective", "order_placed", "filled", "partially_effective"})
"""``orders-algo`` states of a stop whose trigger was reached and that placed its close order."""


class PositionFlow(FillFlow):
    """Keeps the registry in step with the exchange and every position protected."""

    # --- positions ----------------------------------------------------------------------------

    def _on_positions(self, push: PositionsPush) -> None:
        if push.event_type is PositionsEventType.SNAPSHOT:
            self.reconcile(tuple(push.reports))
            return
        for report in push.reports:
            self._apply_report(report)

    def _configured(self, report: PositionReport) -> bool:
        """Whether the host trades this position's instrument; others are left alone, logged once.

        The account may hold positions the user trades by hand on other instruments; the host
        neither adopts nor closes them (it has no instrument spec, no market data for them).
        """
        inst_id = report.position.inst_id
        if inst_id in self.specs:
            return True
        if inst_id not in self._ignored_instruments:
            self._ignored_instruments.add(inst_id)
            _log.warning("%s: a position on an instrument not configured; left alone", inst_id)
        return False

    def _apply_report(self, report: PositionReport) -> None:
        position = report.position
        if not self._configured(report):
            return
        known = self.registry.get(position.pos_id)
        if known is None and (
            self._claim_own(report) or position.size == 0 or self.gate.drifting(position.inst_id)
        ):
            return
        drift = self.registry.apply(position)
        if drift is not None:
            self._start_drift(
                replace(drift, mark_price=report.mark or self.market.mark(drift.inst_id))
            )
        elif known is not None and self.registry.get(position.pos_id) is None:
            self.settle_close(known, "closed on the exchange")
        elif known is not None and known.exchange_state != position.exchange_state:
            self.journal.write(PositionChanged(self.registry.get(position.pos_id) or position))
            if self.registry.is_closing(position.pos_id):
                self._close_fell_short(position.pos_id)

    def reconcile(self, reports: tuple[PositionReport, ...]) -> None:
        """Compare the registry with a complete list of the exchange's open positions."""
        marks = self.market.marks() | {
            r.position.inst_id: r.mark for r in reports if r.mark is not None
        }
        reports = tuple(r for r in reports if self._configured(r))
        claimed = {r.position.inst_id for r in reports if self._claim_own(r)}
        snapshot = [r.position for r in reports if r.position.inst_id not in claimed]
        for drift in self.registry.drift(snapshot, marks):
            if not self.gate.may_reconcile(drift.inst_id):
                continue
            if drift.kind is DriftKind.REMOVE:
                self.gate.begin_drift(drift.inst_id)
                self.spawn(self._confirm_gone(drift))
                continue
            self._start_drift(drift)

    async def _confirm_gone(self, drift: Drift) -> None:
        """Close a position a snapshot no longer lists, once OKX confirms it is gone.

        A snapshot can be older than the position (requested before the entry filled, or
        replayed from before a restart); taking it at its word would journal a close that never
        happened and cancel the position's exchange-side stop.
        """
        try:
            now = await self.api.positions(drift.inst_id)
            if any(r.position.pos_id == drift.pos_id and r.position.size > 0 for r in now):
                return
            known = self.registry.get(drift.pos_id)
            if known is not None:
                self.registry.resolve(replace(drift, known=known), Accept("gone from the exchange"))
                self.settle_close(known, "closed on the exchange")
        finally:
            self.gate.end_drift(drift.inst_id)

    async def check_protection(self, stops: tuple[AlgoOrderPush, ...] | None = None) -> None:
        """Make sure every open position has its own stop resting on the exchange.

        On the right side: one that failed to be placed, was canceled outside the host, or
        belongs to the side before a flip is placed anew; one left behind a tightened stop is
        moved.
        """
        if not self.settings.exchange_stops:
            return
        if stops is None:
            stops = await self.api.pending_stops("conditional")
        ours = {
            stop.algo_id: stop
            for stop in stops
            if stop.algo_cl_ord_id.startswith(self.executor.ids.prefix)
        }
        for position in self.registry.positions():
            if position.stop is None or self.registry.is_closing(position.pos_id):
                continue
            algo_id = self.exchange_stops.get(position.pos_id)
            resting = ours.get(algo_id) if algo_id is not None else None
            closing_side = position.side.entry_side.opposite.value
            if resting is not None and resting.side == closing_side:
                if resting.trigger_price != position.stop:
                    self.mark_stop_dirty(position.pos_id)
                continue
            if resting is not None:  # the stop of the side before a flip: it would add, not cut
                self.spawn(self.executor.cancel_stop(position.inst_id, resting.algo_id))
            self.exchange_stops.pop(position.pos_id, None)
            self.spawn(self.protect_on_exchange(position))

    async def on_resync(self, snapshot: ExchangeSnapshot) -> None:
        """After a reconnect: reconcile positions and stops, settle the orders in flight."""
        self.reconcile(snapshot.positions)
        await self.check_protection(snapshot.stops)
        for fill in reversed(snapshot.fills):  # OKX lists them newest first
            self._on_order_fill_from_rest(fill)
        pending = {push.order.cl_ord_id for push in snapshot.orders}
        for cl_ord_id, tracked in list(self.orders.items()):
            if tracked.order.created_at < snapshot.taken_at and cl_ord_id not in pending:
                self.settle(tracked)

    def _on_order_fill_from_rest(self, fill: Fill) -> None:
        if self._first_sighting(fill):
            self._apply_fill(fill, self.orders.get(fill.cl_ord_id))

    def settle(self, tracked: TrackedOrder) -> None:
        """Look the order up by its ``clOrdId`` (once at a time) to learn what no push said."""
        if not tracked.settling:
            tracked.settling = True
            self.spawn(self._settle(tracked))

    async def _settle(self, tracked: TrackedOrder) -> None:
        """Apply what OKX says of an order: its fills, its state, or that it never existed.

        The fallback for every lost message: an order of unknown outcome, a close or entry
        whose pushes never came. Not found means never placed: an entry frees its instrument,
        a close its claim (the position can be closed again).
        """
        order = tracked.order
        try:
            found = await self.api.get_order(order.inst_id, cl_ord_id=order.cl_ord_id)
            if found is None:
                self.journal.write(
                    IntentOutcome(
                        order.cl_ord_id,
                        Outcome.RESOLVED,
                        self.clock.now(),
                        detail="not found on the exchange",
                    )
                )
                self.orders.pop(order.cl_ord_id, None)
                if tracked.purpose is IntentPurpose.ENTRY:
                    self._entry_done(tracked)
                else:
                    self.close_ended(tracked)
                return
            if found.order.filled_size > 0:
                for fill in reversed(await self.api.fills(order.inst_id)):
                    if fill.cl_ord_id == order.cl_ord_id:
                        self._on_order_fill_from_rest(fill)
            self._on_order(replace(found, fill=None))
        finally:
            tracked.settling = False
            if tracked.settle_at is not None:  # still open: ask again later if nothing comes
                tracked.settle_at = self.clock.monotonic() + SETTLE_RETRY_SECONDS

    async def _await_exit_fill(self, position: Position) -> None:
        """Give the fill that closed ``position`` (a stop's, or one outside the host) a moment.

        The positions channel may say flat before the orders channel brings the fill; the exit
        price and the last fee come from that fill.
        """
        closing_side = position.side.entry_side.opposite
        event = self._fill_arrived(position.inst_id)
        for _ in range(2):
            last = self._last_fill.get(position.inst_id)
            if last is not None and last.side is closing_side and last.ts >= position.updated_at:
                return
            event.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), self.settings.position_visible_delay_seconds)

    async def catch_up_fill(self, fill: Fill) -> None:
        """A fill from OKX's recent fills at start-up: journaled if the journal lacks it.

        A fill made while no host ran (or that a killed host never journaled) reaches no socket
        again (found by tests/test_crash.py); the last one of an instrument is also the exit of
        a position that closed meanwhile.
        """
        if self._first_sighting(fill):
            await self.journal.commit(fill)
        else:
            self._last_fill[fill.inst_id] = fill

    def _start_drift(self, drift: Drift) -> None:
        self.gate.begin_drift(drift.inst_id)
        self.spawn(self._resolve_drift(drift, WALL_CLOCK.monotonic()))

    async def _resolve_drift(self, drift: Drift, detected: float) -> None:
        """Let the plugins decide; protect an adopted position before anything else happens."""
        try:
            async with self.gate.serial(drift.inst_id):
                ctx = self.context(drift.inst_id)
                decision = self.dispatch.on_position_drift(drift, ctx)
                position = self.registry.resolve(drift, decision.resolution)
                reason = f"{decision.plugin}: {type(decision.resolution).__name__}"
                if position is None:
                    if drift.known is not None:
                        self.settle_close(drift.known, "closed on the exchange")
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
                        self.stats.protect_seconds.append(WALL_CLOCK.monotonic() - detected)
                else:
                    self.journal.write(PositionChanged(position))
                    if drift.known is not None and drift.known.side is not position.side:
                        # Flipped: the resting exchange-side stop is on the old side.
                        self.spawn(self.check_protection())
                if self.registry.is_flattening(position.pos_id):
                    self.close(position, f"{decision.plugin}: flatten drifted position")
        finally:
            self.gate.end_drift(drift.inst_id)

    def settle_close(self, position: Position, fallback_reason: str) -> None:
        """Journal a flat position in the background; its instrument waits until that is done.

        Also how a restart closes a journaled position the exchange no longer shows.
        """
        self.gate.begin_settle(position.inst_id)
        self.spawn(self._closed_then_free(position, fallback_reason))

    async def _closed_then_free(self, position: Position, fallback_reason: str) -> None:
        try:
            await self._closed(position, fallback_reason)
        finally:
            self.gate.end_settle(position.inst_id)

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
            wait = self.settings.position_visible_delay_seconds
            with suppress(TimeoutError):
                await asyncio.wait_for(close_order.finished.wait(), wait)
            if close_order.applying:  # its fills reach on_fill before on_position_closed
                await asyncio.wait(close_order.applying, timeout=wait)
        else:
            await self._await_exit_fill(position)
            stop_fills = self._stop_fills.pop(inst_id, None)
            if stop_fills:  # a stop's fills reach on_fill before on_position_closed
                await asyncio.wait(stop_fills, timeout=self.settings.position_visible_delay_seconds)
        last_fill = self._last_fill.get(inst_id)
        exit_price = (
            (close_order.order.average_price if close_order is not None else None)
            or (last_fill.price if last_fill is not None else None)
            or self.market.mark(inst_id)
            or position.entry_price
        )
        if close_order is not None:
            reason = close_order.reason
        elif position.inst_id in self._stops_fired:
            reason = "exchange stop: triggered at the mark"
        else:
            reason = fallback_reason
        self._stops_fired.discard(position.inst_id)
        spec = self.specs.get(inst_id)
        gross = (
            gross_pnl(spec, position.side, position.size, position.entry_price, exit_price)
            if spec is not None
            else Decimal(0)
        )
        fees = self.fees.pop(inst_id, Decimal(0))
        self._booked_fills.pop(inst_id, None)
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

    def _on_algo(self, push: AlgoOrderPush) -> None:
        """Note what became of an exchange-side stop.

        One that fired gets its position's close credited to it; one canceled while its
        position is still open (e.g. canceled in OKX's app) is put back.
        """
        for pos_id, algo_id in list(self.exchange_stops.items()):
            if algo_id != push.algo_id:
                continue
            if push.state in STOP_FIRED_STATES:
                self._stops_fired.add(push.inst_id)
            elif push.state == "canceled":
                del self.exchange_stops[pos_id]
                position = self.registry.get(pos_id)
                if position is not None and not self.registry.is_closing(pos_id):
                    self.spawn(self.protect_on_exchange(position))
