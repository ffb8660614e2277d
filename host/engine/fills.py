"""The fill desk: own executions journaled, their positions found, protected and announced.

OKX does not order its channels, so an entry's position may show on the positions channel
before its fill on the orders channel; either way the position is claimed for the entry (not
taken for a stranger), journaled, tracked with its initial stop, and only then is ``on_fill``
called. The other way round, a close's fill may come before the positions push that shows the
position smaller or flat: ``on_fill`` is still handed the position *after* the fill
(:func:`host.engine.ledger.position_after`), never the registry's older version.

The host's own orders are its entries, its closes and its exchange-side stops: a stop's fill
reaches ``on_fill`` too (an exit plugin or a breaker must see every fill of its position).
Liquidations and orders placed outside the host are journaled only; their effect reaches the
plugins as a drift or a close. Every fill reaching this desk has passed the ledger's
:meth:`~host.engine.ledger.FillLedger.first_sighting` once.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from host.dispatch import HOST
from host.domain import (
    Fill,
    Position,
    PositionOrigin,
    PositionSide,
)
from host.engine.execution import TrackedOrder
from host.engine.gate import InstrumentGate
from host.engine.ledger import FillLedger
from host.engine.positions import PositionKeeper
from host.engine.protection import ExchangeStops
from host.engine.services import EngineServices
from host.engine.view import MarketView
from host.journal.records import (
    ErrorEvent,
    IntentPurpose,
    PositionOpened,
)
from host.notify.events import fill_event
from host.registry import PositionRegistry

_log = logging.getLogger(__name__)


class FillDesk:
    """Applies the fills of the host's orders and stops; journals everyone else's."""

    def __init__(
        self,
        services: EngineServices,
        registry: PositionRegistry,
        gate: InstrumentGate,
        ledger: FillLedger,
        positions: PositionKeeper,
        protection: ExchangeStops,
        market: MarketView,
    ) -> None:
        self._services = services
        self._registry = registry
        self._gate = gate
        self._ledger = ledger
        self._positions = positions
        self._protection = protection
        self._market = market

    def apply(self, fill: Fill, tracked: TrackedOrder | None) -> None:
        """A new fill of an own order goes through ``on_fill``; any other is only journaled."""
        if tracked is None:
            self._services.tasks.spawn(self._services.backlog.commit(fill))
            return
        tracked.fills[fill.trade_id] = fill
        tracked.applying.append(self._services.tasks.spawn(self._own_fill(tracked, fill)))

    def apply_stop_fill(self, fill: Fill) -> None:
        """A fill of an own exchange-side stop: journaled, then announced through ``on_fill``.

        Its task is kept until the position's close is journaled, which waits for it: the
        plugins hear the fill before ``on_position_closed``.
        """
        self._protection.fired_on(fill.inst_id)
        self._ledger.announcing(fill.inst_id, self._services.tasks.spawn(self._stop_fill(fill)))

    async def catch_up(self, fill: Fill) -> None:
        """A fill from OKX's recent fills at start-up: journaled if the journal lacks it.

        A fill made while no host ran (or that a killed host never journaled) reaches no socket
        again (found by tests/test_crash.py); the last one of an instrument is also the exit of
        a position that closed meanwhile.
        """
        if self._ledger.catch_up(fill):
            await self._services.backlog.commit(fill)

    async def _stop_fill(self, fill: Fill) -> None:
        inst_id = fill.inst_id
        async with self._gate.serial(inst_id):
            await self._services.backlog.commit(fill)
            self._services.dispatch.on_fill(
                fill, self._ledger.position_after(fill), self._market.context(inst_id)
            )
            self._services.notifier.emit(fill_event, fill)

    async def _own_fill(self, tracked: TrackedOrder, fill: Fill) -> None:
        inst_id = fill.inst_id
        async with self._gate.serial(inst_id):
            await self._services.backlog.commit(fill)
            position = self._ledger.position_after(fill)
            if tracked.purpose is IntentPurpose.ENTRY and position is None:
                try:
                    position = await self._open_own(tracked, inst_id)
                finally:
                    # Found or not, the instrument is no longer hidden from reconciliation:
                    # a position not found here is adopted and protected as a drift.
                    self._positions.entry_over(inst_id)
                if position is None:
                    self._positions.reconcile_at(0.0)  # at the next chore, not in 30 s
            self._services.dispatch.on_fill(fill, position, self._market.context(inst_id))
            self._services.notifier.emit(fill_event, fill)

    async def _open_own(self, tracked: TrackedOrder, inst_id: str) -> Position | None:
        """Find the position an entry fill opened, protect it, journal it.

        Entry price and time come from the exchange's position (``avgPx``, ``cTime``), never
        from local "now" and never rounded. If OKX does not show the position after the
        configured retries, the fallback is reconciliation: it will find it as a drift and
        ``drift_guard`` adopts it with a stop.
        """
        self._services.stats.entries_filled += 1
        report = await self._positions.await_entry_position(inst_id)
        if report is None:
            _log.error("%s: entry filled but its position is not visible yet", inst_id)
            self._services.journal.write(
                ErrorEvent(self._services.clock.now(), "engine", f"{inst_id}: position not visible")
            )
            return None
        there = report.position
        spec = self._market.specs[inst_id]
        fraction = self._services.settings.initial_stop_fraction
        distance = there.entry_price * fraction
        raw_stop = (
            there.entry_price - distance
            if there.side is PositionSide.LONG
            else there.entry_price + distance
        )
        position = replace(
            there, origin=PositionOrigin.OWN, stop=spec.protective_stop(there.side, raw_stop)
        )
        regime = tracked.regime or self._market.regime_fallback
        await self._services.journal.commit(
            PositionOpened(
                position,
                regime,
                tracked.order.cl_ord_id,
                stop_by=HOST,
                stop_reason=f"initial stop {fraction} from entry",
            )
        )
        # Journaled first, then tracked: from here to on_fill nothing awaits, so no tick can
        # reach the exit plugins before they heard of the fill.
        self._registry.track(position)
        self._services.stats.entered(position.pos_id, regime)
        self._services.tasks.spawn(self._protection.protect(position))
        return position
