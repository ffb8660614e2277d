"""The hot path in stages: one ``tickers`` frame from text to the engine's decision, and where
its time goes.

Run: ``python bench/bench_engine.py [--one] [--profile [--sampling]]`` (``--one``: one open
position only). Prints figures; never asserts. ``scalphost bench --scenario hot`` gives the
whole path's p50/p99 beside the reference loop; this script breaks the same path down. The host
is the bench's (:func:`host.bench.rig.assembled_host`: the session's assembly, the built-ins
with the defaults, the journal, REST against a simulator on 127.0.0.1) and each frame goes
through the socket's decoder, the feed and the engine as in the hot scenario
(:class:`host.bench.hotpath.DirectFeed`); the frames wobble one tick, so no signal fires and no
stop moves.

The stages are separate passes over the same frames, each on fresh state — decode alone,
decode + feed into a sink that does nothing, the whole path — so the breakdown is the difference
between passes. Two floors are timed on the same frames: orjson's parse alone and the typed
msgspec decode the fast path starts with. The ``cpu`` column is the least CPU time per frame of
any run of 1,000 frames: the other processes of a shared machine inflate wall time, and the
least CPU time is what the code costs when they leave it alone. ``--profile`` runs the whole
path with one open position under cProfile and prints the top functions by own time;
``--sampling`` uses pyinstrument instead (install it in your venv; it is not a dependency).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time
from collections.abc import Callable

import orjson

from host.bench import frames
from host.bench.hotpath import DirectFeed
from host.bench.rig import Rig, assembled_host
from host.clock import monotonic_ns
from host.exchange import hot
from host.exchange.connection import build_feed
from host.exchange.decode import FrameDecoder

FRAMES = 20_000
CPU_RUN = 1_000
"""Frames per run whose CPU time is read; the least of the runs is reported."""


def timed(batch: list[str], handle: Callable[[str], object]) -> tuple[list[int], float]:
    """Wall nanoseconds of each frame through ``handle``, and the least CPU µs per frame."""
    walls: list[int] = []
    least_cpu = float("inf")
    for start in range(0, len(batch), CPU_RUN):
        cpu_start = time.thread_time_ns()
        for frame in batch[start : start + CPU_RUN]:
            began = monotonic_ns()
            handle(frame)
            walls.append(monotonic_ns() - began)
        run = len(batch[start : start + CPU_RUN])
        least_cpu = min(least_cpu, (time.thread_time_ns() - cpu_start) / run / 1000)
    return walls, least_cpu


def fed(rig: Rig) -> DirectFeed:
    """The rig's decoder, feed and engine, given the instrument's mark."""
    feed = DirectFeed(rig)
    for mark in frames.marks([frames.HOT.inst_id]):
        feed(mark)
    return feed


async def stages(open_positions: int) -> dict[str, tuple[list[int], float]]:
    """Per-frame times of each pass over the same frames, each on fresh state."""
    batch, _ = frames.ticker_run(FRAMES)
    typed, _ = hot._TICKERS  # the fast path's own struct decoder, without making events
    out = {
        "orjson parse (floor)": timed(batch, orjson.loads),
        "msgspec typed (floor)": timed(batch, typed.decode),
        "decode": timed(batch, FrameDecoder().decode),
    }
    async with assembled_host(frames.instruments(1)) as rig:
        decoder = FrameDecoder()
        feed = build_feed(lambda _: None, rig.settings, rig.engine.clock)
        for mark in frames.marks([frames.HOT.inst_id]):
            feed(decoder.decode(mark))
        out["decode + feed"] = timed(batch, lambda frame: feed(decoder.decode(frame)))
        for number in range(open_positions):
            rig.open_position(stop=frames.STOP - number)
        out["whole path"] = timed(batch, fed(rig))
        assert rig.engine.stats.ticks == FRAMES, rig.engine.stats.ticks
    return out


async def profile(sampling: bool) -> None:
    """The whole path with one open position, under a profiler."""
    batch, _ = frames.ticker_run(FRAMES)
    async with assembled_host(frames.instruments(1)) as rig:
        rig.open_position()
        feed = fed(rig)
        if sampling:
            from pyinstrument import Profiler  # optional: not a dependency

            sampler = Profiler(interval=0.0001)
            sampler.start()
            for frame in batch:
                feed(frame)
            sampler.stop()
            print(sampler.output_text())
            return
        profiler = cProfile.Profile()
        profiler.enable()
        for frame in batch:
            feed(frame)
        profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def percentile(values: list[int], fraction: float) -> float:
    """The ``fraction`` percentile of nanosecond ``values``, in µs."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


async def main() -> None:
    if "--profile" in sys.argv:
        await profile("--sampling" in sys.argv)
        return
    print(f"{FRAMES} tickers frames; µs per frame: wall p50 and p99, and the least CPU time")
    print(
        f"per frame of any {CPU_RUN} frames (what a shared machine's other processes inflate least)"
    )
    print(f"{'open positions':<16}{'stage':<24}{'p50':>8}{'p99':>9}{'cpu':>8}{'cpu × floor':>13}")
    for positions in (1,) if "--one" in sys.argv else (0, 1, 3):
        figures = await stages(positions)
        floor = figures["orjson parse (floor)"][1]
        for stage, (walls, cpu) in figures.items():
            print(
                f"{positions:<16}{stage:<24}{percentile(walls, 0.5):>8.2f}"
                f"{percentile(walls, 0.99):>9.2f}{cpu:>8.2f}{cpu / floor:>13.1f}"
            )


if __name__ == "__main__":
    asyncio.run(main())
