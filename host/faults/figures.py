"""The fault suite's figures: what was tried, what held, what broke (FAULTS.md §7.5).

One :class:`Figures` collects a whole run (the state machine's examples and the hostile-input
corpus); :meth:`Figures.render` is the table ``scalphost faults`` prints and the README quotes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from host.faults.invariants import INVARIANTS, Violation

MAX_EVIDENCE = 20
"""Violations quoted in full; the rest are counted."""


@dataclass
class Figures:
    """Counts of one run of the suite."""

    examples: int = 0
    steps: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    survived: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    violated: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    recovered: int = 0
    hostile: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    orders_on_garbage: int = 0
    fills_lost: int = 0
    secrets_found: int = 0
    evidence: list[str] = field(default_factory=list)

    def checked(self, invariant: str, violations: Iterable[Violation] = ()) -> list[Violation]:
        """Count one run of ``invariant``'s check and what it found; return the findings."""
        found = [v for v in violations if v.invariant == invariant]
        self.checks[invariant] += 1
        self.record(found)
        return found

    def record(self, violations: Iterable[Violation]) -> None:
        """Count violations (and quote the first few)."""
        for violation in violations:
            self.violated[violation.invariant] += 1
            if violation.invariant == "fills match" and "not in the journal" in violation.detail:
                self.fills_lost += 1
            if len(self.evidence) < MAX_EVIDENCE:
                self.evidence.append(f"{violation.invariant}: {violation.detail}")

    def add_example(self, example: Figures, *, survived: bool) -> None:
        """Add one state-machine example's figures; its faults survived if nothing broke."""
        self.examples += 1
        self.steps += example.steps
        self.injected.update(example.injected)
        if survived:
            self.survived.update(example.injected)
        self.checks.update(example.checks)
        self.violated.update(example.violated)
        self.restarts += example.restarts
        self.recovered += example.recovered
        self.fills_lost += example.fills_lost
        self.secrets_found += example.secrets_found
        self.evidence.extend(example.evidence[: max(0, MAX_EVIDENCE - len(self.evidence))])

    def crashed(self, kind: str, what: str) -> None:
        """A hostile input of ``kind`` ended the session, raised, or printed a traceback."""
        self.crashes[kind] += 1
        if len(self.evidence) < MAX_EVIDENCE:
            self.evidence.append(f"crash ({kind}): {what}")

    @property
    def passed(self) -> bool:
        """Zero violations, crashes, orders on garbage, lost fills and secrets."""
        return not (
            sum(self.violated.values())
            or sum(self.crashes.values())
            or self.orders_on_garbage
            or self.fills_lost
            or self.secrets_found
            or self.recovered < self.restarts
        )

    def render(self) -> str:
        """The figures as plain aligned tables."""
        faults = [("fault", "injected", "survived")] + [
            (name, str(self.injected[name]), str(self.survived[name]))
            for name in sorted(self.injected)
        ]
        invariants = [("invariant", "checks", "violated")] + [
            (name, str(self.checks[name]), str(self.violated[name]))
            for name in INVARIANTS
            if self.checks[name] or self.violated[name]
        ]
        kinds = sorted(self.hostile)
        inputs = [("hostile input", "tried", "crashes")] + [
            (kind, str(self.hostile[kind]), str(self.crashes[kind])) for kind in kinds
        ]
        survived_types = sum(
            1 for name in self.injected if self.survived[name] == self.injected[name]
        )
        summary = [
            ("figure", "value", ""),
            ("state-machine examples / steps", f"{self.examples} / {self.steps}", ""),
            ("fault types injected / survived", f"{len(self.injected)} / {survived_types}", ""),
            (
                "faults injected / survived",
                f"{sum(self.injected.values())} / {sum(self.survived.values())}",
                "",
            ),
            (
                "invariant checks run / violated",
                f"{sum(self.checks.values())} / {sum(self.violated.values())}",
                "",
            ),
            ("restarts / recovered", f"{self.restarts} / {self.recovered}", ""),
            (
                "hostile inputs / crashes / orders sent",
                f"{sum(self.hostile.values())} / {sum(self.crashes.values())} / "
                f"{self.orders_on_garbage}",
                "",
            ),
            ("fills lost", str(self.fills_lost), ""),
            ("secrets found", str(self.secrets_found), ""),
        ]
        parts = [_table(rows) for rows in (summary, faults, invariants, inputs)]
        if self.evidence:
            parts.append("\n".join(["evidence:", *(f"  {line}" for line in self.evidence)]))
        return "\n\n".join(parts)


def _table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2].rjust(widths[2])}".rstrip()
        for row in rows
    )
