"""Positions: exchange pushes and snapshots applied, drifts resolved, closes journaled.

The exchange is the source of truth: a position it shows that the host does not know is a drift
for ``on_position_drift`` (adopted positions are protected before anything else happens on the
instrument); a position it reports flat is journaled with its PnL and announced through
``on_position_closed``. Every open position is also backed by a stop order on the exchange.
"""

from __future__ import annotations

import asyncio
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
    IntentPurpose,
    PositionChanged,
    PositionOpened,
)

WALL_CLOCK = LiveClock()
"""Real elapsed time for the detection-to-protection figure: a measurement, never a decision
(on a simulated clock that time would read zero while the host works)."""

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
        self.spawn(self._resolve_drift(drift, WALL_CLOCK.monotonic()))

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
                        self.stats.protect_seconds.append(WALL_CLOCK.monotonic() - detected)
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

    def _on_algo(self, push: AlgoOrderPush) -> None:
        """Note an exchange-side stop that fired: its position's close is credited to it."""
        if push.state not in STOP_FIRED_STATES:
            return
        for pos_id, algo_id in self.exchange_stops.items():
            if algo_id == push.algo_id:
                self._stops_fired.add(pos_id)
