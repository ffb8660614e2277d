"""A synthetic order book per instrument: the liquidity taker orders walk and quotes are read from.

OKX's book is other people's orders; ours is shaped by a seeded random source around the last
trade, deep enough that a market order always completes. A taker order consumes what it takes,
so a second order right after the first pays the next levels, as on a thin real book.
"""

from __future__ import annotations

import random
import struct
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
    """Bids best-first (descending) and asks best-first (ascending).

    The book is redrawn around every trade, but its levels are seldom all read (a ticker reads
    the touch; only a taker order or a ``books`` subscriber reads deeper): a reshape draws its
    numbers (the random source must move on as it always did, so a seed keeps its market) and
    makes the :class:`Level` objects only when :attr:`bids` or :attr:`asks` is first read.
    """

    inst: SimInstrument
    rng: random.Random
    depth: int
    seq_id: int = 0
    _touch: tuple[Decimal, Decimal] = field(init=False, repr=False)
    """The best bid and ask prices of the last reshape (before any take)."""
    _draws: list[int] = field(init=False, repr=False)
    """The last reshape's draws: lots, orders for each bid level, then for each ask level."""
    _bids: list[Level] | None = field(init=False, repr=False, default=None)
    _asks: list[Level] | None = field(init=False, repr=False, default=None)
    _offsets: list[Decimal] = field(init=False, repr=False)
    """``tick * i`` for each level ``i`` below the depth (the book is rebuilt on every trade)."""
    _sizes: list[Decimal] = field(init=False, repr=False)
    """``min_sz * lots`` for each number of lots a level may hold."""

    def __post_init__(self) -> None:
        self._offsets = [self.inst.tick_sz * i for i in range(self.depth)]
        self._sizes = [self.inst.min_sz * lots for lots in range(MOST_LOTS + 1)]

    @property
    def bids(self) -> list[Level]:
        """The bid levels, best first (made from the last reshape's draws on first reading)."""
        if self._bids is None:
            self._bids = self._side(bid_side=True, count=self.depth)
        return self._bids

    @property
    def asks(self) -> list[Level]:
        """The ask levels, best first (made from the last reshape's draws on first reading)."""
        if self._asks is None:
            self._asks = self._side(bid_side=False, count=self.depth)
        return self._asks

    def head(self, *, bid_side: bool, count: int) -> list[Level]:
        """The best ``count`` levels of a side, for reading only (the deeper ones are not made)."""
        levels = self._bids if bid_side else self._asks
        if levels is not None:
            return levels[:count]
        return self._side(bid_side=bid_side, count=min(count, self.depth))

    @property
    def best_bid(self) -> Decimal:
        """The highest bid price."""
        return self._touch[0] if self._bids is None else self._bids[0].px

    @property
    def best_ask(self) -> Decimal:
        """The lowest ask price."""
        return self._touch[1] if self._asks is None else self._asks[0].px

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
        gap = tick * randint_from_one(self.rng, 2)
        if taker_side == "buy":
            best_ask, best_bid = last, last - gap
        else:
            best_bid, best_ask = last, last + gap
        self._touch = (max(best_bid, tick), best_ask)
        self._draws = draw_levels(self.rng, 2 * self.depth)
        self._bids = self._asks = None
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

    def _side(self, *, bid_side: bool, count: int) -> list[Level]:
        """The first ``count`` levels of a side from the last reshape's draws (bids above 0)."""
        draws, sizes, offsets = self._draws, self._sizes, self._offsets
        if bid_side:
            best = self._touch[0]
            levels = [
                Level(best - offsets[i], sizes[draws[2 * i]], draws[2 * i + 1])
                for i in range(count)
            ]
            return [level for level in levels if level.px > 0]
        best, first = self._touch[1], 2 * self.depth
        return [
            Level(best + offsets[i], sizes[draws[first + 2 * i]], draws[first + 2 * i + 1])
            for i in range(count)
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


_WORD_BITS = 32


def _bound(high: int) -> tuple[int, int]:
    """A 32-bit word ``w`` gives ``randint(1, high)`` as ``(w >> shift) + 1`` iff ``w < bound``.

    ``getrandbits(k)`` for ``k <= 32`` is the top ``k`` bits of one 32-bit output of the
    generator, and ``randint`` draws ``high.bit_length()`` bits until the value is below ``high``.
    """
    shift = _WORD_BITS - high.bit_length()
    return high << shift, shift


_LOTS_BOUND, _LOTS_SHIFT = _bound(MOST_LOTS)
_ORDERS_BOUND, _ORDERS_SHIFT = _bound(MOST_ORDERS)


def draw_levels(rng: random.Random, levels: int) -> list[int]:
    """``levels`` pairs of ``randint(1, MOST_LOTS)``, ``randint(1, MOST_ORDERS)``, flattened.

    The same numbers from the same state as drawing them one by one (and the generator left in
    the same state), with one call to the generator per round instead of one per draw: a
    reshape draws eighty of them on every trade. Each draw uses at least one 32-bit output, so
    asking for as many outputs as draws are still missing never takes one too many;
    ``getrandbits(32 * n)`` holds ``n`` consecutive outputs, the first in the lowest bits.
    """
    draws: list[int] = []
    lots_turn = True
    missing = 2 * levels
    while missing:
        raw = rng.getrandbits(_WORD_BITS * missing).to_bytes(4 * missing, "little")
        for word in struct.unpack(f"<{missing}I", raw):
            if lots_turn:
                if word < _LOTS_BOUND:
                    draws.append((word >> _LOTS_SHIFT) + 1)
                    lots_turn = False
            elif word < _ORDERS_BOUND:
                draws.append((word >> _ORDERS_SHIFT) + 1)
                lots_turn = True
        missing = 2 * levels - len(draws)
    return draws


def _within(taker_side: str, px: Decimal, limit: Decimal) -> bool:
    """Tell whether a level at ``px`` is acceptable to a taker limited at ``limit``."""
    return px <= limit if taker_side == "buy" else px >= limit
