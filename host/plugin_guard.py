"""Per-plugin fault isolation: each hook implementation answers or fails on its own.

pluggy aborts a hook call at the first exception, and the implementations still waiting are never
asked. For a trading host that is the wrong failure mode: a crashing alternative-exit plugin would
hide the trailing stop's close. So every implementation is registered behind a small guard that
turns its answer into an :class:`Answer` (tagged with the plugin's name, so the dispatcher can say
who proposed what) and its exception into a :class:`PluginFault`. pluggy still does the calling,
ordering and ``firstresult`` short-circuit; the guard only changes what a failure looks like.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    """A plugin's non-``None`` answer to one hook call."""

    plugin: str
    value: object


@dataclass(frozen=True, slots=True)
class PluginFault:
    """A plugin that raised instead of answering."""

    plugin: str
    hook: str
    error: Exception


class FaultLog:
    """Counts plugin failures and invalid answers per ``(plugin, hook)``.

    The counts are what the circuit breaker and the health report read; each fault is logged
    once, with the plugin and hook named, when it happens.
    """

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def record(self, plugin: str, hook: str, problem: str, error: Exception | None = None) -> None:
        """Count one fault and log it with the plugin and hook that caused it."""
        self.counts[(plugin, hook)] += 1
        log.error("plugin %r failed in hook %r: %s", plugin, hook, problem, exc_info=error)

    @property
    def total(self) -> int:
        """All faults recorded so far."""
        return sum(self.counts.values())


def guard(
    plugin: str, hook: str, implementation: Callable[..., object], faults: FaultLog
) -> Callable[..., object]:
    """Wrap one hook implementation so it returns an :class:`Answer`, ``None`` or a fault.

    ``functools.wraps`` keeps ``__wrapped__``, which pluggy follows to read the implementation's
    (opt-in) argument names.
    """

    @functools.wraps(implementation)
    def guarded(*args: object) -> Answer | PluginFault | None:
        try:
            value = implementation(*args)
        except Exception as error:
            faults.record(plugin, hook, f"raised {type(error).__name__}: {error}", error)
            return PluginFault(plugin, hook, error)
        return None if value is None else Answer(plugin, value)

    return guarded
