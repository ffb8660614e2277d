"""Plugin health during a run: a plugin that keeps raising is switched off, a slow one is warned.

Unit tests go through the production builder (:func:`plugin_factory.make_host`); the end-to-end
ones run the real engine against the simulator (:mod:`engine_harness`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from engine_harness import BuyOnce, CloseAfterTen, Session, journal_rows, run_session
from plugin_factory import ESSENTIAL_PLUGINS, NOW, ctx

from host import Fill, Position, Side, Tick, hookimpl
from host import plugin_guard as plugin_guard_module
from host.engine.stats import SessionStats
from host.plugin_guard import SLOW_STREAK
from host.pluginmanager import BuiltinPlugin, PluginHost, build_plugin_host
from host.settings import HookSettings, Settings


def a_fill(trade_id: str = "t1") -> Fill:
    return Fill(
        "BTC-USDT-SWAP", trade_id, "o1", "c1", Side.BUY, Decimal(100), Decimal(1), Decimal(0), NOW
    )


def host_with(*plugins: type, failure_limit: int = 3, essential: Sequence[type] = ()) -> PluginHost:
    extra = tuple(BuiltinPlugin(cls.__name__.lower(), cls) for cls in plugins)
    extra += tuple(BuiltinPlugin(cls.__name__.lower(), cls, essential=True) for cls in essential)
    return build_plugin_host(
        Settings(hooks=HookSettings(plugin_failure_limit=failure_limit)),
        builtins=ESSENTIAL_PLUGINS + extra,
        discover_entry_points=False,
    )


class AlwaysRaises:
    """Raises on every fill it hears of."""

    calls: ClassVar[int] = 0

    def __init__(self) -> None:
        AlwaysRaises.calls = 0

    @hookimpl
    def on_fill(self) -> None:
        AlwaysRaises.calls += 1
        raise RuntimeError("boom")


class Listener:
    """Notes every fill; must keep hearing them whatever the other plugins do."""

    heard: ClassVar[list[str]] = []

    def __init__(self) -> None:
        Listener.heard = []

    @hookimpl
    def on_fill(self, fill: Fill) -> None:
        Listener.heard.append(fill.trade_id)


def fills(host: PluginHost, count: int) -> None:
    for n in range(count):
        host.dispatch.on_fill(a_fill(f"t{n}"), None, ctx())


# --- switched off after consecutive failures ----------------------------------------------------


def test_a_plugin_failing_the_limit_in_a_row_is_switched_off_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = host_with(AlwaysRaises, Listener, failure_limit=3)
    with caplog.at_level(logging.DEBUG, logger="host.plugin_guard"):
        fills(host, 6)
    assert AlwaysRaises.calls == 3  # unregistered after the third failure: never asked again
    assert Listener.heard == [f"t{n}" for n in range(6)]
    assert host.pm.is_blocked("alwaysraises")
    assert host.faults.counts[("alwaysraises", "on_fill")] == 3
    reason = host.faults.switched_off["alwaysraises"]
    assert reason.startswith("switched off for the session after 3 failures in a row in on_fill")
    switched = [r for r in caplog.records if "switched off" in r.getMessage()]
    assert len(switched) == 1
    assert switched[0].levelno == logging.ERROR
    # The first failure's traceback is logged; the repeats are counted, not shouted.
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert len(errors) == 1


def test_a_success_resets_the_count_of_failures_in_a_row() -> None:
    class Flaky:
        """Fails twice, answers once, over and over: never three failures in a row."""

        calls = 0

        @hookimpl
        def on_fill(self) -> None:
            Flaky.calls += 1
            if Flaky.calls % 3:
                raise RuntimeError("flaky")

    host = host_with(Flaky, failure_limit=3)
    fills(host, 12)
    assert Flaky.calls == 12
    assert host.faults.counts[("flaky", "on_fill")] == 8
    assert host.faults.switched_off == {}


def test_an_essential_plugin_is_never_switched_off() -> None:
    host = host_with(essential=[AlwaysRaises], failure_limit=2)
    fills(host, 5)
    assert AlwaysRaises.calls == 5
    assert host.faults.switched_off == {}
    assert not host.pm.is_blocked("alwaysraises")


def test_the_failure_limit_is_validated() -> None:
    with pytest.raises(ValueError, match="plugin_failure_limit"):
        HookSettings(plugin_failure_limit=0)


# --- over budget --------------------------------------------------------------------------------


class Sleepy:
    """Takes 2 ms per fill: over on_fill's 100 µs budget on every call, on any machine."""

    @hookimpl
    def on_fill(self) -> None:
        time.sleep(0.002)


