"""A seeded market: several instruments moving through trending, ranging and choppy segments.

A default run needs no download, and a test needs a market that behaves like one — drifts that
last, ranges that revert, noise that whipsaws stops — and that replays exactly from its seed.
Prices move in whole ticks (integers), so no float ever becomes a price.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from host.sim.instruments import SimInstrument
from host.sim.source import RawTrade


class SimRegime(Enum):
    """The behaviour of one segment of the generated market."""

    TRENDING = "trending"
    RANGING = "ranging"
    CHOPPY = "choppy"


_VOLATILITY = {SimRegime.TRENDING: 0.00002, SimRegime.RANGING: 0.00002, SimRegime.CHOPPY: 0.00006}
"""Standard deviation of one 100 ms step's move, as a fraction of the price (≈0.05 %/min for
BTC in a quiet segment, three times that when choppy)."""
_TREND_DRIFT = 0.05
"""Mean move of a trending step, in standard deviations (≈0.3 % per 10 minutes)."""
_REVERSION = {SimRegime.RANGING: 0.02, SimRegime.CHOPPY: 0.01}
"""Share of the distance to the segment's anchor recovered per step."""


@dataclass(slots=True)
class _Walk:
    """One instrument's state: its price in ticks and the segment it is in."""

    inst: SimInstrument
    rng: random.Random
    ticks: int
    regime: SimRegime = SimRegime.RANGING
    segment_end: datetime | None = None
    drift: int = 1
    anchor: int = 0


class SeededGenerator:
    """Produces trades step by step for every instrument, from ``seed`` alone."""

    def __init__(
        self,
        instruments: tuple[SimInstrument, ...],
        seed: int,
        start: datetime,
        step: timedelta = timedelta(milliseconds=100),
    ) -> None:
        self._walks = [
            _Walk(inst, random.Random(f"{seed}:{inst.inst_id}"), int(inst.start_px / inst.tick_sz))  # noqa: S311
            for inst in instruments
        ]
        self._step = step
        self._time = start

    def regime(self, inst_id: str) -> SimRegime:
        """The segment an instrument is in now (for tests and the operator)."""
        return next(walk.regime for walk in self._walks if walk.inst.inst_id == inst_id)

    def jump(self, inst_id: str, price: Decimal) -> None:
        """Move an instrument's price to ``price`` at once (a gap); the walk goes on from there."""
        for walk in self._walks:
            if walk.inst.inst_id == inst_id:
                walk.ticks = walk.anchor = max(1, int(price / walk.inst.tick_sz))

    def trades_until(self, until: datetime) -> list[RawTrade]:
        """Generate every step up to ``until``."""
        trades: list[RawTrade] = []
        while self._time + self._step <= until:
            self._time += self._step
            for walk in self._walks:
                trades.extend(self._step_walk(walk, self._time))
        return trades

    def _step_walk(self, walk: _Walk, now: datetime) -> list[RawTrade]:
        if walk.segment_end is None or now >= walk.segment_end:
            walk.regime = walk.rng.choice(list(SimRegime))
            walk.segment_end = now + timedelta(seconds=walk.rng.randint(60, 600))
            walk.drift = walk.rng.choice((-1, 1))
            walk.anchor = walk.ticks
        sigma = max(1.0, walk.ticks * _VOLATILITY[walk.regime])
        if walk.regime is SimRegime.TRENDING:
            mean = walk.drift * sigma * _TREND_DRIFT
        else:
            mean = (walk.anchor - walk.ticks) * _REVERSION[walk.regime]
        move = round(walk.rng.gauss(mean, sigma))
        walk.ticks = max(1, walk.ticks + move)
        # A trade in seven steps out of eight: a busy swap's tape (the paper session's four
        # swaps give the host about 2,000 ticks a minute).
        count = walk.rng.choices((0, 1, 2, 3), weights=(1, 4, 2, 1))[0]
        if move > 0:
            side = "buy"
        elif move < 0:
            side = "sell"
        else:
            side = walk.rng.choice(("buy", "sell"))
        px = walk.inst.tick_sz * walk.ticks
        return [
            RawTrade(walk.inst.inst_id, side, px, walk.inst.min_sz * walk.rng.randint(1, 300), now)
            for _ in range(count)
        ]
