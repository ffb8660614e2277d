"""The position registry: what the host believes is open, and how it catches up with the exchange.

The exchange is the source of truth for side, size and entry; the registry adds what only the host
knows (origin, protective stop). Three rules make the old bot's worst failures impossible here:

* **No bare position.** A position enters only through :meth:`PositionRegistry.track`, which
  demands a stop, or through a resolved drift. An exchange push for a position the registry does
  not know is never inserted silently: :meth:`PositionRegistry.apply` hands it back as an *add*
  drift, which must be adopted with a stop or flattened. Only a position being flattened may lack
  a stop, and :meth:`PositionRegistry.unprotected` lists any that does not (it is always empty).
* **Stops only tighten.** :meth:`PositionRegistry.set_stop` refuses a looser stop, and merging an
  exchange update keeps the stop already set.
* **One close per position.** :meth:`PositionRegistry.claim_close` lets exactly one task own the
  close of a position; a racing second task is told no instead of closing it twice.

Everything here is synchronous and I/O-free: asyncio cannot switch tasks inside a method, so each
method is atomic with respect to the event loop without any lock of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal

from host.decisions import Accept, Adopt, DriftResolution, Flatten
from host.domain import Drift, DriftKind, Position, PositionOrigin, PositionSide


class RegistryError(ValueError):
    """A change the registry refuses because it would break one of its rules."""


class UnprotectedPositionError(RegistryError):
    """A position would be held without a protective stop."""


class StopLoosenedError(RegistryError):
    """A new stop is further from the market than the current one."""


class PositionRegistry:
    """Open positions by ``posId``, indexed by instrument for the per-tick exit call."""

    def __init__(self) -> None:
        self._positions: dict[str, Position] = {}
        self._by_instrument: dict[str, tuple[Position, ...]] = {}
        self._flattening: set[str] = set()
        self._closing: set[str] = set()
        self._flat = asyncio.Event()
        self._flat.set()

    # --- reading -------------------------------------------------------------------------------

    def get(self, pos_id: str) -> Position | None:
        """The position with ``pos_id``, or ``None``."""
        return self._positions.get(pos_id)

    def positions(self) -> tuple[Position, ...]:
        """Every open position, in ``posId`` order."""
        return tuple(self._positions[pos_id] for pos_id in sorted(self._positions))

    def for_instrument(self, inst_id: str) -> tuple[Position, ...]:
        """The open positions of one instrument: a prebuilt tuple, so a tick allocates nothing."""
        return self._by_instrument.get(inst_id, ())

    def unprotected(self) -> tuple[Position, ...]:
        """Positions without a stop that are not being flattened: empty, by construction."""
        return tuple(
            position
            for position in self.positions()
            if position.stop is None and position.pos_id not in self._flattening
        )

    def is_flattening(self, pos_id: str) -> bool:
        """Whether a drift resolution decided to close this position at the market."""
        return pos_id in self._flattening

    # --- positions the host opens --------------------------------------------------------------

    def track(self, position: Position) -> None:
        """Start tracking a position the host opened or adopted; it must carry its stop."""
        if position.size <= 0:
            raise RegistryError(f"{position.pos_id}: a tracked position needs a positive size")
        if position.stop is None:
            raise UnprotectedPositionError(f"{position.pos_id}: refusing a position without stop")
        if position.pos_id in self._positions:
            raise RegistryError(f"{position.pos_id}: already tracked; its updates go through apply")
        self._store(position)

    def set_stop(self, pos_id: str, stop: Decimal) -> Position:
        """Move a position's stop, only ever toward the market."""
        position = self._require(pos_id)
        if position.stop is not None and not _at_least_as_tight(position.side, stop, position.stop):
            raise StopLoosenedError(f"{pos_id}: stop {stop} is looser than {position.stop}")
        updated = replace(position, stop=stop)
        self._store(updated)
        return updated

    # --- what the exchange says ----------------------------------------------------------------

    def apply(self, update: Position) -> Drift | None:
        """Merge one exchange push (OKX ``positions`` channel); idempotent.

        Returns ``None`` when the registry now agrees with the exchange: a known position on the
        same side takes the exchange's size, entry and times and keeps its stop; size zero removes
        a position the host is closing itself (:meth:`claim_close`); an update older than what is
        held (``uTime``) is ignored. Returns a :class:`Drift` when the registry cannot agree on
        its own — an unknown position (*add*), a flipped side (*change*, the old stop is on the
        wrong side) or a position reported flat that the host is not closing (*remove*: believed,
        it would cancel the position's exchange-side stop) — for the caller to confirm and
        resolve (:meth:`resolve`).
        """
        known = self._positions.get(update.pos_id)
        if known is not None and update.updated_at < known.updated_at:
            return None
        if update.size == 0:
            if known is None:
                return None
            if update.pos_id not in self._closing:
                return Drift(DriftKind.REMOVE, update.pos_id, update.inst_id, None, known)
            self._remove(update.pos_id)
            return None
        if known is None:
            return Drift(DriftKind.ADD, update.pos_id, update.inst_id, update, None)
        if known.side is not update.side:
            return Drift(DriftKind.CHANGE, update.pos_id, update.inst_id, update, known)
        self._store(_merged(known, update))
        return None

    def drift(
        self, snapshot: Iterable[Position], marks: Mapping[str, Decimal] | None = None
    ) -> list[Drift]:
        """Compare the registry with a full exchange snapshot, in ``posId`` order.

        *add*: on the exchange, unknown here; *remove*: known here, gone from the exchange;
        *change*: side, size or entry differ. ``marks`` (by instrument) travel with each drift so
        an adopted position's first stop is placed from the market.
        """
        marks = marks or {}
        exchange = {position.pos_id: position for position in snapshot if position.size > 0}
        drifts = [
            Drift(DriftKind.REMOVE, pos_id, here.inst_id, None, here, marks.get(here.inst_id))
            for pos_id, here in self._positions.items()
            if pos_id not in exchange
        ]
        for pos_id, there in exchange.items():
            here = self._positions.get(pos_id)
            if here is None:
                kind = DriftKind.ADD
            elif here.exchange_state != there.exchange_state:
                kind = DriftKind.CHANGE
            else:
                continue
            drifts.append(Drift(kind, pos_id, there.inst_id, there, here, marks.get(there.inst_id)))
        return sorted(drifts, key=lambda drift: drift.pos_id)

    def resolve(self, drift: Drift, resolution: DriftResolution) -> Position | None:
        """Make the registry agree with ``drift.exchange`` the way ``resolution`` says.

        *Adopt* tracks the exchange's position with the tighter of the adopted and the known stop
        (on the same side); *Accept* takes the exchange's version when that keeps it protected;
        *Flatten* records the position as being closed at the market. Returns the position now
        held, or ``None`` when it is gone.
        """
        there, here = drift.exchange, self._positions.get(drift.pos_id)
        if there is None:
            if not isinstance(resolution, Accept):
                raise RegistryError(f"{drift.pos_id}: a vanished position can only be accepted")
            self._remove(drift.pos_id)
            return None
        same_side = here is not None and here.side is there.side
        if isinstance(resolution, Flatten):
            position = _merged(here, there) if here is not None and same_side else there
            self._flattening.add(drift.pos_id)
        elif isinstance(resolution, Adopt):
            position = _adopted(there, here, resolution.stop)
            self._flattening.discard(drift.pos_id)
        elif here is not None and here.stop is not None and same_side:
            position = _merged(here, there)
        else:
            raise UnprotectedPositionError(f"{drift.pos_id}: accepting it would leave it bare")
        self._store(position)
        return position

    # --- one close, one exit analysis at a time -----------------------------------------------

    def claim_close(self, pos_id: str) -> bool:
        """Claim the right to close ``pos_id``; ``False`` when another task already holds it.

        The claim lasts until :meth:`release_close` (the close failed and may be retried) or
        until the exchange reports the position gone.
        """
        if pos_id not in self._positions or pos_id in self._closing:
            return False
        self._closing.add(pos_id)
        return True

    def release_close(self, pos_id: str) -> None:
        """Give up a close claim so a later decision may try again."""
        self._closing.discard(pos_id)

    def is_closing(self, pos_id: str) -> bool:
        """Whether a task holds the close claim of ``pos_id``."""
        return pos_id in self._closing

    # --- bookkeeping ---------------------------------------------------------------------------

    def _require(self, pos_id: str) -> Position:
        position = self._positions.get(pos_id)
        if position is None:
            raise RegistryError(f"{pos_id}: no such open position")
        return position

    async def wait_flat(self) -> None:
        """Return once no position is open (a shutdown closing everything waits on this)."""
        await self._flat.wait()

    def _store(self, position: Position) -> None:
        previous = self._positions.get(position.pos_id)
        self._positions[position.pos_id] = position
        self._flat.clear()
        self._reindex(position.inst_id)
        if previous is not None and previous.inst_id != position.inst_id:
            self._reindex(previous.inst_id)

    def _remove(self, pos_id: str) -> None:
        position = self._positions.pop(pos_id, None)
        self._flattening.discard(pos_id)
        self._closing.discard(pos_id)
        if position is not None:
            self._reindex(position.inst_id)
        if not self._positions:
            self._flat.set()

    def _reindex(self, inst_id: str) -> None:
        held = tuple(p for p in self.positions() if p.inst_id == inst_id)
        if held:
            self._by_instrument[inst_id] = held
        else:
            self._by_instrument.pop(inst_id, None)


def _merged(known: Position, update: Position) -> Position:
    """The exchange's facts with the host's origin and stop."""
    return replace(update, origin=known.origin, stop=known.stop)


def _adopted(there: Position, here: Position | None, stop: Decimal) -> Position:
    if here is None:
        return replace(there, origin=PositionOrigin.ADOPTED, stop=stop)
    if here.side is there.side and here.stop is not None:
        stop = stop if _at_least_as_tight(there.side, stop, here.stop) else here.stop
    return replace(there, origin=here.origin, stop=stop)


def _at_least_as_tight(side: PositionSide, stop: Decimal, current: Decimal) -> bool:
    """A long's stop tightens upward, a short's downward."""
    return stop >= current if side is PositionSide.LONG else stop <= current
