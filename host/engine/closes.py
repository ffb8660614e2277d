"""Closes: a position the exchange reports flat is journaled with its PnL and announced.

OKX does not order its channels: the positions channel may report a position flat before the
orders channel reports the fill that closed it. So the close waits a moment for that fill — the
host's close order (its average price is the exit price) or the exchange-side stop's (its
``on_fill`` reaches the plugins before ``on_position_closed``) — and only then journals the
:class:`~host.domain.ClosedPosition`, cancels the stop left on the exchange and calls
``on_position_closed``. Meanwhile the instrument takes no new entry (the gate's *settling*).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import suppress
from decimal import Decimal

from host.domain import ClosedPosition, InstrumentSpec, Position
from host.domain.pnl import PnL, gross_pnl
from host.engine.exits import ExitDesk
from host.engine.gate import InstrumentGate
from host.engine.ledger import FillLedger
from host.engine.protection import ExchangeStops
from host.engine.services import EngineServices
from host.engine.view import MarketView
from host.notify.events import close_event


class CloseRecorder:
    """Journals flat positions (exit price, PnL, reason) and tells the plugins; keeps no state."""

    def __init__(
        self,
        services: EngineServices,
        specs: Mapping[str, InstrumentSpec],
        gate: InstrumentGate,
        exits: ExitDesk,
        ledger: FillLedger,
        protection: ExchangeStops,
        market: MarketView,
    ) -> None:
        self._services = services
        self._specs = specs
        self._gate = gate
        self._exits = exits
        self._ledger = ledger
        self._protection = protection
        self._market = market

    def settle(self, position: Position, fallback_reason: str) -> None:
        """Journal a flat position in the background; its instrument waits until that is done.

        Also how a restart closes a journaled position the exchange no longer shows.
        """
        self._gate.begin_settle(position.inst_id)
        self._services.tasks.spawn(self._closed_then_free(position, fallback_reason))

    async def _closed_then_free(self, position: Position, fallback_reason: str) -> None:
        try:
            await self._closed(position, fallback_reason)
        finally:
            self._gate.end_settle(position.inst_id)

    async def _closed(self, position: Position, fallback_reason: str) -> None:
        """Journal a position the exchange reports flat, with its PnL; tell the plugins.

        The close order is given a moment to finish: its average price is the exit price. A
        position closed by the exchange-side stop or outside the host exits at its last fill,
        else at the mark.
        """
        inst_id = position.inst_id
        wait = self._services.settings.position_visible_delay_seconds
        close_order = self._exits.take_close_order(position.pos_id)
        if close_order is not None:
            with suppress(TimeoutError):
                await asyncio.wait_for(close_order.finished.wait(), wait)
            if close_order.applying:  # its fills reach on_fill before on_position_closed
                await asyncio.wait(close_order.applying, timeout=wait)
        else:
            await self._ledger.await_exit_fill(position, wait)
            stop_fills = self._ledger.take_announcements(inst_id)
            if stop_fills:  # a stop's fills reach on_fill before on_position_closed
                await asyncio.wait(stop_fills, timeout=wait)
        last_fill = self._ledger.last_fill(inst_id)
        exit_price = (
            (close_order.order.average_price if close_order is not None else None)
            or (last_fill.price if last_fill is not None else None)
            or self._market.mark(inst_id)
            or position.entry_price
        )
        stop_fired = self._protection.take_fired(inst_id)
        if close_order is not None:
            reason = close_order.reason
        elif stop_fired:
            reason = "exchange stop: triggered at the mark"
        else:
            reason = fallback_reason
        spec = self._specs.get(inst_id)
        gross = (
            gross_pnl(spec, position.side, position.size, position.entry_price, exit_price)
            if spec is not None
            else Decimal(0)
        )
        closed = ClosedPosition(
            position=position,
            exit_price=exit_price,
            closed_at=self._services.clock.now(),
            pnl=PnL(gross=gross, fees=self._ledger.take_fees(inst_id)),
            reason=reason,
        )
        await self._services.backlog.commit(closed)
        self._services.stats.record_close(closed)
        self._protection.release(position)
        self._services.notifier.emit(close_event, closed)
        if spec is not None:
            self._services.dispatch.on_position_closed(closed, self._market.context(inst_id))
