"""Per-plugin fault isolation and health: each hook implementation answers or fails on its own.

pluggy aborts a hook call at the first exception, and the implementations still waiting are never
asked. For a trading host that is the wrong failure mode: a crashing alternative-exit plugin would
hide the trailing stop's close. So every implementation is registered behind a small guard that
turns its answer into an :class:`Answer` (tagged with the plugin's name, so the dispatcher can say
who proposed what) and its exception into a :class:`PluginFault`. pluggy still does the calling,
ordering and ``firstresult`` short-circuit; the guard only changes what a failure looks like. In a
first-answer hook a fault is a result too, so pluggy stops at it: :mod:`host.dispatch` then asks
again without the plugins already heard, so the ones behind a failing plugin are still asked. The
two collect-all hooks called on every tick go through :class:`DirectCall` instead of pluggy's
general call: the same guarded implementations in the same order, for less. The host's manager
(:class:`CountedPluginManager`) counts its registrations, so the direct call knows at the cost of
one comparison when the implementations it holds are out of date.

The guard also keeps the plugin's health (:class:`FaultLog`): how often it failed, whether it
keeps failing (then it is switched off for the session, unless it is essential), and whether it
keeps overrunning its hook's time budget (then it is warned about once). The session summary and
the journal read what it found.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from host.clock import monotonic_ns
from host.domain.quick_init import quick_init
from host.durations import DurationHistogram

log = logging.getLogger(__name__)

SLOW_STREAK = 10
"""Calls in a row over budget before a plugin is warned about.

A call is timed on the wall clock (a plugin that blocks on I/O must show), so a quick call can
look slow through no fault of its own: a garbage collection, the journal's writer thread holding
the GIL, another process on the core. In a default paper session the built-ins, which take a few
µs, were seen over budget up to 3 calls in a row that way. A plugin that really is too slow is
slow on every call and is still named within its first few calls.
"""


@quick_init  # one per plugin that answers, on every tick
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


@dataclass(slots=True, eq=False)
class HookHealth:
    """One plugin's record in one hook: what the guard updates on every call."""

    plugin: str
    hook: str
    budget_ns: int
    essential: bool
    failures_in_a_row: int = 0
    slow_in_a_row: int = 0
    fastest_slow_ns: int = 0
    """The quickest of the current run of over-budget calls (a floor, not an outlier)."""
    warned_slow: bool = False
    answers: int = 0
    """Calls that answered (not ``None``): the plugin's decisions, for the metrics."""
    timing: DurationHistogram = field(default_factory=DurationHistogram)
    """How long the calls that returned took (the guard's own reading, so it costs no clock)."""


@dataclass(frozen=True, slots=True)
class SlowHook:
    """A plugin warned about for overrunning its hook's budget."""

    plugin: str
    hook: str
    took_ns: int
    budget_ns: int


SwitchOffListener = Callable[[str, str], None]
"""Told ``(plugin, reason)`` when a plugin is switched off for the session."""


