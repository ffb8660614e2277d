"""The go-live checklist, item by item, in the order a user should fix what they show.

Each item is one function that records its result (or results) in the :class:`Checklist`. A
plugin that cannot be built stops the run there: nothing after it could be trusted. Every other
item runs even when an earlier one failed, so one golive run shows everything there is to fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from host.clock import Clock
from host.errors import ConfigError
from host.exchange.check import check_connectivity
from host.golive.checklist import Checklist, Status
from host.golive.session import fault_session
from host.golive.stamp import identity_for, write_stamp
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
    session_item(settings, checklist)
    exchange_item(settings, checklist, clock)
    stamp_item(settings, plugin_host, profile, checklist, clock)


def plugins_item(settings: Settings, checklist: Checklist) -> PluginHost | None:
    """Every enabled plugin loads, and every hook it marks is a real, synchronous hook."""
    item = "plugins load"
    try:
        plugin_host = build_plugin_host(settings)
    except ConfigError as error:
        checklist.failed(item, "a plugin cannot be used", tuple(map(str, error.problems)))
        return None
    idle = [info.name for info in plugin_host.plugins if info.enabled and not info.hooks]
    if idle:
        checklist.failed(
            item,
            "a plugin implements no hook the host calls",
            tuple(f"plugins.{name}: no @hookimpl of a scalphost hook" for name in idle),
        )
        return None
    enabled = sorted(plugin_host.instances)
    checklist.passed(item, f"{len(enabled)} enabled: {', '.join(enabled)}")
    return plugin_host


def session_item(settings: Settings, checklist: Checklist) -> None:
    """A short paper session under faults keeps the invariants (see :mod:`.session`)."""
    item = "fault-injected paper session"
    minutes = settings.golive.session_minutes
    verdict = asyncio.run(fault_session(settings, minutes))
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
    settings: Settings, plugin_host: PluginHost, profile: str, checklist: Checklist, clock: Clock
) -> None:
    """On success only: the stamp that lets ``scalphost run --mode live`` start."""
    item = "go-live stamp"
    if not checklist.all_passed:
        failures = sum(result.status is Status.FAILED for result in checklist.results)
        checklist.failed(item, f"not written: {failures} item(s) failed")
        return
    path = write_stamp(settings, identity_for(settings, plugin_host), profile, clock)
    checklist.passed(item, f"written to {path} (profile {profile})")
