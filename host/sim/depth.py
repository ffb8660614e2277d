"""The ``books`` channel: a full snapshot, then only the levels that changed, chained by sequence.

OKX's 400-level ``books`` channel sends ``action:"snapshot"`` after the subscribe ack, then
``action:"update"`` messages carrying only the levels that changed (size ``"0"`` deletes a level),
each with ``prevSeqId`` (the ``seqId`` of the message before it, ``-1`` on a snapshot) and a
``checksum`` a client can check its rebuilt book against. All subscribers of an instrument see the
same chain, so the last state pushed is kept once per instrument, and a new subscriber's snapshot is
taken only after the others have been brought up to date (its first update then follows on).

The checksum is OKX's documented one: the first 25 bids and asks interleaved as
``bid1px:bid1sz:ask1px:ask1sz:bid2px:…`` (a side with fewer levels simply ends), CRC32 of that
text as a *signed* 32-bit integer. OKX announced (May 2026) that it will send ``0`` there instead;
the simulator keeps sending the real value, which clients that check it and clients that ignore it
both accept.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from host.sim.market import InstrumentMarket, wire_level
from host.sim.wire import JsonDict, ms

CHECKSUM_LEVELS = 25
MAX_LEVELS = 400
"""The ``books`` channel's depth; the synthetic book holds ``SimConfig.book_levels`` of them."""


def checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """OKX's order book checksum of best-first ``bids`` and ``asks`` (wire strings)."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        for side in (bids, asks):
            if i < len(side):
                parts.extend(side[i][:2])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@dataclass(slots=True)
class DepthFeed:
    """What the ``books`` channel of one instrument last pushed (price text → level)."""

    seq_id: int = -1
    bids: dict[str, list[str]] = field(default_factory=dict)
    asks: dict[str, list[str]] = field(default_factory=dict)

    def update(self, market: InstrumentMarket) -> JsonDict | None:
        """The ``update`` item taking subscribers from the last push to ``market``'s book.

        None when the book has not changed since; the state pushed is remembered either way.
        """
        book = market.book
        if book.seq_id == self.seq_id:
            return None
        bids = _levels(market, bid_side=True)
        asks = _levels(market, bid_side=False)
        record: JsonDict = {
            "asks": _changes(self.asks, asks),
            "bids": _changes(self.bids, bids),
            "ts": ms(market.ts),
            "checksum": checksum(list(bids.values()), list(asks.values())),
            "prevSeqId": self.seq_id,
            "seqId": book.seq_id,
        }
        self.bids, self.asks, self.seq_id = bids, asks, book.seq_id
        return record

    def snapshot(self, market: InstrumentMarket) -> JsonDict:
        """The ``snapshot`` item of the state last pushed (call :meth:`update` first)."""
        bids, asks = list(self.bids.values()), list(self.asks.values())
        return {
            "asks": asks,
            "bids": bids,
            "ts": ms(market.ts),
            "checksum": checksum(bids, asks),
            "prevSeqId": -1,
            "seqId": self.seq_id,
        }


def _levels(market: InstrumentMarket, *, bid_side: bool) -> dict[str, list[str]]:
    levels = market.book.bids if bid_side else market.book.asks
    rows = [wire_level(level) for level in levels[:MAX_LEVELS] if level.sz > 0]
    return {row[0]: row for row in rows}


def _changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[list[str]]:
    """Levels new or changed in ``after``, and ``[px, "0", "0", "0"]`` for those gone."""
    changed = [row for px, row in after.items() if before.get(px) != row]
    gone = [[px, "0", "0", "0"] for px in before if px not in after]
    return changed + gone