class FaultLog:
    """Counts plugin failures and invalid answers per ``(plugin, hook)``; switches off and warns.

    Each ``(plugin, hook)`` logs its first fault with the traceback; repeats are counted (the
    session summary shows the counts) and logged at debug level only, so a plugin failing on every
    tick does not bury the log. After ``failure_limit`` exceptions in a row from one hook (a call
    that returns resets the count; invalid answers are counted but do not switch a plugin off), a
    non-essential plugin is switched off: the listeners (the plugin manager, which unregisters it;
    the engine, which journals it) are told once.
    """

    def __init__(self, failure_limit: int | None = None) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.failure_limit = failure_limit
        self.switched_off: dict[str, str] = {}
        """Plugins switched off for the session, with the reason."""
        self.first_problems: dict[str, tuple[str, str]] = {}
        """Each failing plugin's first fault, ``(hook, problem)``: what, not only how often."""
        self.slow: list[SlowHook] = []
        self.hooks: list[HookHealth] = []
        """Every guarded implementation's record, for the metrics to read at scrape time."""
        self._listeners: list[SwitchOffListener] = []

    def on_switch_off(self, listener: SwitchOffListener) -> None:
        """Call ``listener(plugin, reason)`` whenever a plugin is switched off."""
        self._listeners.append(listener)

    def record(self, plugin: str, hook: str, problem: str, error: Exception | None = None) -> None:
        """Count one fault and log it with the plugin and hook that caused it."""
        self.counts[(plugin, hook)] += 1
        self.first_problems.setdefault(plugin, (hook, problem))
        first = self.counts[(plugin, hook)] == 1
        log.log(
            logging.ERROR if first else logging.DEBUG,
            "plugin %r failed in hook %r: %s",
            plugin,
            hook,
            problem,
            exc_info=error if first else None,
        )

    def raised(self, health: HookHealth, error: Exception) -> None:
        """Count an exception from ``health``'s hook; switch the plugin off if it keeps raising."""
        self.record(health.plugin, health.hook, f"raised {type(error).__name__}: {error}", error)
        health.failures_in_a_row += 1
        limit = self.failure_limit
        if (
            limit is None
            or health.failures_in_a_row < limit
            or health.essential
            or health.plugin in self.switched_off
        ):
            return
        reason = (
            f"switched off for the session after {health.failures_in_a_row} failures in a row "
            f"in {health.hook} (last: {type(error).__name__}: {error})"
        )
        self.switched_off[health.plugin] = reason
        log.error("plugin %r %s", health.plugin, reason)
        for listener in self._listeners:
            listener(health.plugin, reason)

    def over_budget(self, health: HookHealth, took_ns: int) -> None:
        """Note a call over its hook's budget; warn once when the plugin keeps overrunning."""
        if health.warned_slow:
            return
        health.slow_in_a_row += 1
        if health.slow_in_a_row == 1 or took_ns < health.fastest_slow_ns:
            health.fastest_slow_ns = took_ns
        if health.slow_in_a_row < SLOW_STREAK:
            return
        health.warned_slow = True
        slow = SlowHook(health.plugin, health.hook, health.fastest_slow_ns, health.budget_ns)
        self.slow.append(slow)
        log.warning(
            "plugin %r is over budget in hook %r: %d calls in a row took at least %s "
            "(budget %s); warned once",
            slow.plugin,
            slow.hook,
            SLOW_STREAK,
            format_ns(slow.took_ns),
            format_ns(slow.budget_ns),
        )

    @property
    def total(self) -> int:
        """All faults recorded so far."""
        return sum(self.counts.values())

    def by_plugin(self) -> dict[str, int]:
        """Faults per plugin, all hooks together, by plugin name."""
        totals: Counter[str] = Counter()
        for (plugin, _), count in self.counts.items():
            totals[plugin] += count
        return dict(sorted(totals.items()))


def format_ns(nanoseconds: int) -> str:
    """A duration in the unit the hook contract uses for it: µs, ms or s."""
    if nanoseconds < 1_000_000:
        return f"{nanoseconds / 1_000:.0f} µs"
    if nanoseconds < 1_000_000_000:
        return f"{nanoseconds / 1_000_000:.1f} ms"
    return f"{nanoseconds / 1_000_000_000:.2f} s"


class Guard:
    """What the guard does with one implementation's outcome: count, time, isolate, answer.

    Kept apart from the call itself so :class:`DirectCall`, which calls the guarded
    implementations of the per-tick hooks in a row, can time them with one clock reading between
    two calls instead of two readings around each, and still account for each call as
    :func:`guard` does.
    """

    __slots__ = ("_buckets", "_faults", "_health", "_timing")

    def __init__(self, health: HookHealth, faults: FaultLog) -> None:
        self._health = health
        self._faults = faults
        self._timing = health.timing
        self._buckets = health.timing.counts
        faults.hooks.append(health)

    def answered(self, took: int, value: object) -> Answer | None:
        """A call that returned ``value`` after ``took`` nanoseconds: an answer, or ``None``."""
        health = self._health
        self._buckets[(took - 1).bit_length()] += 1  # DurationHistogram.record_ns, inlined
        self._timing.total_ns += took
        if took > health.budget_ns:
            self._faults.over_budget(health, took)
        elif health.slow_in_a_row:
            health.slow_in_a_row = 0
        if health.failures_in_a_row:
            health.failures_in_a_row = 0
        if value is None:
            return None
        health.answers += 1
        return Answer(health.plugin, value)

    def raised(self, error: Exception) -> PluginFault:
        """A call that raised: counted (and the plugin switched off if it keeps raising)."""
        self._faults.raised(self._health, error)
        return PluginFault(self._health.plugin, self._health.hook, error)


GUARD_ATTRIBUTE = "scalphost_guard"
"""Where a guarded function keeps its :class:`Guard` (read by :class:`DirectCall`)."""


def guard(
    health: HookHealth, implementation: Callable[..., object], faults: FaultLog
) -> Callable[..., object]:
    """Wrap one hook implementation so it returns an :class:`Answer`, ``None`` or a fault.

    The call is timed with :func:`host.clock.monotonic_ns` (two readings; see
    bench/bench_guard.py for the cost). ``functools.wraps`` keeps ``__wrapped__``, which pluggy
    follows to read the implementation's (opt-in) argument names.
    """
    keeper = Guard(health, faults)
    answered, raised = keeper.answered, keeper.raised

    @functools.wraps(implementation)
    def guarded(*args: object) -> Answer | PluginFault | None:
        started = monotonic_ns()
        try:
            value = implementation(*args)
        except Exception as error:
            return raised(error)
        return answered(monotonic_ns() - started, value)

    setattr(guarded, GUARD_ATTRIBUTE, keeper)
    return guarded


