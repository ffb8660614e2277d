"""How big each scenario is: ``--quick`` (the CI smoke run) or a full run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sizes:
    """Frames and durations of one run."""

    hot_frames: int
    socket_seconds: float
    scale_seconds: float
    memory_rounds: int
    replay_minutes: float
    instrument_counts: tuple[int, ...]
    scale_instruments: int
    """Instruments of the sustained-rate and memory runs (200; the smoke run: 20)."""


FULL = Sizes(
    hot_frames=20_000,
    socket_seconds=30.0,
    scale_seconds=5.0,
    memory_rounds=50,
    replay_minutes=60.0,
    instrument_counts=(1, 10, 50, 200),
    scale_instruments=200,
)
QUICK = Sizes(
    hot_frames=1_000,
    socket_seconds=0.5,
    scale_seconds=0.3,
    memory_rounds=5,
    replay_minutes=1.0,
    instrument_counts=(1, 20),
    scale_instruments=20,
)
SOCKET_RATE = 2_000
"""Frames per second of the socket scenario."""
CROSSING_EVERY = 500
"""One tickers frame in this many crosses the open position's stop: four closes a second, each
refused by the simulator (the position is the host's only), and each refusal makes the host ask
for the positions, which OKX allows five times a second."""
SCALE_HZ = 100
SCALE_POSITIONS = 10
