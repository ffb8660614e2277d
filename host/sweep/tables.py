"""The sweep's tables: every run (terminal and CSV) and the ranked configurations.

The same cells go to the terminal and to the CSV files, so what one shows the other holds; money
is exact decimal text in the CSV and rounded to cents on the terminal. Nothing that depends on
the machine (wall time, worker) is in a table, so one sweep run twice gives identical tables.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from host.sweep.figures import Figures
from host.sweep.ranking import Ranked
from host.sweep.store import RunRow

RUNS_CSV = "runs.csv"
RANKING_CSV = "ranking.csv"
FIGURE_COLUMNS = ("trades", "win_rate", "net_pnl", "fees", "max_drawdown", "sharpe")


def figure_cells(figures: Figures | None, *, exact: bool) -> list[str]:
    """The figures' cells, exact (CSV) or rounded for reading (terminal); blank when none."""
    if figures is None:
        return [""] * len(FIGURE_COLUMNS)

    def money(value: Decimal) -> str:
        return str(value) if exact else f"{value:.2f}"

    def ratio(value: Decimal | None) -> str:
        return "" if value is None else (str(value) if exact else f"{value:.3f}")

    return [
        str(figures.trades),
        ratio(figures.win_rate),
        money(figures.net_pnl),
        money(figures.fees),
        money(figures.max_drawdown),
        ratio(figures.sharpe),
    ]


def run_table(rows: Sequence[RunRow], paths: Sequence[str], *, exact: bool) -> list[list[str]]:
    """Every run: its config, overrides, data, status, figures, ledger digest and cause."""
    header = ["config", *paths, "data", "status", *FIGURE_COLUMNS, "ledger", "cause"]
    body = [
        [
            row.run.configuration.config_id,
            *(str(value) for _, value in row.run.configuration.overrides),
            row.run.data.label,
            row.outcome.status + (" (stored)" if row.cached and not exact else ""),
            *figure_cells(row.outcome.figures, exact=exact),
            row.outcome.ledger_digest[:12],
            row.outcome.cause or row.run.configuration.problem,
        ]
        for row in rows
    ]
    return [header, *body]


def ranking_table(
    ranked: Sequence[Ranked], paths: Sequence[str], *, exact: bool
) -> list[list[str]]:
    """The ranked configurations: rank, config, overrides, runs and pooled figures."""
    header = ["rank", "config", *paths, "runs", *FIGURE_COLUMNS]
    body = [
        [
            str(entry.rank),
            entry.configuration.config_id,
            *(str(value) for _, value in entry.configuration.overrides),
            str(entry.runs),
            *figure_cells(entry.figures, exact=exact),
        ]
        for entry in ranked
    ]
    return [header, *body]


def short_names(paths: Sequence[str]) -> list[str]:
    """Each dotted path by its shortest ending that no other path shares (for a terminal)."""
    names = []
    for path in paths:
        parts = path.split(".")
        for length in range(1, len(parts) + 1):
            name = ".".join(parts[-length:])
            if sum(1 for other in paths if other == name or other.endswith("." + name)) == 1:
                break
        names.append(name)
    return names


def write_csv(path: Path, table: Sequence[Sequence[str]]) -> None:
    """Write ``table`` (header first) as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(table)


def show(console: Console, title: str, table: Sequence[Sequence[str]]) -> None:
    """Print ``table`` (header first) as a rich table; numbers right-aligned."""
    view = Table(title=title, title_justify="left")
    numeric = set(FIGURE_COLUMNS) | {"rank", "runs"}
    for name in table[0]:
        view.add_column(name, justify="right" if name in numeric else "left", overflow="fold")
    for row in table[1:]:
        view.add_row(*row)
    console.print(view)
