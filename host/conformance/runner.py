"""Running the conformance suites of a configuration without pytest, for ``scalphost golive``.

:func:`run_configured_suites` builds the suites of every plugin a configuration enables, with the
configuration's own settings (:func:`~host.conformance.configured.suites_by_plugin`), loads the
chosen hypothesis profile and calls every property's hypothesis-wrapped method directly. A
property that fails is caught and reported, not raised: its :class:`PropertyOutcome` holds the
plain-words message the suite wrote *and* hypothesis' shrunk counter-example (which hypothesis
attaches to the exception as ``__notes__``). The :class:`SuiteReport` adds, per plugin, how many
examples ran and in how many it answered (a pass in which the plugin never answered proves
nothing), and per (plugin, hook) how long its calls took, for comparing with the hook's budget.

Pytest's assertion rewriting is not active here, which is why every assertion in the shipped
suites carries its own message.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import settings as hypothesis_settings

from host.conformance.configured import suites_by_plugin
from host.conformance.coverage import CallTimes, SuiteRecord
from host.conformance.profiles import PROFILES, UnknownProfileError, profile_without_database
from host.conformance.suite import ConformanceSuite
from host.settings import Settings

PROPERTY_PREFIX = "test_"

_BOUND_SETTINGS = "_hypothesis_internal_use_settings"
"""Where hypothesis keeps the settings a ``@given`` test was decorated under."""


@dataclass(frozen=True, slots=True)
class PropertyOutcome:
    """One property of one suite, run against one plugin."""

    plugin: str
    suite: str
    prop: str
    rule: str
    """The property in plain words (the first line of its docstring)."""
    passed: bool
    failure: str | None
    """Why it failed: the suite's message, then hypothesis' counter-example; ``None`` if passed."""
    examples: int
    answered: int
    """Examples in which the plugin gave an answer (not ``None``) from an answering hook."""


@dataclass(frozen=True, slots=True)
class PluginCoverage:
    """How much of a plugin the suites exercised."""

    plugin: str
    suites: tuple[str, ...]
    """The suites that cover its hooks; empty: no suite does (nothing about it was proven)."""
    examples: int
    answered: int

    @property
    def share(self) -> float:
        """The share of examples in which the plugin answered (0 when none ran)."""
        return self.answered / self.examples if self.examples else 0.0


@dataclass(frozen=True, slots=True)
class CallTime:
    """How long one plugin's calls of one hook took during the suites."""

    plugin: str
    hook: str
    count: int
    p10: timedelta
    """A typical unhindered call: load, garbage collection and other processes only slow the
    rest, while a plugin that is too slow is slow on nearly every call."""
    p50: timedelta
    p99: timedelta
    max: timedelta


@dataclass(frozen=True, slots=True)
class SuiteReport:
    """Everything a suite run found, for the go-live checklist to judge."""

    profile: str
    outcomes: tuple[PropertyOutcome, ...]
    coverage: tuple[PluginCoverage, ...]
    call_times: tuple[CallTime, ...]

    @property
    def failures(self) -> tuple[PropertyOutcome, ...]:
        """The properties that failed."""
        return tuple(outcome for outcome in self.outcomes if not outcome.passed)

    @property
    def uncovered(self) -> tuple[str, ...]:
        """Enabled plugins whose hooks no suite covers."""
        return tuple(c.plugin for c in self.coverage if not c.suites)


class UnknownPluginError(ValueError):
    """A plugin asked for by name that the configuration does not enable."""


def run_configured_suites(
    settings: Settings,
    profile: str,
    plugins: Sequence[str] | None = None,
    progress: Callable[[PropertyOutcome], None] | None = None,
) -> SuiteReport:
    """Run every suite of the plugins ``settings`` enables (or only ``plugins``) under ``profile``.

    ``progress`` is called after each property. Raises :class:`UnknownProfileError` for a
    profile that does not exist and :class:`UnknownPluginError` for a plugin name that is not
    enabled; a bad configuration raises the host's ``ConfigError`` while the plugins are built.
    """
    if profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise UnknownProfileError(f"unknown hypothesis profile {profile!r}; choose one of {known}")
    by_plugin = suites_by_plugin(settings)
    if plugins is not None:
        missing = [name for name in plugins if name not in by_plugin]
        if missing:
            raise UnknownPluginError(
                f"not enabled in this configuration: {', '.join(missing)}; "
                f"enabled: {', '.join(sorted(by_plugin))}"
            )
        by_plugin = {name: by_plugin[name] for name in plugins}
    with profile_without_database(profile):
        return run_suites(by_plugin, profile, progress)


