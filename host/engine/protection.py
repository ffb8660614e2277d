"""Exchange-side protection: every open position backed by its own stop order on OKX.

The client-side stop (the registry's, checked on each tick by the exit desk) protects a position
only while the host runs; the stop resting on the exchange protects it when the host or its
connection is gone. This part owns the ``algoId`` of each position's stop, moves it after the
client-side stop (no more often than ``stop_amend_min_seconds``), puts back one that failed, was
canceled outside the host or sits on the wrong side after a flip, and remembers which
instruments' stops fired, so their closes are credited to them.

A placement that failed is tried again within seconds (:data:`REPLACE_FIRST_SECONDS`, doubling
to :data:`REPLACE_CEILING_SECONDS`), not only at the next reconciliation: a run of REST failures
on ``trade/order-algo`` left a position without an exchange-side stop for 28 s in the fault
suite (a reconciliation interval per failure; 30 s each by default).

A placement that failed may still have reached OKX (its reply was lost), and the position is
then protected again: each reconciliation cancels every stop of the host's resting beside the
one a protected position holds on its closing side. Otherwise each lost reply left one more
stop resting on the exchange, each closing the whole position.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from host.clock import Clock
from host.domain import Position
from host.engine.execution import Executor
from host.engine.tasks import EngineTasks
from host.exchange.api import OkxApi
from host.exchange.backoff import Backoff
from host.exchange.events import AlgoOrderPush
from host.notify.events import unprotected_event
from host.notify.service import Notifier
from host.registry import PositionRegistry
from host.settings import EngineSettings

STOP_FIRED_STATES = frozenset({"effective", "order_placed", "filled", "partially_effective"})
"""``orders-algo`` states of a stop whose trigger was reached and that placed its close order."""

REPLACE_FIRST_SECONDS = 1.0
"""Wait before placing again a stop whose placement failed; doubles per further failure."""
REPLACE_CEILING_SECONDS = 4.0
"""Longest wait between placements of a stop that keeps failing (one REST call per position)."""
REPLACE_BACKOFF = Backoff(REPLACE_FIRST_SECONDS, ceiling_seconds=REPLACE_CEILING_SECONDS)


class ExchangeStops:
    """The host's stop orders on the exchange, one per open position."""

    def __init__(
        self,
        settings: EngineSettings,
        registry: PositionRegistry,
        executor: Executor,
        api: OkxApi,
        clock: Clock,
        tasks: EngineTasks,
        notifier: Notifier,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._executor = executor
        self._api = api
        self._clock = clock
        self._tasks = tasks
        self._notifier = notifier
        self._algo_ids: dict[str, str] = {}
        """Each protected position's stop on the exchange, by ``posId``."""
        self._levels: dict[str, Decimal] = {}
        """Where each of those stops rests, as last placed, moved or listed by OKX."""
        self._to_move: set[str] = set()
        self._last_move: dict[str, float] = {}
        self._fired: set[str] = set()
        """Instruments whose exchange-side stop traded: their next close is credited to it."""
        self._placing: set[str] = set()
        """``posId``s whose stop is being placed: a second placement would add a second stop."""
        self._failed: dict[str, tuple[int, float]] = {}
        """Positions whose stop placement failed: failures in a row, and when to try again."""

    def protected(self) -> frozenset[str]:
        """The ``posId``s with a stop resting on the exchange."""
        return frozenset(self._algo_ids)

    def level(self, pos_id: str) -> Decimal | None:
        """Where the position's stop rests on the exchange, if known (the status page shows it)."""
        return self._levels.get(pos_id) if pos_id in self._algo_ids else None

    def is_own(self, algo_cl_ord_id: str) -> bool:
        """Whether an algo order's client id is one of the host's (its stops)."""
        return algo_cl_ord_id.startswith(self._executor.ids.prefix)

    async def protect(self, position: Position) -> None:
        """Back ``position`` with a stop order on the exchange at its stop (if configured)."""
        pos_id = position.pos_id
        if not self._settings.exchange_stops or position.stop is None or pos_id in self._placing:
            return
        self._placing.add(pos_id)
        try:
            algo_id = await self._executor.place_stop(position, position.stop)
        finally:
            self._placing.discard(pos_id)
        if algo_id is None:
            failures = self._failed.get(pos_id, (0, 0.0))[0] + 1
            again = self._clock.monotonic() + REPLACE_BACKOFF.delay(failures - 1)
            self._failed[pos_id] = (failures, again)
            if failures == 1:  # one alert for the run of failures
                self._notifier.emit(unprotected_event, self._clock.now(), position)
            return
        self._failed.pop(pos_id, None)
        self._algo_ids[position.pos_id] = algo_id
        self._levels[position.pos_id] = position.stop
        self._last_move[position.pos_id] = self._clock.monotonic()

    def reuse(self, pos_id: str, algo_id: str) -> None:
        """At a restart: an own stop already rests for the position; move it to its stop."""
        self._algo_ids[pos_id] = algo_id
        self.mark_to_move(pos_id)

    def mark_to_move(self, pos_id: str) -> None:
        """Have the position's exchange-side stop moved to its stop at the next chance."""
        self._to_move.add(pos_id)

    def replace_due(self) -> None:
        """Place again the stops whose placement failed, once their wait is over (a chore)."""
        if not self._failed:  # called every second: nothing to copy when nothing failed
            return
        now = self._clock.monotonic()
        for pos_id, (_, again) in list(self._failed.items()):
            position = self._registry.get(pos_id)
            if position is None or self._registry.is_closing(pos_id) or pos_id in self._algo_ids:
                del self._failed[pos_id]  # gone, on its way out, or protected meanwhile
            elif now >= again and pos_id not in self._placing:
                self._tasks.spawn(self.protect(position))

    def move_due(self) -> None:
        """Move the stops marked to move whose last move is old enough (a chore)."""
        if not self._to_move:  # called on every tick: nothing to copy when nothing is marked
            return
        now = self._clock.monotonic()
        for pos_id in list(self._to_move):
            if now - self._last_move.get(pos_id, 0.0) < self._settings.stop_amend_min_seconds:
                continue
            self._to_move.discard(pos_id)
            position = self._registry.get(pos_id)
            algo_id = self._algo_ids.get(pos_id)
            if position is None or position.stop is None or algo_id is None:
                continue
            self._last_move[pos_id] = now
            self._tasks.spawn(self._move(pos_id, position.inst_id, algo_id, position.stop))

    async def _move(self, pos_id: str, inst_id: str, algo_id: str, level: Decimal) -> None:
        if await self._executor.move_stop(inst_id, algo_id, level):
            self._levels[pos_id] = level

    async def check(self, stops: tuple[AlgoOrderPush, ...] | None = None) -> None:
        """Make sure every open position has its own stop resting on the exchange.

        On the right side: one that failed to be placed, was canceled outside the host, or
        belongs to the side before a flip is placed anew; one left behind a tightened stop is
        moved.
        """
        if not self._settings.exchange_stops:
            return
        if stops is None:
            stops = await self._api.pending_stops("conditional")
        ours = {stop.algo_id: stop for stop in stops if self.is_own(stop.algo_cl_ord_id)}
        for position in self._registry.positions():
            if position.stop is None or self._registry.is_closing(position.pos_id):
                continue
            algo_id = self._algo_ids.get(position.pos_id)
            resting = ours.get(algo_id) if algo_id is not None else None
            closing_side = position.side.entry_side.opposite.value
            if resting is not None and resting.side == closing_side:
                if resting.trigger_price is not None:
                    self._levels[position.pos_id] = resting.trigger_price
                if resting.trigger_price != position.stop:
                    self.mark_to_move(position.pos_id)
                continue
            if resting is not None:  # the stop of the side before a flip: it would add, not cut
                self._tasks.spawn(self._executor.cancel_stop(position.inst_id, resting.algo_id))
            self._algo_ids.pop(position.pos_id, None)
            self._tasks.spawn(self.protect(position))
        self._cancel_seconds(ours.values())

    def _cancel_seconds(self, ours: Iterable[AlgoOrderPush]) -> None:
        """Cancel own stops resting beside the one a protected position holds on its side."""
        held = set(self._algo_ids.values())
        covered = {
            (position.inst_id, position.side.entry_side.opposite.value)
            for position in self._registry.positions()
            if position.pos_id in self._algo_ids and position.pos_id not in self._placing
        }
        for stop in ours:
            if stop.algo_id not in held and (stop.inst_id, stop.side) in covered:
                self._tasks.spawn(self._executor.cancel_stop(stop.inst_id, stop.algo_id))

    def on_algo(self, push: AlgoOrderPush) -> None:
        """Note what became of an exchange-side stop.

        One that fired gets its position's close credited to it; one canceled while its
        position is still open (e.g. canceled in OKX's app) is put back.
        """
        for pos_id, algo_id in list(self._algo_ids.items()):
            if algo_id != push.algo_id:
                continue
            if push.state in STOP_FIRED_STATES:
                self._fired.add(push.inst_id)
            elif push.state == "canceled":
                del self._algo_ids[pos_id]
                position = self._registry.get(pos_id)
                if position is not None and not self._registry.is_closing(pos_id):
                    self._tasks.spawn(self.protect(position))

    def fired_on(self, inst_id: str) -> None:
        """One of the host's stops traded: credit the instrument's close to it.

        By instrument (one position each in net mode): the positions channel may already have
        reported the position flat and the registry dropped it.
        """
        self._fired.add(inst_id)

    def take_fired(self, inst_id: str) -> bool:
        """Whether the instrument's stop fired since its last close; forgotten once asked."""
        fired = inst_id in self._fired
        self._fired.discard(inst_id)
        return fired

    def release(self, position: Position) -> None:
        """A closed position's stop has nothing left to protect: cancel it, forget the position."""
        self._last_move.pop(position.pos_id, None)
        self._to_move.discard(position.pos_id)
        self._failed.pop(position.pos_id, None)
        algo_id = self._algo_ids.pop(position.pos_id, None)
        self._levels.pop(position.pos_id, None)
        if algo_id is not None:
            self._tasks.spawn(self._executor.cancel_stop(position.inst_id, algo_id))
