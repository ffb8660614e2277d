"""``scalphost sweep``: the spec, the runs, the store, the tables, the best configs, Ray.

The runs here are tiny fast replays (half a simulated minute, in this process) so the default
suite stays quick; the Ray test, which starts a local Ray, is marked slow.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from installed_plugins import environment_with, install_plugins
from rich.console import Console
from test_cli import PAPER, invoke, scalphost

from host.golive.stamp import config_digest
from host.settings import load_settings, redacted_dump
from host.sweep.command import SweepReport, run_sweep
from host.sweep.figures import Figures, sharpe
from host.sweep.plan import apply_overrides, configure, override_sets, plan_runs
from host.sweep.ranking import rank
from host.sweep.spec import SweepSpec, load_spec
from host.sweep.task import FAILED, OK
from host.sweep.workers import InProcessWorkers, LocalWorkers, Workers

TRAIL = "plugins.trailing_stop.by_regime.trending.trail_distance"
THRESHOLD = "plugins.momentum_demo.threshold"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("SCALPHOST_"):
            monkeypatch.delenv(name)


def write_spec(folder: Path, document: dict[str, object]) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def tiny(folder: Path, **changes: object) -> SweepSpec:
    document: dict[str, object] = {
        "base": str(PAPER),
        "grid": {TRAIL: ["0.001", "0.002"]},
        "data": {"seeds": [1], "minutes": 0.2},
        "best": 1,
    } | changes
    return load_spec(write_spec(folder, document))


def sweep(spec: SweepSpec, output: Path, workers: Workers | None = None) -> SweepReport:
    console = Console(file=io.StringIO(), width=200)
    return run_sweep(spec, load_settings(spec.base), output, workers or InProcessWorkers(), console)


# --- the spec -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rank_by": "profit"}, "rank_by: Input should be"),
        ({"data": {"minutes": 1}}, "data: Value error, give at least one of seeds or files"),
        ({"grid": {"not a path": [1]}}, "grid: Value error, 'not a path' is not a dotted"),
        ({"grid": {TRAIL: []}}, f"grid: Value error, {TRAIL}: give at least one value"),
        ({"samples": 3}, "samples: Value error, the grid has only 2 combinations"),
        ({"grids": {}}, "grids: Extra inputs are not permitted"),
        ({"best": -1}, "best: Input should be greater than or equal to 0"),
    ],
)
def test_a_bad_spec_exits_2_naming_the_field(tmp_path: Path, change, field: str) -> None:
    document = {"grid": {TRAIL: ["0.001", "0.002"]}, "data": {"seeds": [1]}} | change
    spec = write_spec(tmp_path, document)
    result = invoke("sweep", str(spec), "--local", "--output", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert f"config error: {spec}: {field}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_bad_base_config_exits_2_naming_its_field(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("dedup:\n  private_ttl_seconds: -1\n", encoding="utf-8")
    spec = write_spec(tmp_path, {"base": "base.yaml", "data": {"seeds": [1]}})
    result = invoke("sweep", str(spec), "--local")
    assert result.exit_code == 2
    assert "config error: dedup.private_ttl_seconds:" in result.output


def test_paths_in_the_spec_are_relative_to_its_folder(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, {"base": "b.yaml", "data": {"files": ["d/x.csv"]}}))
    assert spec.base == tmp_path / "b.yaml"
    assert spec.data.files == (tmp_path / "d" / "x.csv",)


def test_samples_are_distinct_repeatable_draws_from_the_grid(tmp_path: Path) -> None:
    grid = {"a.x": [1, 2, 3], "a.y": [4, 5], "a.z": [6, 7, 8, 9]}
    spec = tiny(tmp_path, grid=grid, samples=7, sample_seed=5)
    drawn = list(override_sets(spec))
    everything = list(override_sets(spec.model_copy(update={"samples": None})))
    assert len(everything) == 24
    assert len(set(drawn)) == 7
    assert set(drawn) <= set(everything)
    assert drawn == list(override_sets(spec))
    assert drawn != list(override_sets(spec.model_copy(update={"sample_seed": 6})))


# --- overrides ----------------------------------------------------------------------------------


def test_an_override_sets_the_setting_at_its_dotted_path() -> None:
    base = load_settings(PAPER)
    settings = apply_overrides(base, ((TRAIL, "0.0042"), ("engine.entry_notional_usdt", "50")))
    trending = settings.plugins["trailing_stop"]["by_regime"]["trending"]
    assert trending["trail_distance"] == "0.0042"
    assert settings.engine.entry_notional_usdt == Decimal(50)
    assert base.plugins["trailing_stop"]["by_regime"]["trending"]["trail_distance"] != "0.0042"


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("dedup.no_such_setting", 1, "dedup.no_such_setting: Extra inputs are not permitted"),
        ("mode.paper", 1, "mode.paper: mode is a value, not a section"),
        ("engine.entry_notional_usdt", "-5", "engine.entry_notional_usdt: Input should be greater"),
        ("plugins.momentum_demo.thresold", "0.1", "plugins.momentum_demo.thresold"),
    ],
)
def test_a_bad_override_is_that_configurations_problem(path: str, value, problem: str) -> None:
    configuration = configure(load_settings(PAPER), ((path, value),))
    assert configuration.settings is None
    assert problem in configuration.problem


def test_a_bad_override_fails_its_runs_and_the_sweep_goes_on(tmp_path: Path) -> None:
    spec = tiny(tmp_path, grid={"engine.entry_notional_usdt": ["200", "-5"]})
    report = sweep(spec, tmp_path / "out")
    assert [row.outcome.status for row in report.rows] == [OK, FAILED]
    assert (
        "engine.entry_notional_usdt: Input should be greater than 0" in report.rows[1].outcome.cause
    )
    assert [entry.configuration.overrides for entry in report.ranked] == [
        (("engine.entry_notional_usdt", "200"),)
    ]
    runs_csv = (tmp_path / "out" / "runs.csv").read_text(encoding="utf-8")
    assert "failed" in runs_csv
    assert "Input should be greater than 0" in runs_csv


def test_a_run_that_raises_is_reported_with_its_cause(tmp_path: Path) -> None:
    spec = tiny(tmp_path, grid={}, data={"seeds": [1], "files": ["missing.csv"], "minutes": 0.2})
    report = sweep(spec, tmp_path / "out")
    by_data = {row.run.data.label: row.outcome for row in report.rows}
    assert by_data["seed 1"].status == OK
    assert by_data["missing.csv"].status == FAILED
    assert by_data["missing.csv"].cause.startswith("ReplayError:")
    assert "missing.csv" in by_data["missing.csv"].cause
    assert report.ranked == []  # its one config left a market out


RAISING = {
    "raises_on_every_tick": "broken_runs:RaisesOnEveryTick",
    "raises_once": "broken_runs:RaisesOnce",
}


def test_a_run_whose_plugin_raised_fails_with_the_error_and_the_sweep_goes_on(
    tmp_path: Path,
) -> None:
    """Installed as a third-party package and enabled by the grid, as a user would sweep one."""
    install_plugins(tmp_path / "site", RAISING)
    grid = {f"plugins.{name}.enabled": [False, True] for name in RAISING}
    document = {"base": str(PAPER), "grid": grid, "data": {"seeds": [1], "minutes": 0.2}}
    spec = write_spec(tmp_path, document | {"best": 1})
    out = tmp_path / "out"
    env = environment_with(tmp_path / "site")
    result = scalphost(
        "sweep", str(spec), "--local", "--workers", "1", "--output", str(out), env=env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    with (out / "runs.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["status"] for row in rows] == [OK, FAILED, FAILED, FAILED]
    every_tick = (
        "plugin raises_on_every_tick: 20 errors, the first in generate_signals: "
        "raised KeyError: 'no model for BTC-USDT-SWAP'; switched off for the session after 20 "
        "failures in a row in generate_signals"
    )
    once = (
        "plugin raises_once: 1 error, the first in generate_signals: "
        "raised ZeroDivisionError: no ticks seen yet"
    )
    assert rows[1]["cause"] == once
    assert rows[2]["cause"].startswith(every_tick)
    assert rows[3]["cause"].startswith(f"{every_tick}")
    assert rows[3]["cause"].endswith(once)
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    assert [line.split(": ", 1)[1] for line in failures] == [row["cause"] for row in rows[1:]]
    ranked = (out / "ranking.csv").read_text(encoding="utf-8").splitlines()
    assert len(ranked) == 2  # the heading and the one configuration without a raising plugin


# --- store, tables, best configs ----------------------------------------------------------------


def test_a_rerun_takes_stored_results_and_runs_only_what_changed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = sweep(tiny(tmp_path), out)
    tables = [(out / name).read_bytes() for name in ("runs.csv", "ranking.csv")]
    second = sweep(tiny(tmp_path), out)
    assert [row.cached for row in first.rows] == [False, False]
    assert [row.cached for row in second.rows] == [True, True]
    assert [(out / name).read_bytes() for name in ("runs.csv", "ranking.csv")] == tables
    third = sweep(tiny(tmp_path, grid={TRAIL: ["0.002", "0.003"]}), out)
    assert [row.cached for row in third.rows] == [True, False]
    longer = sweep(tiny(tmp_path, data={"seeds": [1], "minutes": 0.3}), out)
    assert [row.cached for row in longer.rows] == [False, False]


def test_the_key_covers_config_data_and_code(tmp_path: Path) -> None:
    base = load_settings(PAPER)
    spec = tiny(tmp_path, data={"seeds": [1, 2], "minutes": 0.2})
    keys = {run.key for run in plan_runs(spec, base)}
    assert len(keys) == 4
    other_base = apply_overrides(base, (("engine.max_open_positions", 2),))
    assert keys.isdisjoint(run.key for run in plan_runs(spec, other_base))
    config, host, plugins = json.loads(plan_runs(spec, base)[0].configuration.identity)
    assert config == config_digest(apply_overrides(base, ((TRAIL, "0.001"),)))
    assert host.startswith("0.1.0 ")  # the host's version and a digest of its code
    assert "trailing_stop" in plugins  # each enabled plugin's source and code digest
    assert plugins["trailing_stop"].startswith("built-in ")


def test_the_best_configs_are_ready_to_use_yaml(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("engine:\n  entry_notional_usdt: '150'\n", encoding="utf-8")
    spec = tiny(tmp_path, base="base.yaml", best=2)
    report = sweep(spec, tmp_path / "out")
    assert [path.name for path in report.best_files] == [
        f"{entry.rank}-{entry.configuration.config_id}.yaml" for entry in report.ranked
    ]
    for entry, path in zip(report.ranked, report.best_files, strict=True):
        assert entry.configuration.settings is not None
        assert redacted_dump(load_settings(path)) == redacted_dump(entry.configuration.settings)
        assert load_settings(path).engine.entry_notional_usdt == Decimal(150)
    assert invoke("config", "show", "--config", str(report.best_files[0])).exit_code == 0


def test_the_table_has_every_run_and_the_sqlite_store_too(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    spec = tiny(tmp_path, data={"seeds": [1, 2], "minutes": 0.2})
    report = sweep(spec, tmp_path / "out")
    lines = (tmp_path / "out" / "runs.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(f"config,{TRAIL},data,status,trades")
    assert len(lines) == 1 + 4
    with closing(sqlite3.connect(tmp_path / "out" / "sweep.sqlite3")) as connection:
        stored = connection.execute("SELECT key, status, ledger_digest FROM runs").fetchall()
    assert sorted(stored) == sorted(
        (row.run.key, row.outcome.status, row.outcome.ledger_digest) for row in report.rows
    )


# --- figures and ranking ------------------------------------------------------------------------


def _figures(net: str, drawdown: str = "0", returns: tuple[str, ...] = ()) -> Figures:
    wins = sum(1 for r in returns if Decimal(r) > 0)
    return Figures(
        len(returns),
        wins,
        Decimal(net),
        Decimal(0),
        Decimal(drawdown),
        tuple(map(Decimal, returns)),
    )


def test_sharpe_is_the_mean_over_the_sample_deviation_of_per_trade_returns() -> None:
    assert sharpe(map(Decimal, ("0.01", "0.02", "0.03"))) == Decimal(2)
    assert sharpe(map(Decimal, ("-0.01", "0.03"))) == Decimal("0.353553")
    assert sharpe([Decimal(1)]) is None
    assert sharpe([Decimal(1), Decimal(1)]) is None


@pytest.mark.parametrize(
    ("rank_by", "order"),
    [("net_pnl", ["b", "a", "c"]), ("max_drawdown", ["c", "b", "a"]), ("sharpe", ["a", "c", "b"])],
)
def test_configs_rank_by_the_chosen_measure(tmp_path: Path, rank_by, order) -> None:
    from host.sweep.plan import Configuration, DataItem, Run
    from host.sweep.store import RunRow
    from host.sweep.task import RunOutcome

    figures = {
        "a": _figures("1", "5", ("0.01", "0.02", "0.03")),
        "b": _figures("2", "3", ("0.1", "-0.09")),
        "c": _figures("0.5", "1", ("0.01", "0.02", "0.05")),
    }
    rows = [
        RunRow(
            Run(Configuration(name, (), load_settings(None)), DataItem(1, None, 1), name),
            RunOutcome(name, OK, f),
        )
        for name, f in figures.items()
    ]
    assert [entry.configuration.config_id for entry in rank(rows, rank_by)] == order


# --- Ray ----------------------------------------------------------------------------------------


def test_without_ray_the_command_says_how_to_get_it(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    (blocker / "ray").mkdir(parents=True)
    (blocker / "ray" / "__init__.py").write_text("raise ImportError('no ray here')\n")
    spec = write_spec(tmp_path, {"grid": {TRAIL: ["0.001"]}, "data": {"seeds": [1]}})
    result = scalphost("sweep", str(spec), env={"PYTHONPATH": str(blocker)})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "scalphost sweep needs Ray: pip install 'scalphost[sweep]' "
        "(or use --local for a process pool on this machine)"
    )


RAY = importlib.util.find_spec("ray") is not None


@pytest.mark.slow
@pytest.mark.skipif(not RAY, reason="Ray is not installed (pip install 'scalphost[sweep]')")
def test_a_sweep_on_ray_twice_gives_the_tables_of_one_process_and_of_a_pool(
    tmp_path: Path,
) -> None:
    from host.sweep.workers import RayWorkers

    spec = tiny(
        tmp_path,
        grid={THRESHOLD: ["0.0005", "0.001"]},
        data={"seeds": [2], "minutes": 3},
    )
    ray = RayWorkers(2, None)
    try:
        first, second = sweep(spec, tmp_path / "one", ray), sweep(spec, tmp_path / "two", ray)
    finally:
        ray.close()
    alone = sweep(spec, tmp_path / "alone")
    pool = LocalWorkers(2)
    try:
        pooled_report = sweep(spec, tmp_path / "pool", pool)
    finally:
        pool.close()
    every = first.rows + second.rows + alone.rows + pooled_report.rows
    assert not any(row.cached for row in every)
    assert sum(entry.figures.trades for entry in first.ranked) > 0  # the runs traded
    for name in ("runs.csv", "ranking.csv"):
        table = (tmp_path / "one" / name).read_bytes()
        assert (tmp_path / "two" / name).read_bytes() == table
        assert (tmp_path / "alone" / name).read_bytes() == table
        assert (tmp_path / "pool" / name).read_bytes() == table


@pytest.mark.slow
@pytest.mark.skipif(not RAY, reason="Ray is not installed (pip install 'scalphost[sweep]')")
def test_an_address_where_no_cluster_answers_ends_in_one_line_and_exit_1(tmp_path: Path) -> None:
    """Unbounded, Ray retries for a quarter of an hour (past the helper's guard), warning often."""
    spec = write_spec(tmp_path, {"grid": {TRAIL: ["0.001"]}, "data": {"seeds": [1]}})
    out = tmp_path / "out"
    result = scalphost("sweep", str(spec), "--address", "127.0.0.1:1", "--output", str(out))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()  # not Ray's warning for every attempt
    # Ray puts the node's own address for 127.0.0.1; the port stays the one asked for
    assert line.startswith("ray error: --address 127.0.0.1:1: Failed to connect to Ray cluster at ")
    assert line.endswith(":1")


@pytest.mark.slow
def test_golive_checks_each_of_the_best_configs(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        {
            "base": str(PAPER),
            "grid": {
                TRAIL: ["0.001", "0.002", "-1"],
                "golive.session_minutes": [1],
                "journal.directory": [str(tmp_path / "journal")],
            },
            "data": {"seeds": [1], "minutes": 0.2},
            "best": 2,
        },
    )
    result = invoke(
        "sweep", str(spec), "--local", "--workers", "1", "--golive", "--output", str(tmp_path / "o")
    )
    assert result.exit_code == 1, result.output  # the refused -1 is a failed run
    verdicts = [line for line in result.output.splitlines() if line.startswith("golive ")]
    assert len(verdicts) == 2
    assert all(line.endswith(": PASSED") for line in verdicts), result.output
    assert result.output.count("fault-injected paper session") == 2
    assert len(list((tmp_path / "journal" / "golive").glob("*.json"))) == 2  # their stamps
