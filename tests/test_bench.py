"""``scalphost bench``: it runs and writes its JSON; the way it matches readings is right.

No test here looks at a timing: the figures are whatever the machine gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import invoke, scalphost

from host.bench.figures import Distribution, percentile
from host.bench.rig import Stamps
from host.bench.socket_run import breakdown

FIGURE_KEYS = {"scenario", "name", "unit", "value", "distribution", "throughput_per_s", "ratio"}
SPREAD_KEYS = {"p50", "p99", "p999", "max", "count"}


@pytest.mark.slow
def test_a_quick_bench_writes_every_scenario_with_the_machine(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = scalphost("bench", "--quick", "--json", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    machine = report["machine"]
    assert machine["cpu"]
    assert machine["cores"] >= 1
    assert machine["python"].startswith("CPython")
    assert {"orjson", "pluggy", "websockets", "aiohttp"} <= machine["libraries"].keys()
    assert report["reference"]["p50_us"] > 0
    figures = report["figures"]
    assert {figure["scenario"] for figure in figures} >= {
        "reference", "hot path", "socket (asyncio)", "scale", "fast replay"
    }  # fmt: skip
    for figure in figures:
        assert figure.keys() >= FIGURE_KEYS
        if figure["distribution"] is not None:
            assert figure["distribution"].keys() >= SPREAD_KEYS
    names = {figure["name"] for figure in figures}
    assert {"tick to trade (arrival → written)", "memory per open position",
            "frames decided per second", "ticks per second"} <= names  # fmt: skip
    assert "tick to trade" in result.stdout  # the table


def test_an_unknown_scenario_is_refused_with_the_choices() -> None:
    result = invoke("bench", "--quick", "--scenario", "warp")
    assert result.exit_code == 2
    assert "hot, socket, scale, replay" in result.output


def test_percentiles_are_observed_samples_by_nearest_rank() -> None:
    ranked = [float(n) for n in range(1, 1001)]
    assert percentile(ranked, 0.5) == 500
    assert percentile(ranked, 0.99) == 990
    assert percentile(ranked, 0.999) == 999
    spread = Distribution.of([3.0, 1.0, 2.0])
    assert (spread.p50, spread.max, spread.count) == (2.0, 3.0, 3)


def test_each_close_is_matched_to_the_first_commit_and_request_after_its_decision() -> None:
    """Frame 1 crosses and is closed; frame 3 crosses but nothing followed it (no close)."""
    stamps = Stamps(
        arrived=[100, 200, 300, 400],
        decoded=[110, 210, 310, 410],
        decided=[120, 230, 320, 0],  # frame 3 was dropped by the feed
        committed=[90, 500],  # 90: an earlier close's commit, before frame 1's decision
        requests=[(80, 85), (520, 600), (700, 710)],
    )
    part = breakdown(stamps, sent=[50, 150, 250, 350], crossing={1, 3})
    assert part.receive == [50, 50, 50]
    assert part.decide == [10, 20, 10]
    assert part.journal == [500 - 230]
    assert part.sign == [520 - 500]
    assert part.send == [600 - 520]
    assert part.to_trade == [600 - 200]
    assert part.wire_to_trade == [600 - 150]
