"""Ground truth: every order change, fill, position change and balance change, in order.

Tests compare what a client believes with what the exchange did; the pushes a client sees may be
duplicated, reordered or dropped by fault injection, but the ledger is written by the matching
engine itself and never by the push path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One fact of the exchange's history.

    ``kind`` is ``order``, ``fill``, ``position`` or ``balance``; ``ts`` an OKX ms string;
    ``data`` uses OKX field names with string values.
    """

    seq: int
    kind: str
    ts: str
    data: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The entry as plain JSON-ready data."""
        return {"seq": self.seq, "kind": self.kind, "ts": self.ts, "data": dict(self.data)}


class Ledger:
    """Append-only list of :class:`LedgerEntry`, with the queries tests need."""

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []

    def record(self, kind: str, ts: str, **data: str) -> None:
        """Append a fact."""
        self._entries.append(LedgerEntry(len(self._entries) + 1, kind, ts, data))

    def entries(self, kind: str | None = None) -> list[LedgerEntry]:
        """Every entry, or only those of ``kind``."""
        return [e for e in self._entries if kind is None or e.kind == kind]

    def fills(self, inst_id: str | None = None) -> list[dict[str, str]]:
        """Every fill (``tradeId``, ``ordId``, ``side``, ``fillPx``, ``fillSz``, ``fee``, …)."""
        return [
            e.data for e in self.entries("fill") if inst_id is None or e.data["instId"] == inst_id
        ]

    def position(self, inst_id: str, pos_side: str = "net") -> Decimal:
        """The latest recorded ``pos`` of a position (0 if it never existed)."""
        sizes = [
            e.data["pos"]
            for e in self.entries("position")
            if e.data["instId"] == inst_id and e.data["posSide"] == pos_side
        ]
        return Decimal(sizes[-1]) if sizes else Decimal(0)

    def as_json(self) -> list[dict[str, Any]]:
        """The whole ledger as JSON-ready data (the admin endpoint serves it)."""
        return [entry.as_dict() for entry in self._entries]

    def digest(self) -> str:
        """SHA-256 of the canonical ledger: equal digests mean identical histories."""
        text = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()
