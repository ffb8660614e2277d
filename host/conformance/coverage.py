"""What a suite run proved: how many examples ran, in how many the plugin answered, and how fast.

A property that passes while the plugin never answered proves nothing (a trailing exit whose
warm-up is longer than every generated scenario "passes" thousands of examples), and a plugin
that answers correctly but takes milliseconds per tick would still miss its hook's budget. So the
suites record both, in one place: :func:`~host.conformance.calls.call_hook` reports every call it
makes (:func:`note_call`), and the per-example wrapper of
:func:`~host.conformance.suite.bind_properties` opens one example (:func:`example_of`) around
each run of a property. Each suite class keeps its own :class:`SuiteRecord`.

Calls made outside an example (a plain test calling ``run_exit``) are not recorded.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

ANSWERING_HOOKS = frozenset(
    {
        "on_tick_exit",
        "detect_regime",
        "plan_entry",
        "limit_order_ttl",
        "on_limit_expired",
        "on_signal",
    }
)
"""Hooks whose answer is an opinion; ``None`` (or an empty mapping) from them is "no opinion"."""

_BUCKET_RATIO = 1.02
"""Neighbouring histogram buckets differ by 2 %, so a percentile is exact to within 2 %."""


class CallTimes:
    """Durations of one plugin's calls of one hook: count, exact maximum, percentiles to 2 %.

    A go-live run makes millions of calls; a log-scale histogram keeps the memory constant.
    """

    def __init__(self) -> None:
        self.count = 0
        self.longest = 0.0
        self._buckets: dict[int, int] = {}

    @classmethod
    def merged(cls, parts: list[CallTimes]) -> CallTimes:
        """One histogram holding every call of ``parts``."""
        total = cls()
        for part in parts:
            total.count += part.count
            total.longest = max(total.longest, part.longest)
            for bucket, count in part._buckets.items():  # noqa: SLF001 -- its own class's
                total._buckets[bucket] = total._buckets.get(bucket, 0) + count
        return total

    def add(self, seconds: float) -> None:
        """Count one call that took ``seconds``."""
        self.count += 1
        self.longest = max(self.longest, seconds)
        bucket = math.floor(math.log(seconds, _BUCKET_RATIO)) if seconds > 0 else -(10**6)
        self._buckets[bucket] = self._buckets.get(bucket, 0) + 1

    def percentile(self, share: float) -> timedelta:
        """The duration ``share`` (0..1) of the calls stayed within (a bucket's upper edge)."""
        if self.count == 0:
            return timedelta(0)
        wanted, seen = share * self.count, 0
        for bucket in sorted(self._buckets):
            seen += self._buckets[bucket]
            if seen >= wanted:
                return timedelta(seconds=min(_BUCKET_RATIO ** (bucket + 1), self.longest))
        return timedelta(seconds=self.longest)

    @property
    def maximum(self) -> timedelta:
        """The longest call."""
        return timedelta(seconds=self.longest)


@dataclass
class PropertyTally:
    """Examples one property ran, and how many of them the plugin answered in."""

    examples: int = 0
    answered: int = 0


@dataclass
class SuiteRecord:
    """Everything one suite class measured: per property tallies and per (class, hook) times."""

    properties: dict[str, PropertyTally] = field(default_factory=dict)
    call_times: dict[tuple[type, str], CallTimes] = field(default_factory=dict)

    def tally(self, prop: str) -> PropertyTally:
        """The tally of ``prop`` (zero if it never ran)."""
        return self.properties.get(prop, PropertyTally())

    @property
    def examples(self) -> int:
        """Examples run over every property."""
        return sum(tally.examples for tally in self.properties.values())

    @property
    def answered(self) -> int:
        """Examples, over every property, in which the plugin answered."""
        return sum(tally.answered for tally in self.properties.values())


@dataclass
class _Example:
    record: SuiteRecord
    answered: bool = False


_CURRENT: ContextVar[_Example | None] = ContextVar("scalphost_conformance_example", default=None)


@contextmanager
def example_of(record: SuiteRecord, prop: str) -> Iterator[None]:
    """Record the calls made inside the block as one example of ``prop`` (passing or not)."""
    example = _Example(record)
    token = _CURRENT.set(example)
    try:
        yield
    finally:
        _CURRENT.reset(token)
        tally = record.properties.setdefault(prop, PropertyTally())
        tally.examples += 1
        tally.answered += example.answered


def note_call(plugin: object, hook: str, seconds: float, answer: object) -> None:
    """Count one call of ``plugin``'s ``hook`` in the current example, if one is open."""
    example = _CURRENT.get()
    if example is None:
        return
    times = example.record.call_times.setdefault((type(plugin), hook), CallTimes())
    times.add(seconds)
    if hook in ANSWERING_HOOKS and is_an_answer(answer):
        example.answered = True


def is_an_answer(answer: object) -> bool:
    """Whether an answering hook's result is an opinion (not ``None``, not an empty mapping)."""
    if answer is None:
        return False
    return not (isinstance(answer, Mapping) and not answer)
