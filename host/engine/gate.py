"""Per-instrument exclusivity: what may happen on an instrument now, decided in one place.

OKX's net mode holds one position per instrument, so the engine works an instrument one step at
a time: no new entry while an entry is in flight, a drift is unresolved or a close is being
journaled; no exit decision and no reconciliation of an instrument whose drift is being resolved;
and the fills and drift resolutions of one instrument run one after the other (each awaits the
journal between its reads and writes). The parts ask and tell this gate instead of keeping sets
of their own, so a reader finds every rule of the kind here.

Everything is synchronous except the serial lock: asyncio cannot switch tasks inside a method.
"""

from __future__ import annotations

import asyncio


class InstrumentGate:
    """Which instruments have an entry in flight, a drift being resolved, a close being settled."""

    def __init__(self) -> None:
        self._entering: set[str] = set()
        self._drifting: set[str] = set()
        self._settling: set[str] = set()
        self._serial: dict[str, asyncio.Lock] = {}

    # --- entries ------------------------------------------------------------------------------

    def begin_entry(self, inst_id: str) -> None:
        """An own entry is on its way: the instrument takes no other until it is done."""
        self._entering.add(inst_id)

    def end_entry(self, inst_id: str) -> None:
        """The instrument's entry is done (filled, or ended without a fill)."""
        self._entering.discard(inst_id)

    def entering(self, inst_id: str) -> bool:
        """Whether an own entry is in flight on the instrument (a new position there is its)."""
        return inst_id in self._entering

    def entries_in_flight(self) -> int:
        """How many instruments have an entry in flight (they count against the open limit)."""
        return len(self._entering)

    # --- drifts and closes --------------------------------------------------------------------

    def begin_drift(self, inst_id: str) -> None:
        """A drift of the instrument is being resolved: nothing else happens there meanwhile."""
        self._drifting.add(inst_id)

    def end_drift(self, inst_id: str) -> None:
        """The instrument's drift is resolved."""
        self._drifting.discard(inst_id)

    def drifting(self, inst_id: str) -> bool:
        """Whether a drift of the instrument is being resolved (exits and adoption wait)."""
        return inst_id in self._drifting

    def begin_settle(self, inst_id: str) -> None:
        """A flat position of the instrument is being journaled: no entry until that is done."""
        self._settling.add(inst_id)

    def end_settle(self, inst_id: str) -> None:
        """The instrument's close is journaled."""
        self._settling.discard(inst_id)

    # --- questions ----------------------------------------------------------------------------

    def may_enter(self, inst_id: str) -> bool:
        """No entry in flight, no drift unresolved and no close being journaled."""
        return not (
            inst_id in self._entering or inst_id in self._drifting or inst_id in self._settling
        )

    def may_reconcile(self, inst_id: str) -> bool:
        """Whether a snapshot may judge the instrument (not while its entry or drift is open)."""
        return inst_id not in self._drifting and inst_id not in self._entering

    def serial(self, inst_id: str) -> asyncio.Lock:
        """The lock that runs the instrument's fills and drift resolutions one at a time."""
        return self._serial.setdefault(inst_id, asyncio.Lock())
