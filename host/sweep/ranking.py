"""Which configurations did best: their runs pooled, ranked by the spec's measure.

A configuration is judged on all its data at once (every trade of every seed and file), so the
best is the one that did well across markets, not on one lucky seed. A configuration with a
failed run is not ranked: its figures would leave a market out. The best are written as YAML
configs that ``scalphost run --config`` and ``scalphost golive --config`` take as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from host.settings import Settings, redacted_dump
from host.sweep.figures import Figures, pooled
from host.sweep.plan import Configuration
from host.sweep.spec import RankBy
from host.sweep.store import RunRow
from host.sweep.task import OK

BEST_FOLDER = "best"
NOT_WRITTEN = ("credentials",)
"""Credentials come from the environment or the secrets directory, never from a YAML file."""

LOWEST = Decimal("-Infinity")
MEASURES: dict[RankBy, Callable[[Figures], Decimal]] = {
    "net_pnl": lambda f: f.net_pnl,
    "max_drawdown": lambda f: -f.max_drawdown,  # the smallest drawdown is best
    "win_rate": lambda f: LOWEST if f.win_rate is None else f.win_rate,
    "sharpe": lambda f: LOWEST if f.sharpe is None else f.sharpe,
}
"""Each measure as "higher is better"; an undefined ratio ranks last."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """A configuration that ran on all its data, with its pooled figures and rank."""

    rank: int
    configuration: Configuration
    figures: Figures
    runs: int


def rank(rows: Sequence[RunRow], rank_by: RankBy) -> list[Ranked]:
    """The configurations whose runs all succeeded, best first; ties keep the sweep's order."""
    runs: dict[str, list[RunRow]] = {}
    for row in rows:
        runs.setdefault(row.run.configuration.config_id, []).append(row)
    complete = []
    for group in runs.values():
        measured = [r.outcome.figures for r in group if r.outcome.status == OK]
        figures = [f for f in measured if f is not None]
        if len(figures) == len(group):
            complete.append((group[0].run.configuration, pooled(figures), len(group)))
    measure = MEASURES[rank_by]
    ordered = sorted(complete, key=lambda entry: measure(entry[1]), reverse=True)
    return [
        Ranked(place, configuration, figures, count)
        for place, (configuration, figures, count) in enumerate(ordered, start=1)
    ]


def write_best(ranked: Sequence[Ranked], best: int, output: Path) -> list[Path]:
    """Write the ``best`` configurations as YAML into ``output/best`` (the old ones removed)."""
    folder = output / BEST_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    written = []
    for entry in ranked[:best]:
        settings = entry.configuration.settings
        assert settings is not None  # noqa: S101 -- only configurations that ran are ranked
        path = folder / f"{entry.rank}-{entry.configuration.config_id}.yaml"
        path.write_text(config_yaml(settings, entry), encoding="utf-8")
        written.append(path)
    return written


def config_yaml(settings: Settings, entry: Ranked) -> str:
    """The effective settings as a config file, headed by the overrides and the figures."""
    document = {k: v for k, v in redacted_dump(settings).items() if k not in NOT_WRITTEN}
    figures = entry.figures
    header = [
        f"# scalphost sweep: rank {entry.rank}, config {entry.configuration.config_id}, "
        f"{entry.runs} runs, {figures.trades} trades, net {figures.net_pnl:.2f} USDT, "
        f"max drawdown {figures.max_drawdown:.2f} USDT",
        *(f"#   {path}: {value}" for path, value in entry.configuration.overrides),
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(document, sort_keys=False)
