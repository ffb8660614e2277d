"""The hot path measured: one ``tickers`` frame from raw bytes to the engine's decisions.

Run: ``python bench/bench_engine.py [--one] [--profile]`` (``--one``: one open position only).
Prints figures; never asserts. Each frame is decoded, filtered by the feed and handed to the
engine, which merges it into the market book, calls the exit plugins for the instrument's open
positions (one ``on_tick_exit`` call) and the signal plugins. The shipped built-ins run with the
paper configuration; the journal and the exchange are real objects but the measured ticks send
nothing (no signal fires, no stop moves).

Every frame is timed on its own, so the figures are p50 and p99 per frame (on a shared machine
the mean mostly measures the other processes). The stages are measured in separate passes over
fresh state — decode alone, decode + feed into a sink that does nothing, the whole path — so the
breakdown is the difference between passes. In the same run two floors are measured over the
same frames: orjson's parse alone, and a typed msgspec decode of the frame; their ratios to the
whole path survive a noisy machine better than the microseconds do. The ``cpu`` column is the
thread's CPU time over a pass, per frame: the scheduler's preemptions do not inflate it.
``--profile`` runs the whole path with one open position under cProfile and prints the top
functions by own time.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import orjson

from host.clock import ManualClock, from_okx_ms
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.domain import InstrumentSpec, Position, PositionSide
from host.engine.engine import Engine
from host.engine.execution import Executor
from host.exchange import hot
from host.exchange.credibility import PriceCredibility
from host.exchange.decode import FrameDecoder
from host.exchange.events import ExchangeEvent
from host.exchange.feed import ExchangeFeed
from host.exchange.orders import ClientOrderIds
from host.journal import Journal
from host.notify.service import Notifier
from host.pluginmanager import build_plugin_host
from host.settings import EngineSettings, JournalSettings, Settings, load_settings

FRAMES = 20_000
PAPER = Path(__file__).resolve().parents[1] / "config" / "paper.yaml"
BTC = InstrumentSpec(
    "BTC-USDT-SWAP", Decimal("0.01"), Decimal(1), Decimal("0.1"), Decimal("0.01"), Decimal("0.01")
)
START_MS = 1736150400000


def ticker_frames() -> list[bytes]:
    """A mark, then quiet ticks a millisecond apart: the price wobbles one tick, so no signal
    fires and no stop moves, and every tick is credible (within the clock's future bound)."""
    mark = {"instId": BTC.inst_id, "markPx": "65000.1", "ts": str(START_MS)}
    frames = [orjson.dumps({"arg": {"channel": "mark-price", "instId": BTC.inst_id},
                            "data": [mark]})]  # fmt: skip
    for n in range(FRAMES):
        last = "65000.1" if n % 2 else "65000.2"
        item = {"instId": BTC.inst_id, "last": last, "bidPx": "65000.1", "askPx": "65000.2",
                "ts": str(START_MS + n + 1)}  # fmt: skip
        frames.append(orjson.dumps({"arg": {"channel": "tickers", "instId": BTC.inst_id},
                                    "data": [item]}))  # fmt: skip
    return frames


@asynccontextmanager
async def engine_with(settings: Settings, open_positions: int) -> AsyncIterator[Engine]:
    """The engine with the built-ins, a real journal in a temporary directory, no exchange."""
    clock = ManualClock(from_okx_ms(str(START_MS)))
    plugins = build_plugin_host(settings, discover_entry_points=False)
    with tempfile.TemporaryDirectory() as directory:
        journal = await Journal.open(
            Path(directory) / "bench.sqlite3", clock, JournalSettings(synchronous="normal")
        )
        executor = Executor(None, journal, clock, ClientOrderIds(clock), "cross", lambda _: None)  # type: ignore[arg-type]
        # No exchange: the engine only asks it the time once, where its fill read-back starts.
        no_exchange = SimpleNamespace(rest=SimpleNamespace(server_now=clock.now))
        engine = Engine(
            settings.engine.model_copy(update={"reconcile_interval_seconds": 10**9}),
            settings.hooks.regime_fallback,
            clock,
            plugins.dispatch,
            no_exchange,  # type: ignore[arg-type]
            journal,
            executor,
            {BTC.inst_id: BTC},
            Notifier(plugins.dispatch, settings.notify, clock, settings.mode),
        )
        engine.positions.reconcile_at(float("inf"))
        for n in range(open_positions):
            engine.registry.track(
                Position(
                    f"p{n}",
                    BTC.inst_id,
                    PositionSide.LONG,
                    Decimal(1),
                    Decimal("65000"),
                    clock.now(),
                    clock.now(),
                    stop=Decimal("64000"),
                )
            )
        if open_positions:
            engine.entries.stop()
        try:
            yield engine
        finally:
            await journal.close()


def timed_frames(frames: list[bytes], handle: Callable[[bytes], object]) -> list[int]:
    """Wall nanoseconds each frame took through ``handle``; the pass's CPU time is appended."""
    clock = time.perf_counter_ns
    out = []
    cpu_start = time.thread_time_ns()
    for frame in frames:
        start = clock()
        handle(frame)
        out.append(clock() - start)
    out.append(time.thread_time_ns() - cpu_start)
    return out


def feed_for(settings: Settings, sink: Callable[[ExchangeEvent], None]) -> ExchangeFeed:
    clock = ManualClock(from_okx_ms(str(START_MS)))
    dedup = PrivateEventDedup.from_settings(settings.dedup, clock)
    return ExchangeFeed(
        sink, dedup, MarketDataWatermark(), PriceCredibility(settings.credibility, clock)
    )


async def stages(settings: Settings, open_positions: int) -> dict[str, list[int]]:
    """Per-frame times of each pass over the same frames, each on fresh state."""
    mark, *frames = ticker_frames()
    typed, _ = hot._TICKERS  # the fast path's own struct decoder, without making events
    decoder = FrameDecoder()
    out = {
        "orjson parse (floor)": timed_frames(frames, orjson.loads),
        "msgspec typed (floor)": timed_frames(frames, typed.decode),
        "decode": timed_frames(frames, decoder.decode),
    }
    decoder, feed = FrameDecoder(), feed_for(settings, lambda _: None)
    feed(decoder.decode(mark))
    out["decode + feed"] = timed_frames(frames, lambda frame: feed(decoder.decode(frame)))
    async with engine_with(settings, open_positions) as engine:
        decoder, feed = FrameDecoder(), feed_for(settings, engine.on_event)
        feed(decoder.decode(mark))
        out["whole path"] = timed_frames(frames, lambda frame: feed(decoder.decode(frame)))
        assert engine.stats.ticks == FRAMES, engine.stats.ticks
    return out


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


async def profile(settings: Settings) -> None:
    frames = ticker_frames()
    async with engine_with(settings, 1) as engine:
        decoder, feed = FrameDecoder(), feed_for(settings, engine.on_event)
        profiler = cProfile.Profile()
        profiler.enable()
        for frame in frames:
            feed(decoder.decode(frame))
        profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


async def main() -> None:
    settings = load_settings(PAPER).model_copy(
        update={"engine": EngineSettings(dead_man_seconds=0)}
    )
    if "--profile" in sys.argv:
        await profile(settings)
        return
    print(f"{FRAMES} tickers frames; µs per frame: wall p50, p99 and mean, and the CPU time of")
    print(
        "the pass per frame (what the scheduler's preemptions on a shared machine do not inflate)"
    )
    header = f"{'open positions':<16}{'stage':<24}{'p50':>8}{'p99':>9}{'mean':>8}{'cpu':>8}"
    print(f"{header}{'p50 × floor':>13}")
    for positions in (1,) if "--one" in sys.argv else (0, 1, 3):
        figures = await stages(settings, positions)
        floor = percentile(figures["orjson parse (floor)"][:-1], 0.5)
        for stage, (*times, cpu) in figures.items():
            p50 = percentile(times, 0.5)
            print(
                f"{positions:<16}{stage:<24}{p50:>8.2f}{percentile(times, 0.99):>9.2f}"
                f"{statistics.fmean(times) / 1000:>8.2f}{cpu / len(times) / 1000:>8.2f}"
                f"{p50 / floor:>13.1f}"
            )


if __name__ == "__main__":
    asyncio.run(main())
