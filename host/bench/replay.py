"""Scenario (d): the fast replay's throughput (``scalphost run --fast`` on the default session)."""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path

from host.bench.figures import Figure
from host.bench.scale import Sizes
from host.clock import monotonic_ns
from host.sessions.fast import run_fast
from host.sessions.replay_loop import run_on_replay_loop
from host.settings import load_settings

NAUTILUS_TICKS_PER_S = 133_000
"""NautilusTrader's backtest engine with a Python trailing stop, on the development machine."""


def fast_replay(sizes: Sizes, reference: float) -> list[Figure]:
    """Ticks per second of the default seeded session replayed in-process (on its own loop)."""
    settings = load_settings(None)
    with tempfile.TemporaryDirectory(prefix="scalphost-bench-") as directory:
        journal = settings.journal.model_copy(update={"directory": Path(directory)})
        settings = settings.model_copy(update={"journal": journal})
        started, cpu = monotonic_ns(), time.process_time()
        result = run_on_replay_loop(
            run_fast(settings, duration=timedelta(minutes=sizes.replay_minutes))
        )
        seconds = (monotonic_ns() - started) / 1e9
        cpu_seconds = time.process_time() - cpu
    ticks = result.stats.ticks
    rate = ticks / seconds
    per_cpu = ticks / cpu_seconds
    return [
        Figure("fast replay", "ticks per second", "ticks/s", rate, throughput_per_s=rate,
               ratio=1e6 / rate / reference, goal="≥ 50,000 ticks/s", met=rate >= 50_000,
               note=f"{ticks:,} ticks of {sizes.replay_minutes:g} simulated minutes in "
               f"{seconds:.1f} s; NautilusTrader: {NAUTILUS_TICKS_PER_S:,}/s on the dev machine"),
        Figure("fast replay", "ticks per CPU second", "ticks/s", per_cpu,
               throughput_per_s=per_cpu, ratio=1e6 / per_cpu / reference,
               note=f"{cpu_seconds:.1f} s of CPU: the figure to compare on a shared machine"),
    ]  # fmt: skip
