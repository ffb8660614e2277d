"""``scalphost bench``: run the scenarios, print the table, write the JSON.

The reference loop runs first, over the same tickers frames as the hot path; its p50 per frame
is the unit every figure's ratio is expressed in.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Coroutine, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from host.bench.figures import Figure, Report, latency
from host.bench.hotpath import cost_by_instruments, hot_path, memory, reference_us
from host.bench.machine import machine
from host.bench.replay import fast_replay
from host.bench.scale import FULL, QUICK, Sizes
from host.bench.socket_run import socket_latency, sustained

SCENARIOS = ("hot", "socket", "scale", "replay")


def run_bench(quick: bool, chosen: Sequence[str], console: Console) -> Report:
    """Run the ``chosen`` scenarios (all of :data:`SCENARIOS` when empty), in that order."""
    sizes = QUICK if quick else FULL
    reference, samples = reference_us(sizes.hot_frames)
    report = Report(machine(), quick, reference)
    report.figures.append(
        latency(
            "reference",
            "tickers frame → decision (orjson, dict, pluggy, float)",
            samples,
            reference,
            cost=True,
        )
    )
    steps: dict[str, Callable[[Sizes, float], list[Figure]]] = {
        "hot": _hot,
        "socket": _socket,
        "scale": _scale,
        "replay": fast_replay,
    }
    for name in [scenario for scenario in SCENARIOS if not chosen or scenario in chosen]:
        console.print(f"[dim]bench: {name}…[/dim]")
        report.figures.extend(steps[name](sizes, reference))
    return report


def _hot(sizes: Sizes, reference: float) -> list[Figure]:
    return asyncio.run(hot_path(sizes, reference))


def _socket(sizes: Sizes, reference: float) -> list[Figure]:
    figures = asyncio.run(socket_latency(sizes, reference, "asyncio"))
    if find_spec("uvloop") is not None:
        figures += _on_uvloop(socket_latency(sizes, reference, "uvloop"))
    return figures


def _on_uvloop(work: Coroutine[Any, Any, list[Figure]]) -> list[Figure]:
    import uvloop  # an optional extra: measured when installed

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(work)


def _scale(sizes: Sizes, reference: float) -> list[Figure]:
    return (
        asyncio.run(cost_by_instruments(sizes, reference))
        + asyncio.run(memory(sizes))
        + asyncio.run(sustained(sizes, reference))
    )


def render(report: Report) -> Table:
    """The figures as a table: the distribution, the rate, the ratio and the goal."""
    table = Table(
        title=f"scalphost bench — {report.machine['cpu']}, {report.machine['cores']} cores, "
        f"{report.machine['python']}; reference loop p50 {report.reference_us:.2f} µs/frame"
    )
    for column in ("scenario", "figure", "unit", "p50 / value", "p99", "p99.9", "max", "per s",
                   "× ref", "goal"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("scenario", "figure") else "right")
    for figure in report.figures:
        spread = figure.distribution
        cells = (spread.p99, spread.p999, spread.max) if spread else (math.nan,) * 3
        goal = figure.goal or ""
        if figure.met is not None:
            goal += " [green]met[/]" if figure.met else " [red]NOT met[/]"
        table.add_row(
            figure.scenario,
            figure.name,
            figure.unit,
            _number(figure.value),
            *(_number(cell) for cell in cells),
            _number(figure.throughput_per_s, whole=True),
            _number(figure.ratio),
            goal,
        )
    return table


def _number(value: float | None, *, whole: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return ""
    if whole or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"


def write_json(report: Report, path: Path) -> None:
    """The report as JSON at ``path``."""
    path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")
