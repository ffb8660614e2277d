"""The fill ledger: every fill the host has seen, booked once, per instrument.

Fills reach the host from pushes, REST lookups, a reconnect's snapshot and the restart's catch-up;
the ledger is the one gate they all pass (:meth:`FillLedger.first_sighting`), so a fill seen twice
is applied once. What it books is what a position's close needs later and no other part keeps:
the fees, the fills the registry's position may not count yet (for the position *after* a fill),
the last fill (an exit price) and the ``on_fill`` announcements of exchange-side stop fills still
under way (the close waits for them, so the plugins hear the fill first).

Remembering every ``tradeId`` for ever made the ledger the one part of the host that only grew
(issue 13, defect 11). A fill can reach the host again for as long as OKX lists it: a push re-sent
within seconds, a reconnect's or a restart's ``trade/fills`` (the last three days), a resync after
a long connection that reads ``trade/fills-history``. So the ledger remembers a fill for
``engine.fill_memory_hours`` of the *fill's own time* (default four days, beyond the three days
of ``trade/fills``) and forgets older ones; a fill older than that is never taken as new
(:meth:`FillLedger.beyond_memory`), whatever arrives: the engine journals it if the journal lacks
it (the journal's ``UNIQUE (inst_id, trade_id)``) and applies it to nothing, as its position has
long since been reconciled.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from host.clock import Clock
from host.domain import Fill, Position
from host.registry import PositionRegistry

TradeKey = tuple[str, str]
"""A fill's identity: ``(instId, tradeId)``; OKX processes a ``tradeId`` once per instrument."""


class FillLedger:
    """Fills by ``tradeId`` once each, and per instrument what its next close will need."""

    def __init__(self, registry: PositionRegistry, clock: Clock, memory: timedelta) -> None:
        self._registry = registry
        self._clock = clock
        self.memory = memory
        """How long (by a fill's own time) its ``tradeId`` is remembered."""
        self._seen: OrderedDict[TradeKey, datetime] = OrderedDict()
        """Each remembered fill's time, in the order seen (so the oldest are forgotten first)."""
        self.beyond = 0
        """Fills that arrived older than the memory: never applied (a figure for the logs)."""
        self.booked = 0
        """Fills booked this session (first sightings; the journal's at a restart not counted)."""
        self._fees: dict[str, Decimal] = {}
        self._booked: dict[str, list[Fill]] = {}
        """Per instrument, the fills the registry's position may not count yet, in arrival order."""
        self._last: dict[str, Fill] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        self._announcing: dict[str, list[asyncio.Task[object]]] = {}
        """Per instrument, the tasks announcing own exchange-side stops' fills (``on_fill``)."""

    def remember(self, trades: Iterable[tuple[TradeKey, datetime]]) -> None:
        """Take fills as seen, with their times (the journal's, at a restart)."""
        for key, ts in sorted(trades, key=lambda trade: trade[1]):
            self._seen[key] = ts

    @property
    def remembered(self) -> int:
        """Fills remembered now: those of the last :attr:`memory` (the soak test watches it)."""
        return len(self._seen)

    def horizon(self) -> datetime:
        """Fills from before this instant are forgotten, and never taken as new."""
        return self._clock.now() - self.memory

    def beyond_memory(self, fill: Fill) -> bool:
        """Whether ``fill`` is older than the memory: it can only be one the host has handled."""
        return fill.ts < self.horizon()

    def first_sighting(self, fill: Fill) -> bool:
        """Book a fill the first time its ``tradeId`` is seen; False for every later sighting.

        A fill older than the memory is never new (:meth:`beyond_memory`). The fee is booked
        against the instrument's position at once, so a close journaled right after sees every
        fee of the position, whatever order the fill tasks run in.
        """
        key = (fill.inst_id, fill.trade_id)
        if key in self._seen:
            return False
        horizon = self.horizon()
        if fill.ts < horizon:
            self.beyond += 1
            return False
        self._forget_before(horizon)
        self._seen[key] = fill.ts
        self.booked += 1
        self._fees[fill.inst_id] = self._fees.get(fill.inst_id, Decimal(0)) + fill.fee
        self._booked.setdefault(fill.inst_id, []).append(fill)
        self._last[fill.inst_id] = fill
        self._arrived_event(fill.inst_id).set()
        return True

    def catch_up(self, fill: Fill) -> bool:
        """A fill from OKX's recent fills at start-up: whether it is new (to be journaled).

        One already seen still becomes the instrument's last fill: it is the exit of a position
        that closed while no host ran. One older than the memory is journaled too (the journal
        ignores a fill it holds) but never booked.
        """
        if self.first_sighting(fill):
            return True
        self._last[fill.inst_id] = fill
        return self.beyond_memory(fill)

    def last_fill(self, inst_id: str) -> Fill | None:
        """The instrument's latest fill (an exit price when no close order of the host made it)."""
        return self._last.get(inst_id)

    def position_after(self, fill: Fill) -> Position | None:
        """The instrument's position after ``fill``: the registry's, plus the fills it lacks.

        The fills booked on the instrument that the registry's version does not count yet are
        applied in the order they arrived, up to and including ``fill``; those it counts are
        forgotten.
        """
        held = self._registry.for_instrument(fill.inst_id)
        position = held[0] if held else None
        booked = self._booked.setdefault(fill.inst_id, [])
        if position is not None:
            booked[:] = [other for other in booked if other.ts > position.updated_at]
        upto = booked.index(fill) + 1 if fill in booked else 0
        return position_after(position, booked[:upto])

    async def await_exit_fill(self, position: Position, wait_seconds: float) -> None:
        """Give the fill that closed ``position`` (a stop's, or one outside the host) a moment.

        The positions channel may say flat before the orders channel brings the fill; the exit
        price and the last fee come from that fill.
        """
        closing_side = position.side.entry_side.opposite
        event = self._arrived_event(position.inst_id)
        for _ in range(2):
            last = self._last.get(position.inst_id)
            if last is not None and last.side is closing_side and last.ts >= position.updated_at:
                return
            event.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), wait_seconds)

    def announcing(self, inst_id: str, task: asyncio.Task[object]) -> None:
        """Keep the task announcing an own stop's fill until the position's close is journaled."""
        pending = [other for other in self._announcing.get(inst_id, ()) if not other.done()]
        pending.append(task)
        self._announcing[inst_id] = pending

    def take_announcements(self, inst_id: str) -> list[asyncio.Task[object]]:
        """The stop-fill announcements of the instrument (the close waits for them); forgotten."""
        return self._announcing.pop(inst_id, [])

    def take_fees(self, inst_id: str) -> Decimal:
        """The fees booked on the instrument's closed position; its books start afresh."""
        self._booked.pop(inst_id, None)
        return self._fees.pop(inst_id, Decimal(0))

    def _forget_before(self, horizon: datetime) -> None:
        """Forget the fills seen first that are older than ``horizon``.

        Fills come in nearly in time order, so the oldest are at the front; one that came late
        with an older time is forgotten once the fills seen before it are.
        """
        while self._seen:
            oldest = next(iter(self._seen))
            if self._seen[oldest] >= horizon:
                return
            del self._seen[oldest]

    def _arrived_event(self, inst_id: str) -> asyncio.Event:
        """Set whenever a fill of the instrument is booked (a close waits for its exit fill)."""
        return self._arrived.setdefault(inst_id, asyncio.Event())


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
