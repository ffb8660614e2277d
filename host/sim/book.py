"""A synthetic order book per instrument: the liquidity taker orders walk and quotes are read from.

OKX's book is other people's orders; ours is shaped by a seeded random source around the last
trade, deep enough that a market order always completes. A taker order consumes what it takes,
so a second order right after the first pays the next levels, as on a thin real book.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from host.sim.instruments import SimInstrument


@dataclass(slots=True)
class Level:
    """One price level: price, resting size in contracts, number of orders."""

    px: Decimal
    sz: Decimal
    orders: int


@dataclass(slots=True)
class Book:
    """Bids best-first (descending) and asks best-first (ascending)."""

    inst: SimInstrument
    rng: random.Random
    depth: int
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)
    seq_id: int = 0
    _offsets: list[Decimal] = field(init=False, repr=False)
    """``tick * i`` for each level ``i`` below the depth (the book is rebuilt on every trade)."""
    _sizes: list[Decimal] = field(init=False, repr=False)
    """``min_sz * lots`` for each number of lots a level may hold."""

    def __post_init__(self) -> None:
        self._offsets = [self.inst.tick_sz * i for i in range(self.depth)]
        self._sizes = [self.inst.min_sz * lots for lots in range(MOST_LOTS + 1)]

    @property
    def best_bid(self) -> Decimal:
        """The highest bid price."""
        return self.bids[0].px

    @property
    def best_ask(self) -> Decimal:
        """The lowest ask price."""
        return self.asks[0].px

    @property
    def mid(self) -> Decimal:
        """Half-way between the touch prices."""
        return (self.best_bid + self.best_ask) / 2

    def reshape(self, last: Decimal, taker_side: str) -> None:
        """Rebuild the book around a trade at ``last``: the taker's side of the touch sits at it.

        A buy taker lifted the ask, so the ask stays at ``last`` and the bid is one or two ticks
        below; a sell taker hit the bid, mirrored.
        """
        tick = self.inst.tick_sz
        gap = tick * self.rng.randint(1, 2)
        if taker_side == "buy":
            best_ask, best_bid = last, last - gap
        else:
            best_bid, best_ask = last, last + gap
        best_bid = max(best_bid, tick)
        self.bids = [level for level in self._levels(best_bid, below=True) if level.px > 0]
        self.asks = self._levels(best_ask, below=False)
        self.seq_id += 1

    def take(
        self, taker_side: str, size: Decimal, limit: Decimal | None
    ) -> list[tuple[Decimal, Decimal]]:
        """Consume up to ``size`` from the opposite side, never beyond ``limit``; return the fills.

        Levels past the visible depth are made on demand, so a market order always completes.
        """
        levels = self.asks if taker_side == "buy" else self.bids
        step = self.inst.tick_sz if taker_side == "buy" else -self.inst.tick_sz
        fills: list[tuple[Decimal, Decimal]] = []
        remaining = size
        while remaining > 0:
            if not levels:
                beyond = fills[-1][0] if fills else self.inst.start_px
                levels.append(self._level(beyond + step))
            level = levels[0]
            if level.px <= 0 or (limit is not None and not _within(taker_side, level.px, limit)):
                break
            qty = min(remaining, level.sz)
            fills.append((level.px, qty))
            remaining -= qty
            level.sz -= qty
            if level.sz == 0:
                levels.pop(0)
        if fills:
            self.seq_id += 1
        return fills

    def available(self, taker_side: str, limit: Decimal) -> Decimal:
        """How much a taker could get at ``limit`` or better from the visible book."""
        levels = self.asks if taker_side == "buy" else self.bids
        return sum((lv.sz for lv in levels if _within(taker_side, lv.px, limit)), Decimal(0))

    def crosses(self, side: str, px: Decimal) -> bool:
        """Tell whether a limit order at ``px`` would take liquidity on arrival."""
        if side == "buy":
            return bool(self.asks) and px >= self.best_ask
        return bool(self.bids) and px <= self.best_bid

    def _level(self, px: Decimal) -> Level:
        lots = randint_from_one(self.rng, MOST_LOTS)
        return Level(px, self._sizes[lots], randint_from_one(self.rng, MOST_ORDERS))

    def _levels(self, best: Decimal, *, below: bool) -> list[Level]:
        """The book's depth of levels from ``best`` outwards, drawn as :meth:`_level` draws.

        The same prices and draws as ``_level`` level by level (sizes first, then orders), in
        one loop: it runs on every trade.
        """
        rng, sizes = self.rng, self._sizes
        return [
            Level(
                best - offset if below else best + offset,
                sizes[randint_from_one(rng, MOST_LOTS)],
                randint_from_one(rng, MOST_ORDERS),
            )
            for offset in self._offsets
        ]


MOST_LOTS = 400
"""Most minimum sizes resting at one level."""
MOST_ORDERS = 12
"""Most orders making up one level."""


def randint_from_one(rng: random.Random, high: int) -> int:
    """``rng.randint(1, high)``: the same number from the same state, for a fraction of its cost.

    The book draws two numbers per level, forty levels per trade: ``randint``'s argument checks
    were the largest cost of a fast replay. This is CPython's own draw behind ``randint`` (its
    ``_randbelow``: ``high.bit_length()`` random bits until a value below ``high`` comes), so a
    seed still gives the same market (tests/test_fast_replay.py holds it to ``randint``).
    """
    bits = high.bit_length()
    value = rng.getrandbits(bits)
    while value >= high:
        value = rng.getrandbits(bits)
    return value + 1


def _within(taker_side: str, px: Decimal, limit: Decimal) -> bool:
    """Tell whether a level at ``px`` is acceptable to a taker limited at ``limit``."""
    return px <= limit if taker_side == "buy" else px >= limit
