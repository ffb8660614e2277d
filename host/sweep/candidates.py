"""``scalphost sweep --golive``: the go-live checklist for each of the best configs, as tasks.

The configs a user is about to choose between are all checked, side by side, on the same
workers as the runs. Each task runs the whole checklist (:func:`host.golive.items.run_checklist`)
and sends back its items; a passing one writes its stamp where that config's journal directory
is, as ``scalphost golive`` would (on a cluster: on the node that ran it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from host.clock import LiveClock
from host.errors import ConfigError
from host.golive.checklist import Checklist, ItemResult, Status
from host.golive.items import run_checklist
from host.logs import configure_logging
from host.settings import Settings
from host.sweep.ranking import Ranked
from host.sweep.workers import Workers


@dataclass(frozen=True, slots=True)
class GoliveTask:
    """One candidate: its config id and settings, and the hypothesis profile to check under."""

    config_id: str
    settings: Settings
    profile: str


@dataclass(frozen=True, slots=True)
class GoliveVerdict:
    """A candidate's checklist: every item's result."""

    config_id: str
    items: tuple[ItemResult, ...]

    @property
    def passed(self) -> bool:
        """Whether no item is red."""
        return all(item.status is not Status.FAILED for item in self.items)


def golive_one(task: GoliveTask) -> GoliveVerdict:
    """Run the checklist for one candidate; a config the plugins refuse is a red item."""
    configure_logging("ERROR", ())
    checklist = Checklist(lambda _result: None)
    try:
        run_checklist(task.settings, task.profile, (), checklist, LiveClock())
    except ConfigError as error:
        checklist.failed("config", "refused", tuple(str(p) for p in error.problems))
    return GoliveVerdict(task.config_id, tuple(checklist.results))


def golive_candidates(
    candidates: Sequence[Ranked], profile: str, workers: Workers
) -> list[GoliveVerdict]:
    """Each candidate's checklist, in the candidates' order (best first)."""
    tasks = []
    for entry in candidates:
        settings = entry.configuration.settings
        assert settings is not None  # noqa: S101 -- only configurations that ran are ranked
        tasks.append(GoliveTask(entry.configuration.config_id, settings, profile))
    verdicts: dict[int, GoliveVerdict] = {}
    for finished in workers.run(golive_one, tasks):
        verdict = finished.outcome
        if not isinstance(verdict, GoliveVerdict):
            cause = f"{type(finished.error).__name__}: {finished.error}"
            broken = ItemResult("golive", Status.FAILED, "the task failed", (cause,))
            verdict = GoliveVerdict(tasks[finished.index].config_id, (broken,))
        verdicts[finished.index] = verdict
    return [verdicts[index] for index in range(len(tasks))]
