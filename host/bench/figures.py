"""Figures: latency distributions, throughputs and plain values, with a ratio to the reference.

A figure is kept as its summary (p50, p99, p99.9, max, count), never as the raw samples: the
JSON stays small and the table and the file show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

NS_PER_US = 1000.0


def percentile(ranked: Sequence[float], fraction: float) -> float:
    """The sample at ``fraction`` of ``ranked`` (sorted), nearest rank: a real observed value."""
    if not ranked:
        return math.nan
    index = max(0, math.ceil(fraction * len(ranked)) - 1)
    return ranked[min(index, len(ranked) - 1)]


@dataclass(frozen=True, slots=True)
class Distribution:
    """p50 / p99 / p99.9 / max of many samples, in one unit."""

    p50: float
    p99: float
    p999: float
    max: float
    count: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Distribution:
        """Summarise ``samples`` (any order)."""
        ranked = sorted(samples)
        return cls(
            percentile(ranked, 0.5),
            percentile(ranked, 0.99),
            percentile(ranked, 0.999),
            ranked[-1] if ranked else math.nan,
            len(ranked),
        )

    @classmethod
    def of_ns_as_us(cls, samples_ns: Sequence[int]) -> Distribution:
        """Summarise nanosecond samples in microseconds."""
        return cls.of([sample / NS_PER_US for sample in samples_ns])


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured quantity of a scenario.

    ``value`` is the figure (a distribution's p50 when there is one); ``ratio`` divides it by
    the reference loop's figure of the same run (for a latency: the reference's p50 per frame),
    so it says "so many reference frames' worth" and survives a machine that is slower today.
    ``goal`` is the issue's target for it, when it has one, as text.
    """

    scenario: str
    name: str
    unit: str
    value: float
    distribution: Distribution | None = None
    throughput_per_s: float | None = None
    ratio: float | None = None
    goal: str | None = None
    met: bool | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The figure as JSON-ready data (NaN, which JSON lacks, as null)."""
        finite: dict[str, Any] = _finite(asdict(self))
        return finite


def latency(
    scenario: str,
    name: str,
    samples_ns: Sequence[int],
    reference_us: float | None,
    *,
    goal_us: tuple[str, float] | None = None,
    note: str = "",
    cost: bool = False,
) -> Figure:
    """A latency figure in µs from nanosecond samples; ``goal_us``: (percentile, bound).

    ``cost``: the time is work done per frame, so its p50 also gives a rate (frames a second
    at that cost); a time spent waiting in a queue gives none.
    """
    spread = Distribution.of_ns_as_us(samples_ns)
    met = None
    goal = None
    if goal_us is not None:
        which, bound = goal_us
        goal = f"{which} ≤ {bound:g} µs"
        met = getattr(spread, which) <= bound
    return Figure(
        scenario,
        name,
        "µs",
        spread.p50,
        spread,
        throughput_per_s=1e6 / spread.p50 if cost and spread.p50 > 0 else None,
        ratio=spread.p50 / reference_us if reference_us else None,
        goal=goal,
        met=met,
        note=note,
    )


@dataclass
class Report:
    """Everything one ``scalphost bench`` run measured, with the machine it ran on."""

    machine: dict[str, Any]
    quick: bool
    reference_us: float
    figures: list[Figure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON the command writes."""
        return {
            "machine": self.machine,
            "quick": self.quick,
            "reference": {
                "what": "orjson + dict registry + a pluggy trailing stop on floats, per frame",
                "p50_us": self.reference_us,
            },
            "figures": [figure.to_json() for figure in self.figures],
        }


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value
