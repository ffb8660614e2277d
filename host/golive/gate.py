"""What ``scalphost run --mode live`` asks before it trades: a passing stamp for exactly this.

Live trading starts only when ``scalphost golive`` passed for this configuration, this host and
these plugins (:mod:`.stamp`), under a profile at least as thorough as ``golive.required_profile``.
``--skip-golive`` overrides the refusal; the override is journaled in the account's journal, so
a post-mortem can tell a gated run from an ungated one.
"""

from __future__ import annotations

import logging

from host.clock import Clock, LiveClock
from host.conformance.profiles import PROFILES
from host.engine.startup import StartupRefused
from host.golive.stamp import identity_for, read_stamp, stamp_path
from host.journal import Journal, journal_path
from host.journal.records import ErrorEvent
from host.monitor.watched import GoliveInForce
from host.notify.events import golive_refused_event
from host.notify.service import Notifier, delivering
from host.pluginmanager import PluginHost
from host.settings import Settings

_log = logging.getLogger(__name__)

THOROUGHNESS = tuple(PROFILES)
"""Profiles from the least to the most thorough (dev, ci, golive)."""


def stamp_problem(settings: Settings, plugin_host: PluginHost) -> str | None:
    """Why the stamp does not allow live trading (one line), or ``None`` when it does."""
    identity = identity_for(settings, plugin_host)
    stamp = read_stamp(settings, identity)
    advice = "run `scalphost golive` with this config first (or pass --skip-golive)"
    if stamp is None or stamp.profile not in THOROUGHNESS:
        return f"no go-live stamp for this config ({stamp_path(settings, identity)}); {advice}"
    if stamp.only:
        return (
            f"the go-live stamp covers only the suites of {', '.join(stamp.only)} "
            "(golive --plugin); run `scalphost golive` without --plugin"
        )
    if stamp.identity.host != identity.host:
        return (
            f"the go-live stamp was made with another scalphost ({stamp.identity.host}); {advice}"
        )
    if stamp.identity.plugins != identity.plugins:
        changed = sorted(
            name
            for name in stamp.identity.plugins.keys() | identity.plugins.keys()
            if stamp.identity.plugins.get(name) != identity.plugins.get(name)
        )
        return f"plugins changed since the go-live stamp ({', '.join(changed)}); {advice}"
    required = settings.golive.required_profile
    if THOROUGHNESS.index(stamp.profile) < THOROUGHNESS.index(required):
        return (
            f"the go-live stamp was made with --profile {stamp.profile}; live trading needs "
            f"--profile {required} (golive.required_profile)"
        )
    return None


async def journal_skip(settings: Settings, account: str, clock: Clock, problem: str) -> None:
    """Record in the account's journal that live trading started without a passing stamp."""
    journal = await Journal.open(journal_path(settings.journal, account), clock, settings.journal)
    try:
        await journal.commit(
            ErrorEvent(clock.now(), "golive", f"live run started with --skip-golive: {problem}")
        )
    finally:
        await journal.close()


async def announce_refusal(settings: Settings, plugin_host: PluginHost, problem: str) -> None:
    """Tell the notifiers that the stamp failed, before the run stops (or starts without it)."""
    clock = LiveClock()
    notifier = Notifier(plugin_host.dispatch, settings.notify, clock, settings.mode)
    async with delivering(notifier, settings.notify.drain_seconds):
        notifier.emit(golive_refused_event, clock.now(), problem)


async def admit_live(
    settings: Settings, plugin_host: PluginHost, account: str, *, skip_golive: bool
) -> GoliveInForce:
    """Let live trading start only with a passing stamp, or with ``skip_golive`` (journaled).

    Returns the stamp in force (the status page shows it). Raises
    :class:`~host.engine.startup.StartupRefused` naming what the stamp lacks.
    """
    problem = stamp_problem(settings, plugin_host)
    if problem is None:
        identity = identity_for(settings, plugin_host)
        stamp = read_stamp(settings, identity)
        return GoliveInForce(
            "passed",
            str(stamp_path(settings, identity)),
            None if stamp is None else stamp.profile,
            None if stamp is None else stamp.passed_at,
        )
    await announce_refusal(settings, plugin_host, problem)
    if not skip_golive:
        raise StartupRefused(problem)
    _log.warning("trading live without a go-live stamp (--skip-golive): %s", problem)
    await journal_skip(settings, account, LiveClock(), problem)
    return GoliveInForce("skipped", f"--skip-golive: {problem}")
