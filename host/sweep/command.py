"""A whole sweep: plan the runs, reuse stored results, run the rest, store, rank, write.

The runs go to :class:`~host.sweep.workers.Workers` (Ray or a local pool); while they run, a
progress bar counts the runs done, running, failed and taken from the store. Every outcome is
stored as it arrives, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from host.settings import Settings
from host.sweep.plan import Run, plan_runs
from host.sweep.ranking import Ranked, rank, write_best
from host.sweep.spec import SweepSpec
from host.sweep.store import RunRow, save_rows, stored_outcomes
from host.sweep.tables import (
    RANKING_CSV,
    RUNS_CSV,
    ranking_table,
    run_table,
    short_names,
    show,
    write_csv,
)
from host.sweep.task import FAILED, OK, RunOutcome, RunTask, failed, run_one
from host.sweep.workers import Workers

STORE = "sweep.sqlite3"


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What a sweep left: every run's row in plan order, the ranking, the best configs' files."""

    rows: list[RunRow]
    ranked: list[Ranked]
    best_files: list[Path]

    @property
    def failed(self) -> list[RunRow]:
        """The runs that failed, each with its cause."""
        return [row for row in self.rows if row.outcome.status != OK]


def run_sweep(
    spec: SweepSpec, base: Settings, output: Path, workers: Workers, console: Console
) -> SweepReport:
    """Run ``spec`` from ``base`` on ``workers``; write tables and best configs to ``output``."""
    runs = plan_runs(spec, base)
    store = output / STORE
    stored = stored_outcomes(store, (run.key for run in runs))
    rows: dict[int, RunRow] = {}
    todo: list[int] = []
    for index, run in enumerate(runs):
        if run.configuration.settings is None:
            refused = RunOutcome(run.key, FAILED, cause=run.configuration.problem)
            rows[index] = RunRow(run, refused)
        elif run.key in stored:
            rows[index] = RunRow(run, stored[run.key], cached=True)
        else:
            todo.append(index)
    save_rows(store, rows.values())
    _execute(runs, todo, rows, workers, console, store)
    ordered = [rows[index] for index in range(len(runs))]
    ranked = rank(ordered, spec.rank_by)
    paths = list(spec.grid)
    write_csv(output / RUNS_CSV, run_table(ordered, paths, exact=True))
    write_csv(output / RANKING_CSV, ranking_table(ranked, paths, exact=True))
    return SweepReport(ordered, ranked, write_best(ranked, spec.best, output))


def _execute(
    runs: Sequence[Run],
    todo: Sequence[int],
    rows: dict[int, RunRow],
    workers: Workers,
    console: Console,
    store: Path,
) -> None:
    """Run the runs at ``todo`` on ``workers``, storing and counting each as it finishes."""
    tasks = []
    for index in todo:
        run = runs[index]
        assert run.configuration.settings is not None  # noqa: S101 -- refused ones are not todo
        tasks.append(RunTask(run.key, run.configuration.settings, run.data))
    columns = (
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task(_counts(rows, len(runs), workers.slots), total=len(runs))
        progress.update(bar, completed=len(rows))
        for finished in workers.run(run_one, tasks):
            index = todo[finished.index]
            outcome = finished.outcome
            if not isinstance(outcome, RunOutcome):
                outcome = failed(runs[index].key, finished.error or RuntimeError("no result"))
            rows[index] = RunRow(runs[index], outcome)
            save_rows(store, [rows[index]])
            description = _counts(rows, len(runs), workers.slots)
            progress.update(bar, completed=len(rows), description=description)


def _counts(rows: dict[int, RunRow], total: int, slots: int) -> str:
    """``done · running · failed · stored``: what the progress bar says beside the bar."""
    done = sum(1 for row in rows.values() if row.outcome.status == OK)
    stored = sum(1 for row in rows.values() if row.cached)
    running = min(slots, total - len(rows))
    return f"done {done} · running {running} · failed {len(rows) - done} · stored {stored}"


def show_report(report: SweepReport, spec: SweepSpec, console: Console) -> None:
    """Every run, then the ranking and where the best configs are, then each failure's cause."""
    paths = short_names(list(spec.grid))
    show(console, "Runs", run_table(report.rows, paths, exact=False))
    ranking = ranking_table(report.ranked, paths, exact=False)
    show(console, f"Configs ranked by {spec.rank_by}", ranking)
    for path in report.best_files:
        console.print(f"best config: {path}")
    for row in report.failed:
        cause = row.outcome.cause or "no cause given"
        where = f"{row.run.configuration.config_id} on {row.run.data.label}"
        console.print(
            f"FAILED {where}: {cause}", markup=False, soft_wrap=True
        )  # one line: grep-able
