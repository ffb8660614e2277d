"""One run of a sweep, as a worker executes it: a fast replay with its own journal.

Everything a worker needs travels with the task (the validated settings, the data item), so a
worker on another machine needs only scalphost, the plugins and the data files — nothing of the
driver's environment. Whatever goes wrong in the run (a plugin that raises, a data file that
does not parse) comes back as the run's cause instead of stopping the sweep.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from host.logs import configure_logging
from host.plugin_guard import FaultLog
from host.report.command import load
from host.report.source import Period
from host.sessions.fast import run_fast
from host.sessions.replay_loop import run_on_replay_loop
from host.settings import Settings
from host.sweep.figures import Figures, figures_of
from host.sweep.plan import DataItem

OK = "ok"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunTask:
    """What a worker gets: the run's key, its settings and its market."""

    key: str
    settings: Settings
    data: DataItem


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a worker sends back: the figures, or why there are none."""

    key: str
    status: str
    figures: Figures | None = None
    ledger_digest: str = ""
    """The simulator's ledger digest: equal digests, identical histories on the exchange."""
    cause: str = ""


def run_one(task: RunTask) -> RunOutcome:
    """Replay ``task``'s market with its settings, in a journal directory of its own."""
    minutes = task.data.minutes
    try:
        with (
            only_errors_logged(),
            tempfile.TemporaryDirectory(prefix="scalphost-sweep-") as directory,
        ):
            settings = task.settings.model_copy(
                update={
                    "journal": task.settings.journal.model_copy(
                        update={"directory": Path(directory)}
                    )
                }
            )
            result = run_on_replay_loop(
                run_fast(
                    settings,
                    duration=None if minutes is None else timedelta(minutes=minutes),
                    seed=task.data.seed,
                    data=task.data.file,
                )
            )
            report = load(result.journal, Period(), settings.hooks)
    except Exception as error:  # any failure is this run's, reported with it
        return failed(task.key, error)
    if result.stats.faults.total:
        return RunOutcome(task.key, FAILED, cause=plugin_failures(result.stats.faults))
    figures = figures_of(report, settings.engine.entry_notional_usdt)
    return RunOutcome(task.key, OK, figures, result.ledger_digest)


@contextmanager
def only_errors_logged() -> Iterator[None]:
    """Log only errors during a run, then put the caller's logging back.

    A run's warnings would interleave with the sweep's progress. Run in the sweep's own process
    (``--local --workers 1``), the run must not leave that process logging only errors.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("ERROR", ())
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        for handler in [h for h in handlers if h not in root.handlers]:
            root.addHandler(handler)
        root.setLevel(level)


def plugin_failures(faults: FaultLog) -> str:
    """Why a run whose plugins failed is not its configuration's result, on one line.

    The session went on (the guard counts a plugin's faults and switches it off when it keeps
    raising), but figures made without a plugin's answers would rank a configuration that was
    never really run. Each failing plugin: how often, its first problem, and whether it was
    switched off (the reason gives the last error).
    """
    causes = []
    for plugin, count in faults.by_plugin().items():
        hook, problem = faults.first_problems[plugin]
        errors = f"{count} error" + ("" if count == 1 else "s")
        cause = f"plugin {plugin}: {errors}, the first in {hook}: {problem}"
        switched_off = faults.switched_off.get(plugin)
        causes.append(f"{cause}; {switched_off}" if switched_off else cause)
    return "; ".join(causes)


def failed(key: str, error: BaseException) -> RunOutcome:
    """A run that raised: its cause is the error's type and message, on one line."""
    message = " ".join(str(error).split())
    kind = type(error).__name__
    return RunOutcome(key, FAILED, cause=f"{kind}: {message}" if message else kind)
