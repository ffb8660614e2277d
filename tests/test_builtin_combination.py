"""The built-ins together, through the facade: order never matters, failures fail closed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import NOW, ctx, tick

from host import ClosedPosition, HookContext, PnL, Position, PositionSide, Signal, hookimpl
from host.conformance.scenarios import ExitScenario, exit_scenarios
from host.dispatch import Close, ExitDecision, MoveStop
from host.pluginmanager import BUILTIN_PLUGINS, BuiltinPlugin, PluginHost, build_plugin_host
from host.settings import Settings

EVERY_EXIT_ON = {
    "bracket": {"enabled": True},
    "circuit_breaker": {"flatten_when_open": True, "max_consecutive_losses": 1},
}


def host_of(builtins: tuple[BuiltinPlugin, ...], *extra: type) -> PluginHost:
    plugins = builtins + tuple(BuiltinPlugin(cls.__name__.lower(), cls) for cls in extra)
    return build_plugin_host(
        Settings(plugins=EVERY_EXIT_ON), builtins=plugins, discover_entry_points=False
    )


def exit_decisions(host: PluginHost, scenario: ExitScenario) -> list[ExitDecision | None]:
    """Every built-in exit along the path, decisions applied as the engine would apply them."""
    position = scenario.position
    decisions: list[ExitDecision | None] = []
    for t in scenario.ticks:
        here = HookContext(t.ts, scenario.spec, scenario.regime)
        decision = host.dispatch.on_tick_exit(t, (position,), here).get(position.pos_id)
        decisions.append(decision)
        if isinstance(decision, Close):
            break
        if isinstance(decision, MoveStop):
            position = replace(position, stop=decision.price)
    return decisions


@given(scenario=exit_scenarios(max_ticks=20), shuffled=st.permutations(BUILTIN_PLUGINS))
def test_builtin_exits_decide_the_same_whatever_the_registration_order(
    scenario: ExitScenario, shuffled: list[BuiltinPlugin]
) -> None:
    scenario = replace(scenario, position=replace(scenario.position, stop=None))
    assert exit_decisions(host_of(tuple(shuffled)), scenario) == exit_decisions(
        host_of(BUILTIN_PLUGINS), scenario
    )


class Broken:
    @hookimpl
    def on_signal(self) -> None:
        raise RuntimeError("bug")

    @hookimpl
    def on_tick_exit(self) -> None:
        raise RuntimeError("bug")


def test_a_raising_plugin_vetoes_the_entry_the_builtins_would_allow() -> None:
    signal = Signal("BTC-USDT-SWAP", PositionSide.LONG, NOW, "demo", "test")
    assert host_of(BUILTIN_PLUGINS).dispatch.on_signal(signal, ctx()).allowed
    verdict = host_of(BUILTIN_PLUGINS, Broken).dispatch.on_signal(signal, ctx())
    assert [plugin for plugin, _ in verdict.vetoes] == ["broken"]


def test_a_raising_exit_plugin_is_ignored_and_the_builtins_still_close() -> None:
    host = host_of(BUILTIN_PLUGINS, Broken)
    held = Position("p1", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(100), NOW, NOW)
    loser = ClosedPosition(held, Decimal(99), NOW, PnL(Decimal(-1), Decimal(0)), "stop")
    host.dispatch.on_position_closed(loser, ctx())  # one loss trips the breaker (limit 1)
    decision = host.dispatch.on_tick_exit(tick(), (held,), ctx())
    assert decision == {"p1": Close("circuit_breaker", decision["p1"].reason)}
    assert host.faults.counts[("broken", "on_tick_exit")] == 1
