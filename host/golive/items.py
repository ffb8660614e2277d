"""The go-live checklist, item by item, in the order a user should fix what they show.

Each item is one function that records its result (or results) in the :class:`Checklist`. A
plugin that cannot be built stops the run there: nothing after it could be trusted. Every other
item runs even when an earlier one failed, so one golive run shows everything there is to fix.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import timedelta

from host.clock import Clock
from host.conformance.configured import suites_by_plugin
from host.conformance.regimes import RegimeDetectorSuite
from host.conformance.runner import (
    PropertyOutcome,
    SuiteReport,
    UnknownPluginError,
    run_configured_suites,
)
from host.errors import ConfigError
from host.exchange.check import check_connectivity
from host.golive.checklist import Checklist, Status
from host.golive.session import fault_session
from host.golive.stamp import identity_for, write_stamp
from host.hookspecs import HOOK_BUDGETS
from host.pluginmanager import PluginHost, build_plugin_host
from host.settings import Settings


def run_checklist(
    settings: Settings,
    profile: str,
    only: Sequence[str],
    checklist: Checklist,
    clock: Clock,
) -> None:
    """Run every item for ``settings`` under ``profile`` (``only``: these plugins' suites)."""
    plugin_host = plugins_item(settings, checklist)
    if plugin_host is None:
        return
    report = suites_item(settings, profile, only, checklist)
    coverage_item(report, checklist)
    bar_history_item(settings, checklist)
    call_time_item(report, checklist)
    session_item(settings, checklist)
    exchange_item(settings, checklist, clock)
    stamp_item(settings, plugin_host, profile, only, checklist, clock)


def plugins_item(settings: Settings, checklist: Checklist) -> PluginHost | None:
    """Every enabled plugin loads and implements real, synchronous hooks the host calls.

    These are exactly the refusals of ``scalphost run``.
    """
    item = "plugins load"
    try:
        plugin_host = build_plugin_host(settings)
    except ConfigError as error:
        checklist.failed(item, "a plugin cannot be used", tuple(map(str, error.problems)))
        return None
    enabled = sorted(plugin_host.instances)
    checklist.passed(item, f"{len(enabled)} enabled: {', '.join(enabled)}")
    return plugin_host


def suites_item(
    settings: Settings, profile: str, only: Sequence[str], checklist: Checklist
) -> SuiteReport:
    """The conformance suites of the enabled plugins, with this config's settings: a line each.

    Raises :class:`ConfigError` for an ``only`` name the config does not enable.
    """

    def report(outcome: PropertyOutcome) -> None:
        item = f"{outcome.plugin}: {_plain(outcome.rule).rstrip('.')}"
        examples = f"{outcome.examples} examples ({outcome.suite}.{outcome.prop})"
        if outcome.passed:
            checklist.passed(item, examples)
        else:
            evidence = tuple((outcome.failure or "").splitlines())
            checklist.failed(item, f"broken in {examples}", evidence)

    try:
        return run_configured_suites(settings, profile, only or None, report)
    except UnknownPluginError as error:
        raise ConfigError.single("--plugin", str(error)) from None


def coverage_item(report: SuiteReport, checklist: Checklist) -> None:
    """A plugin must answer in the suites' examples: a pass without answers proves nothing."""
    for coverage in report.coverage:
        item = f"{coverage.plugin}: coverage"
        if not coverage.suites:
            checklist.skipped(item, "no conformance suite covers its hooks")
            continue
        figures = f"answered in {coverage.answered} of {coverage.examples} examples"
        if coverage.answered == 0:
            checklist.failed(
                item,
                figures + ": it never answered, so its passes prove nothing",
                (
                    "make the scenarios reach its warm-up (suite warmup_ticks or a settings "
                    "field named window / period / lookback / warmup) or check its conditions",
                ),
            )
        else:
            checklist.passed(item, f"{figures} ({coverage.share:.0%})")


def bar_history_item(settings: Settings, checklist: Checklist) -> None:
    """A regime detector needs no more bars than the host keeps (``engine.bar_history``).

    The suites hand a detector as many bars as its window asks for; a live host keeps only
    ``engine.bar_history`` bars per instrument, so a longer window would pass the suites and
    never answer in a run.
    """
    kept = settings.engine.bar_history
    for name, suites in suites_by_plugin(settings).items():
        for suite in suites:
            if not issubclass(suite, RegimeDetectorSuite):
                continue
            needed = suite().history(suite.configured_settings)
            item = f"{name}: bar history"
            figures = f"needs {needed} bars; the host keeps {kept} (engine.bar_history)"
            if needed > kept:
                checklist.failed(item, figures + ": it would never answer in a run")
            else:
                checklist.passed(item, figures)


def call_time_item(report: SuiteReport, checklist: Checklist) -> None:
    """Each plugin's call time per hook during the suites, against the hook's budget.

    Judged on the fastest tenth of the calls (p10): golive runs on whatever machine the user
    has, where load, garbage collection and other processes inflate the median and the tail of
    every plugin alike, while a plugin that is too slow is slow on nearly every call. The
    median, p99 and max are shown beside it.
    """
    for timing in report.call_times:
        budget = HOOK_BUDGETS.get(timing.hook)
        if budget is None:
            continue
        item = f"{timing.plugin}: {timing.hook} time"
        figures = (
            f"p10 {_us(timing.p10)} (budget {_us(budget)}), median {_us(timing.p50)}, "
            f"p99 {_us(timing.p99)}, max {_us(timing.max)} over {timing.count} calls"
        )
        if timing.p10 > budget:
            checklist.failed(item, "over budget: " + figures)
        else:
            checklist.passed(item, figures)


def _plain(docstring_text: str) -> str:
    """A property's rule as a user reads it: reStructuredText roles and literals unwrapped."""
    return re.sub(r"(?::\w+:)?`+([^`]+)`+", r"\1", docstring_text)


def _us(duration: timedelta) -> str:
    return f"{duration / timedelta(microseconds=1):,.1f} µs"


def session_item(settings: Settings, checklist: Checklist) -> None:
    """A short paper session under faults keeps the invariants (see :mod:`.session`)."""
    item = "fault-injected paper session"
    minutes = settings.golive.session_minutes
    verdict = fault_session(settings, minutes)
    figures = (
        f"{minutes:g} simulated min, restart halfway: {verdict.fills} fills, "
        f"{verdict.closes} closes, {verdict.adopted} outside positions adopted"
    )
    if verdict.skipped_instruments:
        figures += f" (not simulated: {', '.join(verdict.skipped_instruments)})"
    if verdict.passed:
        checklist.passed(item, figures + "; every invariant held")
    else:
        checklist.failed(item, figures, verdict.broken)


def exchange_item(settings: Settings, checklist: Checklist, clock: Clock) -> None:
    """With credentials: the read-only exchange check of ``scalphost check``."""
    item = "exchange check"
    exchange, credentials = settings.exchange, settings.credentials
    if None in (credentials.api_key, credentials.secret_key, credentials.passphrase):
        checklist.skipped(item, "no credentials configured, so the exchange was not checked")
        return
    if not exchange.rest_url or not exchange.ws_url:
        checklist.skipped(item, "no exchange URLs configured, so the exchange was not checked")
        return
    lines = asyncio.run(
        check_connectivity(
            exchange, credentials, clock, rest_url=exchange.rest_url, ws_url=exchange.ws_url
        )
    )
    failed = tuple(str(line) for line in lines if not line.ok)
    if failed:
        checklist.failed(item, f"{len(failed)} of {len(lines)} checks failed", failed)
    else:
        checklist.passed(item, f"{len(lines)} read-only checks passed at {exchange.rest_url}")


def stamp_item(
    settings: Settings,
    plugin_host: PluginHost,
    profile: str,
    only: Sequence[str],
    checklist: Checklist,
    clock: Clock,
) -> None:
    """On success only: the stamp that lets ``scalphost run --mode live`` start.

    After ``--plugin`` runs (some plugins' suites only) the stamp says so, and live trading
    refuses it: the quick loop of a plugin author must not stand in for the whole check.
    """
    item = "go-live stamp"
    if not checklist.all_passed:
        failures = sum(result.status is Status.FAILED for result in checklist.results)
        checklist.failed(item, f"not written: {failures} item(s) failed")
        return
    identity = identity_for(settings, plugin_host)
    path = write_stamp(settings, identity, profile, clock, only)
    scope = (
        f"; only {', '.join(only)}'s suites ran, so live trading will not take it" if only else ""
    )
    checklist.passed(item, f"written to {path} (profile {profile}{scope})")