def run_suites(
    by_plugin: Mapping[str, Sequence[type]],
    profile: str,
    progress: Callable[[PropertyOutcome], None] | None = None,
) -> SuiteReport:
    """Run the given suite classes (per plugin name) under the profile already loaded."""
    outcomes: list[PropertyOutcome] = []
    coverage: list[PluginCoverage] = []
    call_times: list[CallTime] = []
    for plugin, suites in by_plugin.items():
        for suite in suites:
            outcomes.extend(run_suite(plugin, suite, progress))
        coverage.append(_coverage(plugin, suites))
        call_times.extend(_call_times(plugin, suites))
    return SuiteReport(profile, tuple(outcomes), tuple(coverage), tuple(call_times))


def run_suite(
    plugin: str, suite: type, progress: Callable[[PropertyOutcome], None] | None = None
) -> tuple[PropertyOutcome, ...]:
    """Run every property of one suite class; a failure is caught and explained.

    ``progress`` hears each property as soon as it ends (a golive property may take minutes).
    """
    outcomes = []
    for name in sorted(n for n in dir(suite) if n.startswith(PROPERTY_PREFIX)):
        test = getattr(suite(), name)
        try:
            with profile_in_force(getattr(suite, name)):
                test()
        except Exception as error:  # a failing property, whatever the plugin raised
            failure: str | None = explain(error)
        else:
            failure = None
        tally = _record(suite).tally(name)
        outcomes.append(
            PropertyOutcome(
                plugin=plugin,
                suite=_suite_name(suite),
                prop=name,
                rule=_rule(test),
                passed=failure is None,
                failure=failure,
                examples=tally.examples,
                answered=tally.answered,
            )
        )
        if progress is not None:
            progress(outcomes[-1])
    return tuple(outcomes)


@contextmanager
def profile_in_force(test: Callable[..., object]) -> Iterator[None]:
    """Run the ``@given`` property ``test`` under the profile loaded now, then undo it.

    Hypothesis binds a property to the profile in force when ``@given`` decorated it: for the
    shipped suites, when their module was imported, which is before ``scalphost golive`` (or a
    sweep's golive task) chose its profile. Loading a profile afterwards changes nothing for
    them, so ``--profile golive`` ran the 50 examples of ``dev`` until this was found. Hypothesis
    offers no public way to re-point a decorated test, so the settings it reads are replaced for
    the run and restored afterwards (a later pytest run in the same process keeps its own).
    """
    bound = getattr(test, _BOUND_SETTINGS)
    setattr(test, _BOUND_SETTINGS, hypothesis_settings.default)
    try:
        yield
    finally:
        setattr(test, _BOUND_SETTINGS, bound)


def explain(error: BaseException) -> str:
    """The failure in words: the message, where a plugin raised, and hypothesis' notes."""
    if isinstance(error, BaseExceptionGroup):
        parts = [explain(inner) for inner in error.exceptions]
        return "\n\n".join([*parts, *getattr(error, "__notes__", [])])
    if isinstance(error, AssertionError):
        lines = [str(error) or "assertion failed (no message)"]
    else:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        lines = [
            f"{type(error).__name__}: {error}",
            f"raised at {frame.filename}:{frame.lineno} in {frame.name}",
        ]
    return "\n".join([*lines, *getattr(error, "__notes__", [])])


def _record(suite: type) -> SuiteRecord:
    if not issubclass(suite, ConformanceSuite):
        raise TypeError(f"{suite.__name__} is not a conformance suite")
    return suite.coverage


def _rule(test: Callable[..., object]) -> str:
    doc = inspect.getdoc(test) or ""
    return doc.splitlines()[0] if doc else test.__name__


def _suite_name(suite: type) -> str:
    """The shipped suite a generated class runs (``ExitPluginSuite``), not the class's title."""
    shipped = (
        base.__name__
        for base in suite.__mro__
        if base.__module__.startswith("host.conformance.") and base.__name__.endswith("Suite")
    )
    return next(shipped, suite.__name__)


def _coverage(plugin: str, suites: Sequence[type]) -> PluginCoverage:
    records = [_record(suite) for suite in suites]
    return PluginCoverage(
        plugin=plugin,
        suites=tuple(_suite_name(suite) for suite in suites),
        examples=sum(record.examples for record in records),
        answered=sum(record.answered for record in records),
    )


def _call_times(plugin: str, suites: Sequence[type]) -> list[CallTime]:
    merged: dict[str, list[CallTimes]] = {}
    for suite in suites:
        for (_, hook), times in _record(suite).call_times.items():
            merged.setdefault(hook, []).append(times)
    return [_combined(plugin, hook, parts) for hook, parts in sorted(merged.items())]


def _combined(plugin: str, hook: str, parts: list[CallTimes]) -> CallTime:
    total = CallTimes.merged(parts)
    return CallTime(
        plugin,
        hook,
        total.count,
        total.percentile(0.1),
        total.percentile(0.5),
        total.percentile(0.99),
        total.maximum,
    )