class CountedPluginManager(pluggy.PluginManager):
    """pluggy's manager, counting every change to what is registered.

    A plugin switched off is unregistered (``set_blocked`` unregisters too); ``changes`` moves on
    each registration and unregistration, even one that failed half-way, so a caller that keeps a
    hook's implementations (:class:`DirectCall`) can tell they are out of date by comparing one
    integer, instead of copying pluggy's list and comparing it on every call.
    """

    changes = 0

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register as pluggy does, and count the change."""
        try:
            return super().register(plugin, name)
        finally:
            self.changes += 1

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any | None:
        """Unregister as pluggy does, and count the change."""
        try:
            return super().unregister(plugin, name)
        finally:
            self.changes += 1


_Step = tuple[Callable[..., object], Guard | None, tuple[int, ...] | None]
"""One implementation in a :class:`DirectCall`'s plan: function, its guard, the arguments."""


class DirectCall:
    """A collect-all hook's guarded implementations called in pluggy's order, without pluggy.

    ``on_tick_exit`` and ``generate_signals`` are called on every tick, and pluggy's general call
    (its keyword checks, a copy of the implementation list, a loop that also serves wrappers and
    first-answer hooks) cost about as much as the three built-in exit plugins it called. The
    functions called are the ones pluggy holds, each behind its :func:`guard`, so every call is
    still timed, counted, isolated and switched off as before. The arguments are passed in the
    hookspec's order; an implementation that asks for exactly those gets them as they are, one
    that asks for fewer or another order gets them picked out. The plan is made again whenever
    the manager's registrations changed (:class:`CountedPluginManager`), so a plugin switched off
    (unregistered) is not asked again from the next call on, and one registered later is asked.
    The host refuses wrapper implementations (:mod:`host.pluginmanager`); an implementation
    taking keyword arguments of its own is left to pluggy's call, which knows how to pass them.
    """

    def __init__(self, pm: CountedPluginManager, hook: str) -> None:
        self._pm = pm
        self._caller: pluggy.HookCaller = getattr(pm.hook, hook)
        spec = self._caller.spec
        self._argnames: tuple[str, ...] = () if spec is None else spec.argnames
        self._planned_at = -1
        self._plan: list[_Step] | None = None

    def __call__(self, *arguments: object) -> list[Any]:
        """Every non-``None`` result, last registered first (as pluggy returns them).

        ``arguments``: the hook's, in its hookspec's order. A guarded implementation is called
        bare and its outcome handed to its :class:`Guard`: the clock is read once before the
        first call and once after each, so each call is timed from the previous reading (the
        loop's few steps between two calls are counted to the next plugin).
        """
        if self._planned_at != self._pm.changes:
            self._planned_at = self._pm.changes
            self._plan = self._planned(self._caller.get_hookimpls())
        plan = self._plan
        if plan is None:
            return self._caller(**dict(zip(self._argnames, arguments, strict=True)))  # type: ignore[no-any-return]
        results: list[Any] = []
        started = monotonic_ns()
        for function, keeper, picks in plan:
            try:
                if picks is None:
                    value = function(*arguments)
                else:  # map, not a comprehension: no frame of its own
                    value = function(*map(arguments.__getitem__, picks))
            except Exception as error:
                if keeper is None:
                    raise  # not guarded: it fails the call, as in pluggy's
                results.append(keeper.raised(error))
                started = monotonic_ns()
                continue
            if keeper is not None:
                ended = monotonic_ns()
                value = keeper.answered(ended - started, value)
                started = ended
            if value is not None:
                results.append(value)
        return results

    def _planned(self, implementations: list[pluggy.HookImpl]) -> list[_Step] | None:
        """What to call, in order, with its :class:`Guard`, and which arguments it takes.

        A guarded implementation is planned bare beside its guard; one that is not guarded has
        ``None`` for a guard and is called as it is. ``None`` for the arguments: all, as given.
        """
        if any(i.kwargnames or i.wrapper or i.hookwrapper for i in implementations):
            return None
        names, plan = self._argnames, []
        for implementation in reversed(implementations):
            function = implementation.function
            keeper = getattr(function, GUARD_ATTRIBUTE, None)
            if keeper is not None:
                function = function.__wrapped__  # type: ignore[attr-defined]
            picks = implementation.argnames
            plan.append(
                (function, keeper, None if picks == names else tuple(map(names.index, picks)))
            )
        return plan
