"""The position keeper: the registry kept in step with the exchange, drifts resolved.

The exchange is the source of truth: a position it shows that the host does not know is a drift
for ``on_position_drift`` (adopted positions are protected before anything else happens on the
instrument); a position it reports flat goes to :class:`~host.engine.closes.CloseRecorder`. The
exchange's word is what it answers over REST, not what a push claims: an unknown position seen
only in a push is adopted, a known one a push shows on the other side is protected anew, and a
known one a push or snapshot shows flat is closed, once ``GET /api/v5/account/positions``
confirms it (see :meth:`PositionKeeper._resolve_if_confirmed`) — except a position the host is
closing itself, whose flat push settles it at once. One confirmation per instrument is in flight
at a time (:meth:`PositionKeeper._confirm`), so a flood of made-up pushes cannot hold the
instrument's exits. A push's ``uTime`` the feed found impossible is replaced
(:meth:`PositionKeeper._with_believable_time`). One
exception: a position that appears where an own entry is in flight is that entry's, not a drift —
OKX may push the position before the entry's fill — and is handed to the entry's fill, which
waits for it here (:meth:`PositionKeeper.await_entry_position`). The keeper also owns the periodic
reconciliation against a full snapshot (which also reads back fills whose push was lost,
:class:`~host.engine.missed.MissedFills`) and the instruments it leaves alone (not configured).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import replace

from host.clock import LiveClock
from host.decisions import Accept
from host.domain import Drift, DriftKind
from host.engine.closes import CloseRecorder
from host.engine.exits import ExitDesk
from host.engine.gate import InstrumentGate
from host.engine.missed import MissedFills
from host.engine.protection import ExchangeStops
from host.engine.services import EngineServices
from host.engine.view import MarketView
from host.exchange.api import OkxApi
from host.exchange.errors import OkxError
from host.exchange.events import PositionReport, PositionsEventType, PositionsPush
from host.journal.records import PositionChanged, PositionOpened
from host.registry import PositionRegistry

_log = logging.getLogger(__name__)

WALL_CLOCK = LiveClock()
"""Real elapsed time for the detection-to-protection figure: a measurement, never a decision
(on a simulated clock that time would read zero while the host works)."""


class PositionKeeper:
    """Keeps the registry in step with the exchange: pushes, snapshots, drifts, own entries."""

    def __init__(
        self,
        services: EngineServices,
        registry: PositionRegistry,
        gate: InstrumentGate,
        market: MarketView,
        exits: ExitDesk,
        closes: CloseRecorder,
        protection: ExchangeStops,
        api: OkxApi,
        missed_fills: MissedFills,
    ) -> None:
        self._services = services
        self._registry = registry
        self._gate = gate
        self._market = market
        self._exits = exits
        self._closes = closes
        self._protection = protection
        self._api = api
        self._missed_fills = missed_fills
        self._waiters: dict[str, asyncio.Future[PositionReport]] = {}
        """Per instrument, the position its entry in flight waits for (pushed or looked up)."""
        self._ignored: set[str] = set()
        self._confirming: set[str] = set()
        """Instruments whose drift OKX is being asked to confirm (one request each at a time)."""
        self._next_reconcile = 0.0
        self._unjournaled: dict[str, PositionOpened] = {}
        """Adopted positions the journal could not record (a full disk), by ``posId``: each
        reconciliation tries again, so they reach the journal once the disk has room."""

    def on_positions(self, push: PositionsPush) -> None:
        """Take a positions push: a snapshot is reconciled, an update applied report by report."""
        reports = tuple(self._with_believable_time(report) for report in push.reports)
        if push.event_type is PositionsEventType.SNAPSHOT:
            self.reconcile(reports, pushed=True)
            return
        for report in reports:
            self._apply_report(report)

    def _with_believable_time(self, report: PositionReport) -> PositionReport:
        """``report`` with a ``uTime`` the feed found impossible replaced by one that moves nothing.

        The registry ignores an update older than the position it holds; a year-2100 ``uTime``,
        believed, would have it ignore every real update of that position until a REST
        reconciliation. The feed judges the time against the host's clock (and counts it,
        :meth:`~host.exchange.credibility.PriceCredibility.judged_reports`); here it becomes
        the held position's own time, or the host's now for a position not held.
        """
        if report.time_credible:
            return report
        position = report.position
        known = self._registry.get(position.pos_id)
        believed = known.updated_at if known is not None else self._services.clock.now()
        _log.warning(
            "%s: position %s pushed with uTime %s, far ahead of the host's clock; time ignored",
            position.inst_id,
            position.pos_id,
            position.updated_at.isoformat(),
        )
        return replace(report, position=replace(position, updated_at=believed))

    # --- reconciliation -----------------------------------------------------------------------

    def reconcile_due(self) -> None:
        """Reconcile with the exchange when the periodic reconciliation is due (a chore)."""
        now = self._services.clock.monotonic()
        if now >= self._next_reconcile:
            self._next_reconcile = now + self._services.settings.reconcile_interval_seconds
            self._services.tasks.spawn(self.reconcile_now())

    def reconcile_at(self, monotonic: float) -> None:
        """Move the next periodic reconciliation to ``monotonic`` (0: at the next chore)."""
        self._next_reconcile = monotonic

    async def reconcile_now(self) -> None:
        """Catch up with the exchange: journal what a full disk kept out, lost fills, stops.

        Adoptions the journal could not record, then the fills and closes it could not (the
        backlog), then fills whose push was lost, then the positions snapshot, then every stop.
        """
        await self._journal_adoptions()
        await self._services.backlog.write_kept()
        await self._missed_fills.catch_up()
        self.reconcile(await self._api.positions())
        await self._protection.check()

    async def _journal_adoptions(self) -> None:
        """Journal the adoptions a full disk kept out, as the registry holds them now.

        The row keeps the adoption's entry time: a position flipped from outside meanwhile is
        held under the same ``posId`` with a later one, and the row must still span the fills
        of the side the host adopted, as a flip's ``PositionChanged`` would have left it (found
        by ``scalphost faults``: a flip while the disk was full left the adopted side's fills
        explained by no journaled position). One that was closed meanwhile is dropped: its
        close is journaled on its own (a close of a position the journal never saw still
        counts).
        """
        for pos_id, opened in list(self._unjournaled.items()):
            now = self._registry.get(pos_id)
            if now is None:
                del self._unjournaled[pos_id]
                continue
            held = replace(now, entry_time=opened.position.entry_time)
            try:
                await self._services.journal.commit(replace(opened, position=held))
            except sqlite3.Error:
                return  # still full: the next reconciliation tries again
            del self._unjournaled[pos_id]
            _log.warning("%s: adopted position %s journaled late", now.inst_id, pos_id)

    def _configured(self, report: PositionReport) -> bool:
        """Whether the host trades this position's instrument; others are left alone, logged once.

        The account may hold positions the user trades by hand on other instruments; the host
        neither adopts nor closes them (it has no instrument spec, no market data for them).
        """
        inst_id = report.position.inst_id
        if inst_id in self._market.specs:
            return True
        if inst_id not in self._ignored:
            self._ignored.add(inst_id)
            _log.warning("%s: a position on an instrument not configured; left alone", inst_id)
        return False

    def _apply_report(self, report: PositionReport) -> None:
        position = report.position
        if not self._configured(report):
            return
        known = self._registry.get(position.pos_id)
        if known is None and (
            self._claim_own(report) or position.size == 0 or self._gate.drifting(position.inst_id)
        ):
            return
        drift = self._registry.apply(position)
        if drift is not None:  # unknown, flipped, or flat and not closed by the host: ask REST
            self._confirm(drift)
        elif known is not None and self._registry.get(position.pos_id) is None:
            self._closes.settle(known, "closed on the exchange")  # the host's own close
        elif known is not None and known.exchange_state != position.exchange_state:
            self._services.journal.write(
                PositionChanged(self._registry.get(position.pos_id) or position)
            )
            if self._registry.is_closing(position.pos_id):
                self._exits.close_fell_short(position.pos_id)

    def reconcile(self, reports: tuple[PositionReport, ...], *, pushed: bool = False) -> None:
        """Compare the registry with a complete list of the exchange's open positions.

        ``pushed``: the list came from the positions channel, not from REST; a position in it
        the host does not know is adopted only once REST confirms it.
        """
        marks = {r.position.inst_id: r.mark for r in reports if r.mark is not None}
        marks |= self._market.marks()  # the feed's credible marks first
        reports = tuple(r for r in reports if self._configured(r))
        claimed = {r.position.inst_id for r in reports if self._claim_own(r)}
        snapshot = [r.position for r in reports if r.position.inst_id not in claimed]
        for drift in self._registry.drift(snapshot, marks):
            if not self._gate.may_reconcile(drift.inst_id):
                continue
            if drift.kind is DriftKind.REMOVE or (pushed and _changes_protection(drift)):
                self._confirm(drift)
            else:
                self._start_drift(drift)

    def _confirm(self, drift: Drift) -> None:
        """Resolve a reported drift once REST confirms it; the instrument's exits wait meanwhile.

        At most one confirmation per instrument is in flight: a report arriving meanwhile starts
        none and does not prolong the wait. The one in flight acts on OKX's record of the
        position as it is when OKX answers, whatever the report that started it claimed; a
        change after that answer is found by the periodic reconciliation. Without this, a flood
        of made-up pushes would keep the instrument's exits paused.
        """
        inst_id = drift.inst_id
        if inst_id in self._confirming:
            return
        self._confirming.add(inst_id)
        self._gate.begin_drift(inst_id)
        self._services.tasks.spawn(self._resolve_if_confirmed(drift, WALL_CLOCK.monotonic()))

    async def _resolve_if_confirmed(self, drift: Drift, detected: float) -> None:
        """Ask OKX for the instrument's positions; resolve the drift only as OKX shows it.

        A push is one message, which a garbled or hostile frame can make up, and a snapshot can
        be older than the position (requested before the entry filled, or replayed from before
        a restart). A ``posId`` the exchange does not have, adopted, would get an exchange-side
        stop with ``closeFraction`` 1 — one that closes the instrument's *real* position when it
        triggers. A held long pushed as short would have its stop canceled and one placed on the
        short side, which adds to the real long instead of cutting it, or be flattened by a
        plugin. A held position pushed flat would be journaled closed and its exchange-side stop
        canceled. So what is resolved is OKX's own record of the position (instId, posId, side,
        size, avgPx), and a new stop is placed from the mark the feed believes for that
        instrument (the credibility filter's), never from the push. When REST fails, nothing is
        done on the report alone: the periodic reconciliation, itself a REST snapshot, finds the
        drift within one interval.
        """
        try:
            confirmed = await self._confirmed(drift)
            if confirmed is not None and confirmed.known is not None and confirmed.exchange is None:
                gone = Accept("gone from the exchange")
                self._registry.resolve(confirmed, gone)
                self._closes.settle(confirmed.known, "closed on the exchange")
            elif confirmed is not None:
                trusted = self._market.mark(drift.inst_id)
                await self._resolve(replace(confirmed, mark_price=trusted), detected)
        finally:
            self._confirming.discard(drift.inst_id)
            self._end_drift(drift.inst_id)

    async def _confirmed(self, drift: Drift) -> Drift | None:
        """The drift as OKX's record shows it now; ``None`` unless that still changes protection.

        Shown: a held position OKX does not list (*remove*), one it lists on the other side
        (*change*), one the host does not hold (*add*). Not shown: OKX lists the held position
        on its side, does not list one the host does not hold, or REST failed; or the registry
        caught up meanwhile (an own entry's position, a drift resolved first).
        """
        try:
            reports = await self._api.positions(drift.inst_id)
        except OkxError as error:
            _log.warning(
                "%s: position %s reported but not confirmed (%s); the reconciliation checks it",
                drift.inst_id,
                drift.pos_id,
                error,
            )
            return None
        listed = (r.position for r in reports if r.position.size > 0)
        there = next(
            (p for p in listed if (p.pos_id, p.inst_id) == (drift.pos_id, drift.inst_id)), None
        )
        here = self._registry.get(drift.pos_id)
        if there is None and here is not None:
            return replace(drift, kind=DriftKind.REMOVE, exchange=None, known=here)
        if there is None and drift.exchange is None:
            return None  # flat as reported, and already settled meanwhile
        kind = DriftKind.ADD if here is None else DriftKind.CHANGE
        shown = replace(drift, kind=kind, exchange=there, known=here)
        if there is not None and _changes_protection(shown):
            return shown
        if there is None or drift.kind is not DriftKind.ADD:
            _log.warning(
                "%s: a report showed position %s %s, which OKX does not confirm; ignored",
                drift.inst_id,
                drift.pos_id,
                drift.exchange.side if drift.exchange is not None else "flat",
            )
        return None

    def _start_drift(self, drift: Drift) -> None:
        self._gate.begin_drift(drift.inst_id)
        self._services.tasks.spawn(self._resolve_drift(drift, WALL_CLOCK.monotonic()))

    async def _resolve_drift(self, drift: Drift, detected: float) -> None:
        """Resolve ``drift`` (:meth:`_resolve`); the instrument is free again afterwards."""
        try:
            await self._resolve(drift, detected)
        finally:
            self._end_drift(drift.inst_id)

    def _end_drift(self, inst_id: str) -> None:
        """Free the instrument; its exits judge at once the latest tick they missed meanwhile.

        A stop the price crossed while the drift was resolved is acted on now, not at the next
        tick, so a pause costs an exit no more than the pause itself.
        """
        self._gate.end_drift(inst_id)
        if not self._gate.drifting(inst_id):
            positions = self._registry.for_instrument(inst_id)
            self._exits.resume(inst_id, positions, self._market.context(inst_id))

    async def _resolve(self, drift: Drift, detected: float) -> None:
        """Let the plugins decide; protect an adopted position before anything else happens."""
        async with self._gate.serial(drift.inst_id):
            ctx = self._market.context(drift.inst_id)
            decision = self._services.dispatch.on_position_drift(drift, ctx)
            position = self._registry.resolve(drift, decision.resolution)
            reason = f"{decision.plugin}: {type(decision.resolution).__name__}"
            if position is None:
                if drift.known is not None:
                    self._closes.settle(drift.known, "closed on the exchange")
                return
            if drift.kind is DriftKind.ADD:
                self._services.stats.adopted += 1
                self._services.stats.entered(position.pos_id, ctx.regime)
                opened = PositionOpened(
                    position, ctx.regime, stop_by=decision.plugin, stop_reason=reason
                )
                try:
                    await self._services.journal.commit(opened)
                except sqlite3.Error as failure:
                    _log.error(
                        "%s: adopted position %s not journaled (%s); protected all the same, "
                        "journaled at a reconciliation once the journal can write",
                        position.inst_id,
                        position.pos_id,
                        failure,
                    )
                    self._unjournaled[position.pos_id] = opened
                if position.stop is not None:
                    await self._protection.protect(position)
                    self._services.stats.protected_after(WALL_CLOCK.monotonic() - detected)
            else:
                self._services.journal.write(PositionChanged(position))
                if drift.known is not None and drift.known.side is not position.side:
                    # Flipped: the resting exchange-side stop is on the old side.
                    self._services.tasks.spawn(self._protection.check())
            if self._registry.is_flattening(position.pos_id):
                self._exits.close(position, f"{decision.plugin}: flatten drifted position")

    # --- own entries --------------------------------------------------------------------------

    def entry_over(self, inst_id: str) -> None:
        """The instrument's entry is done: it is free, and no position there is awaited any more.

        A position found from now on is no longer hidden from reconciliation: one the entry did
        not find in time is adopted and protected as a drift.
        """
        self._gate.end_entry(inst_id)
        self._waiters.pop(inst_id, None)

    async def await_entry_position(self, inst_id: str) -> PositionReport | None:
        """The instrument's position as soon as a push or a REST lookup shows it."""
        waiter = self._waiter(inst_id)
        try:
            for _ in range(self._services.settings.position_visible_retries + 1):
                if not waiter.done():
                    for report in await self._api.positions(inst_id):
                        self._claim_own(report)
                try:
                    return await asyncio.wait_for(
                        asyncio.shield(waiter),
                        self._services.settings.position_visible_delay_seconds,
                    )
                except TimeoutError:
                    continue
            return None
        finally:
            self._waiters.pop(inst_id, None)

    def _waiter(self, inst_id: str) -> asyncio.Future[PositionReport]:
        waiter = self._waiters.get(inst_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[inst_id] = waiter
        return waiter

    def _claim_own(self, report: PositionReport) -> bool:
        """Take an unknown position on an instrument with an own entry in flight as ours.

        OKX does not order its channels: the positions push of an entry can arrive before the
        orders push with its fill. Such a position is the entry's, not a drift: it is handed to
        the entry's fill (which protects and journals it) instead of to ``on_position_drift``.
        """
        position = report.position
        if position.size <= 0 or not self._gate.entering(position.inst_id):
            return False
        if self._registry.get(position.pos_id) is not None:
            return False
        waiter = self._waiter(position.inst_id)
        if not waiter.done():
            waiter.set_result(report)
        return True


def _changes_protection(drift: Drift) -> bool:
    """Whether a drift, if believed, would place or replace a stop (or flatten a position).

    An unknown position (adopted with a new stop) and a flipped side (the resting stop is on the
    wrong side) do. A size or entry change on the same side does not: the exchange-side stop
    closes the whole position whatever its size (``closeFraction`` 1), and a smaller position
    is what a partial close leaves, reported with its fills.
    """
    there, here = drift.exchange, drift.known
    return there is not None and (here is None or here.side is not there.side)
