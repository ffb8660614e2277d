"""Journal throughput and durable-write latency, on a real file in a temporary directory.

Run: ``python bench/bench_journal.py [DIRECTORY]`` (default: the system's temporary directory;
pass a directory on the disk the bot will use, since fsync cost is the disk's). Prints figures;
never asserts (speed is measured, not asserted).

* **throughput**: fire-and-forget fills handed over with ``write`` as fast as the loop can, until
  ``flush`` returns; records per second through the writer thread, and the event-loop time one
  ``write`` call costs.
* **durable intent latency**: ``await commit(intent)`` one after another, as the engine does
  before sending each order; median, 99th percentile and worst, idle and while a stream of
  fire-and-forget records is being written.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Literal

from bench_dedup import FILL, NOW

from host.clock import LiveClock
from host.domain import Order, Side
from host.journal import IntentPurpose, Journal, OrderIntent
from host.settings import JournalSettings

RECORDS = 100_000
INTENTS = 500
LOAD = 10_000
"""Records per second of background load (in 100 slices a second): far above a real session."""

ORDER = Order("c0", "BTC-USDT-SWAP", Side.BUY, Decimal("0.03"), Decimal("103698.9"), NOW)


async def open_journal(directory: Path, name: str, synchronous: Literal["full", "normal"]):
    settings = JournalSettings(synchronous=synchronous)
    return await Journal.open(directory / f"{name}.sqlite3", LiveClock(), settings)


async def throughput(journal: Journal) -> tuple[float, float]:
    """Records per second to durable, and microseconds of loop time per ``write``."""
    fills = [replace(FILL, trade_id=str(n)) for n in range(RECORDS)]
    start = time.perf_counter()
    for record in fills:
        journal.write(record)
    handed_over = time.perf_counter()
    await journal.flush()
    done = time.perf_counter()
    return RECORDS / (done - start), (handed_over - start) / RECORDS * 1e6


async def intent_latencies(journal: Journal, prefix: str) -> list[float]:
    """Milliseconds from ``commit`` to its return, for each of ``INTENTS`` intents."""
    latencies = []
    for n in range(INTENTS):
        intent = OrderIntent(replace(ORDER, cl_ord_id=f"{prefix}{n}"), IntentPurpose.ENTRY, "bench")
        start = time.perf_counter()
        await journal.commit(intent)
        latencies.append((time.perf_counter() - start) * 1e3)
    return latencies


async def under_load(journal: Journal) -> list[float]:
    """Intent latencies while another task streams fire-and-forget fills at ``LOAD`` per second."""
    stop = asyncio.Event()

    async def stream() -> None:
        n = 0
        while not stop.is_set():
            for _ in range(LOAD // 100):
                journal.write(replace(FILL, trade_id=f"load{n}"))
                n += 1
            await asyncio.sleep(0.01)

    streamer = asyncio.create_task(stream())
    try:
        return await intent_latencies(journal, "load")
    finally:
        stop.set()
        await streamer


def summary(latencies: list[float]) -> str:
    ranked = sorted(latencies)
    p99 = ranked[int(len(ranked) * 0.99) - 1]
    return f"median {statistics.median(ranked):7.3f}  p99 {p99:7.3f}  max {ranked[-1]:7.3f}"


async def main(directory: Path) -> None:
    print(f"journal files in {directory}")
    for synchronous in ("full", "normal"):
        journal = await open_journal(directory, f"bench-{synchronous}", synchronous)
        try:
            rate, loop_us = await throughput(journal)
            idle = await intent_latencies(journal, "idle")
            loaded = await under_load(journal)
        finally:
            await journal.close()
        print(f"\nsynchronous={synchronous}")
        print(f"  throughput: {rate:>10,.0f} records/s   write() costs the loop {loop_us:.2f} µs")
        print(f"  durable intent, idle (ms):              {summary(idle)}")
        print(f"  durable intent, {LOAD:,} rec/s load (ms): {summary(loaded)}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(dir=sys.argv[1] if len(sys.argv) > 1 else None) as tmp:
        asyncio.run(main(Path(tmp)))
