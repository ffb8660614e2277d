"""The hot path measured: one ``tickers`` frame from raw bytes to the engine's decisions.

Run: ``python bench/bench_engine.py``. Prints figures; never asserts. Each frame is decoded,
filtered by the feed and handed to the engine, which merges it into the market book, calls the
exit plugins for the instrument's open positions (one ``on_tick_exit`` call) and the signal
plugins. The shipped built-ins run with the paper configuration; the journal and the exchange
are real objects but the measured ticks send nothing (no signal fires, no stop moves).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import orjson

from host.clock import ManualClock, from_okx_ms
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.domain import InstrumentSpec, Position, PositionSide
from host.engine.engine import Engine
from host.engine.execution import Executor
from host.exchange.credibility import PriceCredibility
from host.exchange.decode import FrameDecoder
from host.exchange.feed import ExchangeFeed
from host.exchange.orders import ClientOrderIds
from host.journal import Journal
from host.pluginmanager import build_plugin_host
from host.settings import EngineSettings, JournalSettings, load_settings

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


async def measure(open_positions: int) -> float:
    settings = load_settings(PAPER).model_copy(
        update={"engine": EngineSettings(dead_man_seconds=0)}
    )
    clock = ManualClock(from_okx_ms(str(START_MS)))
    plugins = build_plugin_host(settings, discover_entry_points=False)
    with tempfile.TemporaryDirectory() as directory:
        journal = await Journal.open(
            Path(directory) / "bench.sqlite3", clock, JournalSettings(synchronous="normal")
        )
        executor = Executor(None, journal, clock, ClientOrderIds(clock), "cross", lambda _: None)  # type: ignore[arg-type]
        engine = Engine(
            settings.engine.model_copy(update={"reconcile_interval_seconds": 10**9}),
            settings.hooks.regime_fallback,
            clock,
            plugins.dispatch,
            None,  # type: ignore[arg-type]
            journal,
            executor,
            {BTC.inst_id: BTC},
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
        decoder = FrameDecoder()
        dedup = PrivateEventDedup.from_settings(settings.dedup, clock)
        credibility = PriceCredibility(settings.credibility, clock)
        feed = ExchangeFeed(engine.on_event, dedup, MarketDataWatermark(), credibility)
        frames = ticker_frames()
        start = time.perf_counter_ns()
        for frame in frames:
            feed(decoder.decode(frame))
        elapsed = time.perf_counter_ns() - start
        await journal.close()
    return elapsed / FRAMES / 1000


async def main() -> None:
    print(f"{'open positions':<16}{'µs per ticker frame (decode + feed + engine)':>46}")
    for positions in (0, 1, 3):
        print(f"{positions:<16}{await measure(positions):>46.1f}")


if __name__ == "__main__":
    asyncio.run(main())
