"""The go-live checklist's results: one line per item, green, red or skipped, with the reason.

Items run for minutes (the golive profile runs thousands of examples per property), so each
result is reported the moment it is known rather than at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class Status(Enum):
    """How an item ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One checked item: its status, a one-line summary and, for a failure, the evidence."""

    item: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()


Reporter = Callable[[ItemResult], None]


@dataclass
class Checklist:
    """Collects results in order and hands each to the reporter as it arrives."""

    report: Reporter
    results: list[ItemResult] = field(default_factory=list)

    def add(self, result: ItemResult) -> ItemResult:
        """Record ``result`` and report it now."""
        self.results.append(result)
        self.report(result)
        return result

    def passed(self, item: str, summary: str) -> ItemResult:
        """Record a green item."""
        return self.add(ItemResult(item, Status.PASSED, summary))

    def failed(self, item: str, summary: str, details: tuple[str, ...] = ()) -> ItemResult:
        """Record a red item with its evidence."""
        return self.add(ItemResult(item, Status.FAILED, summary, details))

    def skipped(self, item: str, summary: str) -> ItemResult:
        """Record an item that does not apply, saying why."""
        return self.add(ItemResult(item, Status.SKIPPED, summary))

    @property
    def all_passed(self) -> bool:
        """Whether no item is red (skipped items say why they do not apply)."""
        return all(result.status is not Status.FAILED for result in self.results)