def test_a_plugin_over_its_hooks_budget_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = host_with(Sleepy)
    with caplog.at_level(logging.WARNING, logger="host.plugin_guard"):
        fills(host, 3 * SLOW_STREAK)
    warnings = [r.getMessage() for r in caplog.records if "over budget" in r.getMessage()]
    assert len(warnings) == 1
    assert "'sleepy'" in warnings[0]
    assert "'on_fill'" in warnings[0]
    assert "(budget 100 µs)" in warnings[0]
    [slow] = host.faults.slow
    assert (slow.plugin, slow.hook, slow.budget_ns) == ("sleepy", "on_fill", 100_000)


@pytest.fixture
def scripted_durations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the guard's clock say each call took the next of the listed nanoseconds."""
    durations: list[int] = []
    readings: list[int] = []
    now = 0

    def fake_monotonic_ns() -> int:
        nonlocal now
        if not readings:  # a call starts: its end reading is the scripted duration later
            readings.append(now + durations.pop(0))
            return now
        now = readings.pop()
        return now

    monkeypatch.setattr(plugin_guard_module, "monotonic_ns", fake_monotonic_ns)
    return durations


def test_slow_calls_interrupted_by_a_quick_one_are_not_warned_about(
    scripted_durations: list[int],
) -> None:
    host = host_with(Listener)
    slow_run = [5_000_000] * (SLOW_STREAK - 1)
    scripted_durations.extend([*slow_run, 1_000, *slow_run, 1_000, *slow_run])
    fills(host, len(scripted_durations))
    assert host.faults.slow == []


def test_the_warning_gives_the_fastest_of_the_slow_calls(
    scripted_durations: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    host = host_with(Listener)
    scripted_durations.extend([7_000_000, 3_000_000] + [9_000_000] * (SLOW_STREAK + 2))
    with caplog.at_level(logging.WARNING, logger="host.plugin_guard"):
        fills(host, len(scripted_durations))
    [slow] = host.faults.slow
    assert slow.took_ns == 3_000_000
    [warning] = [r.getMessage() for r in caplog.records]
    assert "took at least 3.0 ms (budget 100 µs)" in warning


# --- end to end: the real engine against the simulator ------------------------------------------


class RaisesEveryTick:
    """A signal plugin with a bug that fires on every tick."""

    calls: ClassVar[int] = 0

    def __init__(self) -> None:
        RaisesEveryTick.calls = 0

    @hookimpl
    def generate_signals(self, tick: Tick) -> None:
        RaisesEveryTick.calls += 1
        raise ZeroDivisionError(f"tick at {tick.ts}")


async def test_a_plugin_raising_on_every_tick_is_switched_off_journaled_and_summarised(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        await session.until(lambda: session.engine.stats.ticks >= 12, 60)

    engine = await run_session(
        tmp_path, script, RaisesEveryTick, hooks=HookSettings(plugin_failure_limit=5)
    )
    assert engine.stats.ticks >= 12
    assert RaisesEveryTick.calls == 5
    summary = engine.stats.render()
    assert (
        "plugin raiseseverytick: 5 errors, switched off for the session after 5 failures in a "
        "row in generate_signals (last: ZeroDivisionError: tick at " in summary
    )
    rows = journal_rows(tmp_path, "SELECT source, message FROM errors WHERE source LIKE 'plugin%'")
    assert [(source, message.split(" (last")[0]) for source, message in rows] == [
        (
            "plugin:raiseseverytick",
            "switched off for the session after 5 failures in a row in generate_signals",
        )
    ]


class BrokenExit:
    """An exit plugin whose every answer raises."""

    calls: ClassVar[int] = 0

    def __init__(self) -> None:
        BrokenExit.calls = 0

    @hookimpl
    def on_tick_exit(self, positions: Sequence[Position]) -> None:
        BrokenExit.calls += 1
        raise KeyError(positions[0].pos_id)


async def test_exits_fall_back_to_the_others_and_the_exchange_stop_after_a_switch_off(
    tmp_path: Path,
) -> None:
    protected: list[bool] = []

    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await session.until(lambda: "brokenexit" in engine.stats.faults.switched_off, 10)
        (position,) = engine.registry.positions()
        protected.append(position.pos_id in engine.protection.protected())
        await session.until(lambda: not engine.registry.positions(), 30)

    engine = await run_session(
        tmp_path,
        script,
        BuyOnce,
        BrokenExit,
        CloseAfterTen,
        hooks=HookSettings(plugin_failure_limit=3),
    )
    assert BrokenExit.calls == 3
    assert protected == [True]  # still backed by its exchange-side stop once the plugin was off
    (trade,) = engine.stats.trades
    assert trade.closed.reason == "closeafterten: held ten seconds"
    assert "plugin brokenexit: 3 errors, switched off" in engine.stats.render()


def test_plugins_that_behave_are_one_line_of_the_summary() -> None:
    host = host_with(Listener)
    fills(host, 3)
    summary = SessionStats(faults=host.faults).render()
    assert [line.strip() for line in summary.splitlines() if "plugin" in line] == [
        "plugin errors: none"
    ]
