"""What the metrics cost on the hot path, per tick, and what one scrape costs.

Run: ``python bench/bench_metrics.py``. Prints figures; never asserts.

The metrics are read at scrape time from counters the host keeps; on the path from a frame to a
decision they add only plain increments: per guarded plugin call, one bucket increment, one
addition (the call was timed already) and, when the plugin answered, one more increment; per
push, one ``Counter`` increment for its stream. Those statements are timed here in isolation
(the same statements on the same kinds of objects), and multiplied by how many plugin calls and
pushes a tick brings in a real paper session of the default config (measured here too: 5
simulated minutes against the simulator over real sockets). A scrape is timed on that session.
The cost is also given in empty Python function calls, a unit that does not depend on how busy
the machine is while it is measured.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import timeit
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from host.durations import DurationHistogram
from host.engine.engine import Engine
from host.exchange.connection import OkxConnection
from host.monitor.metrics import metrics_registry
from host.monitor.watched import Watched
from host.plugin_guard import HookHealth
from host.sessions.paper import new_session, step_simulator
from host.sessions.runner import Venue, trade
from host.settings import load_settings, validated_update
from host.sim.server import DEFAULT_START
from host.sim.standalone import sim_account_credentials

PAPER = Path(__file__).resolve().parents[1] / "config" / "paper.yaml"
NUMBER = 1_000_000


def per_call_ns(call: Callable[[], object]) -> float:
    """The fastest of 7 runs of ``call``, per call, in CPU time (this process's, so the time the
    machine's other work takes the core away is not counted; the machine is shared)."""
    timer = timeit.Timer(call, timer=time.process_time)
    return min(timer.repeat(repeat=7, number=NUMBER)) / NUMBER * 1e9


def added_ns(with_it: Callable[[], object], without_it: Callable[[], object]) -> float:
    """What ``with_it`` costs more than ``without_it``: the statements that differ, as they run
    in the host (closure variables and attributes, not a benchmark's globals)."""
    return per_call_ns(with_it) - per_call_ns(without_it)


def guard_recording_ns() -> float:
    """What the guard adds per call that answered: the bucket, the sum and the answer count."""
    health = HookHealth("bench", "on_tick_exit", 20_000, False)
    timing = health.timing
    buckets = timing.counts
    took = 3_517

    def recording() -> None:
        buckets[(took - 1).bit_length()] += 1
        timing.total_ns += took
        health.answers += 1

    def plain() -> None:
        return None

    return added_ns(recording, plain)


class _Pushes:
    def __init__(self) -> None:
        self.messages: dict[str, int] = {"tickers": 1}

    def counted(self, channel: str) -> None:
        try:
            self.messages[channel] += 1
        except KeyError:
            self.messages[channel] = 1

    def plain(self, channel: str) -> None:
        return None


def push_recording_ns() -> float:
    """What a push adds: its stream's count (the stream's age was recorded already)."""
    pushes = _Pushes()
    return added_ns(lambda: pushes.counted("tickers"), lambda: pushes.plain("tickers"))


async def session_rates(minutes: int) -> tuple[float, float, float, int]:
    """Plugin calls and pushes per tick, milliseconds per scrape and its size, from a session."""
    with tempfile.TemporaryDirectory() as directory:
        settings = validated_update(
            load_settings(PAPER), journal={"directory": directory}, log_level="ERROR"
        )
        session = new_session(settings, 1, None, DEFAULT_START, timedelta(minutes=minutes))
        sim = session.sim
        await sim.start()
        venue = Venue(
            sim.urls.rest, sim.urls.ws_base, sim_account_credentials(sim), sim.clock, "paper"
        )
        figures: list[float] = []

        async def drive(engine: Engine, connection: OkxConnection) -> None:
            await step_simulator(sim, engine, connection, timedelta(minutes=minutes))
            ticks = engine.stats.ticks
            calls = sum(health.timing.count for health in engine.stats.faults.hooks)
            pushes = sum(connection.health.messages.values())
            registry = metrics_registry(Watched(settings, engine, connection, ()))
            from prometheus_client.exposition import generate_latest

            started = time.perf_counter()
            for _ in range(20):
                body = generate_latest(registry)
            scrape_ms = (time.perf_counter() - started) / 20 * 1000
            figures.extend((calls / ticks, pushes / ticks, scrape_ms, len(body)))

        try:
            await trade(session.settings, venue, drive)
        finally:
            await sim.stop()
    calls_per_tick, pushes_per_tick, scrape_ms, size = figures
    return calls_per_tick, pushes_per_tick, scrape_ms, int(size)


def _nothing() -> None:
    return None


def main() -> None:
    call_ns = per_call_ns(_nothing)
    guard_ns = guard_recording_ns()
    push_ns = push_recording_ns()
    histogram = DurationHistogram()
    record_ns = added_ns(lambda: histogram.record_ns(3_517), lambda: _nothing())
    calls, pushes, scrape_ms, size = asyncio.run(session_rates(5))
    per_tick = calls * guard_ns + pushes * push_ns
    print(f"{'per guarded plugin call (inlined)':<44}{guard_ns:>8.0f} ns")
    print(f"{'per push (its stream counted)':<44}{push_ns:>8.0f} ns")
    print(f"{'DurationHistogram.record_ns (REST, journal)':<44}{record_ns:>8.0f} ns")
    print(f"{'plugin calls per tick (paper session)':<44}{calls:>8.2f}")
    print(f"{'pushes per tick (paper session)':<44}{pushes:>8.2f}")
    print(f"{'metrics cost per tick on the hot path':<44}{per_tick:>8.0f} ns")
    print(f"{'  the same in empty Python function calls':<44}{per_tick / call_ns:>8.1f} calls")
    print(f"{'  (an empty function call on this machine now)':<44}{call_ns:>8.0f} ns")
    print(f"{'one scrape of /metrics (collect + render)':<44}{scrape_ms:>8.2f} ms ({size} bytes)")


if __name__ == "__main__":
    main()
