"""How fast the simulated exchange runs: market steps, REST round trips, order-to-push latency.

Run: ``python bench/bench_sim.py``. Prints figures; never asserts. Steps are 100 ms of simulated
time over the four default instruments with no client attached (the cost a test pays to move
time); round trips are real aiohttp requests over loopback, signed as the host signs them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from okx_test_client import channel, recv_until, running

from host.sim import SimConfig, Simulator

STEPS = 20_000
ROUND_TRIPS = 500


def steps_per_second() -> float:
    sim = Simulator()
    start = time.perf_counter()
    for _ in range(STEPS):
        sim.clock.advance(sim.config.step)
        sim.step()
    return STEPS / (time.perf_counter() - start)


async def round_trips() -> tuple[list[float], list[float]]:
    async with running(SimConfig(rate_limits={})) as okx:
        ws = await okx.private("orders")
        rest, pushed = [], []
        for i in range(ROUND_TRIPS):
            start = time.perf_counter()
            placed = await okx.order(
                instId="BTC-USDT-SWAP", side="buy" if i % 2 else "sell", ordType="market", sz="0.01"
            )
            rest.append(time.perf_counter() - start)
            ord_id = placed["data"][0]["ordId"]
            await recv_until(
                ws, lambda m, o=ord_id: channel("orders")(m) and m["data"][0]["ordId"] == o
            )
            pushed.append(time.perf_counter() - start)
        return rest, pushed


def main() -> None:
    rate = steps_per_second()
    print(f"market steps (100 ms, 4 instruments): {rate:,.0f} /s = {rate / 10:,.0f}x real time")
    rest, pushed = asyncio.run(round_trips())
    for label, times in (("REST place market order, round trip", rest), ("place -> push", pushed)):
        print(f"{label:38s} median {median(times) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms")
    print(
        json.dumps(
            {
                "steps_per_s": round(rate),
                "rest_median_ms": round(median(rest) * 1e3, 3),
                "push_median_ms": round(median(pushed) * 1e3, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
