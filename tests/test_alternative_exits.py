"""The time stop and the bracket: the exit conformance suite, and what each promises."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import NOW, ctx, tick

from host import CloseNow, HookContext, Position, PositionOrigin, PositionSide, Regime, StopAt
from host.conformance.exits import ExitPluginSuite, run_exit
from host.conformance.scenarios import ExitScenario, exit_scenarios
from plugins.bracket import Bracket
from plugins.per_regime import PerRegime
from plugins.time_stop import TimeStop

seconds = st.floats(min_value=1, max_value=3600, allow_nan=False)
time_stop_settings = st.builds(
    TimeStop.Settings,
    max_hold_seconds=st.builds(PerRegime[float], trending=seconds, ranging=seconds, choppy=seconds),
)
fractions = st.decimals(min_value=Decimal("0.0005"), max_value=Decimal("0.05"), places=4)
bracket_settings = st.builds(Bracket.Settings, take_profit=fractions, stop_loss=fractions)


class TestTimeStopConforms(ExitPluginSuite):
    plugin_class = TimeStop
    settings = time_stop_settings


class TestBracketConforms(ExitPluginSuite):
    plugin_class = Bracket
    settings = bracket_settings


@given(settings=time_stop_settings, scenario=exit_scenarios())
def test_time_stop_closes_exactly_when_the_regime_limit_has_passed_since_the_exchange_entry(
    settings: TimeStop.Settings, scenario: ExitScenario
) -> None:
    limit = timedelta(seconds=settings.max_hold_seconds.of(scenario.regime))
    for step in run_exit(TimeStop(settings), scenario):
        held = step.tick.ts - scenario.position.entry_time
        assert isinstance(step.proposal, CloseNow) == (held >= limit)


def held_since(minutes: int, origin: PositionOrigin = PositionOrigin.OWN) -> Position:
    entered = NOW - timedelta(minutes=minutes)
    return Position(
        "p1", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(100), entered, NOW, origin
    )


def test_time_stop_uses_the_current_regime_and_the_exchange_entry_time() -> None:
    stop = TimeStop(TimeStop.Settings())  # 30 / 15 / 10 minutes
    adopted = held_since(12, PositionOrigin.ADOPTED)
    assert stop.on_tick_exit((adopted,), ctx(Regime.RANGING)) is None
    assert isinstance(stop.on_tick_exit((adopted,), ctx(Regime.CHOPPY))["p1"], CloseNow)


@given(settings=bracket_settings, scenario=exit_scenarios())
def test_bracket_closes_exactly_at_either_side(
    settings: Bracket.Settings, scenario: ExitScenario
) -> None:
    position = scenario.position
    sign, entry = position.side.sign, position.entry_price
    stop = scenario.spec.protective_stop(position.side, entry - sign * settings.stop_loss * entry)
    for step in run_exit(Bracket(settings), scenario):
        price = step.tick.bid if sign > 0 else step.tick.ask
        won = sign * (price - entry) >= settings.take_profit * entry
        lost = sign * (price - stop) <= 0
        assert isinstance(step.proposal, CloseNow) == (won or lost)


def test_bracket_example() -> None:
    bracket = Bracket(Bracket.Settings())  # +0.4 % / -0.3 % of 100
    held = held_since(1)
    here = HookContext(NOW, ctx().instrument, Regime.RANGING)
    assert bracket.on_tick_exit(tick("100.2", "100.3"), (held,), here) == {
        "p1": StopAt(Decimal("99.7"), "stop loss 0.3% from 100")
    }
    assert isinstance(bracket.on_tick_exit(tick("100.4", "100.5"), (held,), here)["p1"], CloseNow)
    assert isinstance(bracket.on_tick_exit(tick("99.7", "99.8"), (held,), here)["p1"], CloseNow)
