"""Scenario (a), the hot path: one frame from text to the engine's decision, in-process.

The frame goes through what a socket hands it to — the decoder, the feed (duplicates,
watermarks, credibility) and the engine (market book, exit plugins for the open position, signal
plugins) — and is timed on its own. Also here: the cost per frame as the number of instruments
grows (none with a position), and memory per instrument and per open position.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from decimal import Decimal

from host.bench import frames
from host.bench.figures import Figure, latency
from host.bench.reference import ReferenceLoop, reference_positions
from host.bench.rig import Rig, assembled_host
from host.bench.scale import SCALE_POSITIONS, Sizes
from host.clock import monotonic_ns
from host.exchange.connection import build_feed
from host.exchange.decode import FrameDecoder
from host.exchange.feed import ExchangeFeed

WARM_UP = 0.1
"""The first tenth of the frames warms caches and the plugins' windows; it is not timed."""
FAR_STOP = Decimal(60000)
"""The stop of positions no frame may reach (the scale and memory scenarios)."""
KIB = 1024


class DirectFeed:
    """A rig's engine fed in-process: decoder and feed as a socket would hand it frames."""

    def __init__(self, rig: Rig) -> None:
        self.decoder = FrameDecoder()
        self.feed: ExchangeFeed = build_feed(rig.engine.on_event, rig.settings, rig.engine.clock)

    def __call__(self, frame: str) -> None:
        """Decode ``frame`` and hand its events to the engine."""
        self.feed(self.decoder.decode(frame))

    def time_each(self, batch: Sequence[str]) -> list[int]:
        """Nanoseconds per frame, each timed on its own; the warm-up is left out."""
        warm = int(len(batch) * WARM_UP)
        samples = []
        for index, frame in enumerate(batch):
            started = monotonic_ns()
            self(frame)
            if index >= warm:
                samples.append(monotonic_ns() - started)
        return samples


def reference_us(count: int) -> tuple[float, list[int]]:
    """The reference loop's p50 per tickers frame (µs) and its samples, one open position."""
    batch, _ = frames.ticker_run(count)
    loop = ReferenceLoop(reference_positions([frames.HOT.inst_id], 65000.0, float(frames.STOP)))
    samples = loop.time_each(batch)[int(count * WARM_UP) :]
    ranked = sorted(samples)
    return ranked[len(ranked) // 2] / 1000, samples


async def hot_path(sizes: Sizes, reference: float) -> list[Figure]:
    """Bytes to decision per tickers frame, the built-ins and one open position."""
    async with assembled_host(frames.instruments(1)) as rig:
        rig.open_position()
        feed = DirectFeed(rig)
        for mark in frames.marks([frames.HOT.inst_id]):
            feed(mark)
        samples = feed.time_each(frames.ticker_run(sizes.hot_frames)[0])
    return [
        latency("hot path", "tickers frame → decision", samples, reference,
                goal_us=("p50", 8.0), note="in-process; built-ins, one open position", cost=True),
    ]  # fmt: skip


async def cost_by_instruments(sizes: Sizes, reference: float) -> list[Figure]:
    """Per bbo-tbt frame, as the number of instruments (none with a position) grows."""
    figures = []
    for count in sizes.instrument_counts:
        listed = frames.instruments(count)
        inst_ids = [inst.inst_id for inst in listed]
        rounds = max(2, sizes.hot_frames // count)
        async with assembled_host(listed) as rig:
            feed = DirectFeed(rig)
            for mark in frames.marks(inst_ids):
                feed(mark)
            samples = feed.time_each(frames.quote_rounds(inst_ids, rounds))
        figures.append(
            latency(
                "scale",
                f"bbo-tbt frame, {count} instruments",
                samples,
                reference,
                note="in-process; no positions",
                cost=True,
            )
        )
    return figures


async def memory(sizes: Sizes) -> list[Figure]:
    """Memory the host holds per instrument, and per open position (tracemalloc)."""
    listed = frames.instruments(sizes.scale_instruments)
    inst_ids = [inst.inst_id for inst in listed]
    rounds = sizes.memory_rounds
    async with assembled_host(listed) as rig:
        feed = DirectFeed(rig)
        tracemalloc.start()
        try:
            before = _traced()
            for frame in frames.marks(inst_ids) + frames.ticker_rounds(inst_ids, rounds, _end(3)):
                feed(frame)
            instruments_held = _traced()
            for frame in frames.ticker_rounds(inst_ids, rounds, _end(2)):
                feed(frame)
            steady = _traced()
            for inst_id in inst_ids[:SCALE_POSITIONS]:
                rig.open_position(inst_id, FAR_STOP)
            for frame in frames.ticker_rounds(inst_ids, rounds, _end(1)):
                feed(frame)
            with_positions = _traced()
        finally:
            tracemalloc.stop()
    per_instrument = (instruments_held - before) / len(inst_ids) / KIB
    growth = (steady - instruments_held) / len(inst_ids) / KIB
    per_position = (with_positions - steady) / SCALE_POSITIONS / KIB
    return [
        Figure("scale", "memory per instrument", "KiB", per_instrument,
               note=f"{len(inst_ids)} instruments after {rounds} tickers each; "
               f"{growth:+.2f} KiB each over {rounds} more"),
        Figure("scale", "memory per open position", "KiB", per_position,
               goal="≤ 10 KiB", met=per_position <= 10,
               note=f"{SCALE_POSITIONS} positions, {rounds} tickers each"),
    ]  # fmt: skip


def _traced() -> int:
    current, _ = tracemalloc.get_traced_memory()
    return current


def _end(rounds_from_now: int) -> int:
    """An end stamp that leaves room for later runs: each run's stamps are above the last's."""
    return frames.START_MS - rounds_from_now * 1_000_000
