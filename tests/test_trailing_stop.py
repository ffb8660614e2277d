"""The trailing stop: the exit conformance suite, plus the properties only a TSL must have."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import NOW, ctx

from host import (
    CloseNow,
    Drift,
    DriftKind,
    Position,
    PositionOrigin,
    PositionSide,
    Regime,
    StopAt,
    Tick,
)
from host.conformance.exits import ExitPluginSuite, run_exit
from host.conformance.scenarios import ExitScenario, exit_scenarios
from plugins.per_regime import PerRegime
from plugins.trailing_stop import TrailingStop, TrailParams

fractions = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.02"), places=4)


@st.composite
def trail_params(draw: st.DrawFn) -> TrailParams:
    breakeven = draw(fractions)
    return TrailParams(
        activation_offset=draw(fractions),
        trail_distance=draw(fractions),
        breakeven_trigger=breakeven,
        min_locked_profit=draw(
            st.decimals(min_value=0, max_value=breakeven, places=5).filter(lambda x: x < breakeven)
        ),
    )


tsl_settings = st.builds(
    TrailingStop.Settings,
    by_regime=st.builds(
        PerRegime[TrailParams],
        trending=trail_params(),
        ranging=trail_params(),
        choppy=trail_params(),
    ),
)


class TestTrailingStopConforms(ExitPluginSuite):
    plugin_class = TrailingStop
    settings = tsl_settings


def expected_levels(
    settings: TrailingStop.Settings, scenario: ExitScenario
) -> list[Decimal | None]:
    """An independent statement of the rule: the tightest candidate reached so far, per tick."""
    position, spec = scenario.position, scenario.spec
    params = settings.by_regime.of(scenario.regime)
    sign, entry = position.side.sign, position.entry_price
    adopted = position.origin is PositionOrigin.ADOPTED
    prices = [t.bid if sign > 0 else t.ask for t in scenario.ticks]
    levels: list[Decimal | None] = []
    seen: list[Decimal] = [] if scenario.mark is None else [scenario.mark]
    reached: list[Decimal] = []
    for price in prices:
        seen.append(price)
        best = max(seen) if sign > 0 else min(seen)
        excursion = sign * (best - entry)
        if adopted or excursion >= params.activation_offset * entry:
            reached.append(best - sign * params.trail_distance * entry)
        if excursion >= params.breakeven_trigger * entry:
            reached.append(entry + sign * params.min_locked_profit * entry)
        usable = [spec.protective_stop(position.side, r) for r in reached if r >= spec.tick_sz]
        levels.append((max if sign > 0 else min)(usable) if usable else None)
    return levels


@given(settings=tsl_settings, scenario=exit_scenarios())
def test_tsl_fires_exactly_when_the_price_reaches_the_stop_never_before_activation(
    settings: TrailingStop.Settings, scenario: ExitScenario
) -> None:
    steps = run_exit(TrailingStop(settings), scenario)
    levels = expected_levels(settings, scenario)
    sign = scenario.position.side.sign
    for step, level in zip(steps, levels, strict=False):
        price = step.tick.bid if sign > 0 else step.tick.ask
        crossed = level is not None and sign * (price - level) <= 0
        assert isinstance(step.proposal, CloseNow) == crossed, (step, level)
        if level is None:
            assert step.proposal is None, "answered before activation"
        elif not crossed:
            stop = step.stop_before
            tighter = stop is None or sign * (level - stop) > 0
            assert step.proposal == (StopAt(level, step.proposal.reason) if tighter else None)


@given(settings=tsl_settings, scenario=exit_scenarios())
def test_tsl_gives_an_adopted_position_a_stop_on_the_first_decision(
    settings: TrailingStop.Settings, scenario: ExitScenario
) -> None:
    adopted = replace(
        scenario, position=replace(scenario.position, origin=PositionOrigin.ADOPTED, stop=None)
    )
    adopted = replace(adopted, mark=adopted.mark or adopted.ticks[0].last)
    first = run_exit(TrailingStop(settings), adopted)[0]
    assert isinstance(first.proposal, StopAt | CloseNow)


def long_position(origin: PositionOrigin = PositionOrigin.OWN) -> Position:
    return Position(
        "p1", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(100), NOW, NOW, origin
    )


def at(bid: str, ask: str | None = None) -> Tick:
    return Tick(
        "BTC-USDT-SWAP", NOW, Decimal(bid), Decimal(bid), Decimal(ask or bid) + Decimal("0.1")
    )


def test_tsl_example_activates_trails_locks_profit_and_closes() -> None:
    settings = (
        TrailingStop.Settings()
    )  # ranging: activate 0.2 %, trail 0.12 %, lock 0.04 % at 0.15 %
    tsl = TrailingStop(settings)
    held = long_position()
    tsl.on_fill(held, ctx(Regime.RANGING))
    assert tsl.on_tick_exit(at("100.1"), (held,), ctx()) is None  # not active yet
    assert tsl.on_tick_exit(at("100.2"), (held,), ctx()) == {
        "p1": StopAt(
            Decimal("100.1"), "trailing from best 100.2"
        )  # 100.2 - 0.12 → 100.08 → tick up
    }
    held = replace(held, stop=Decimal("100.1"))
    assert tsl.on_tick_exit(at("100.5"), (held,), ctx())["p1"].price == Decimal("100.4")
    held = replace(held, stop=Decimal("100.4"))
    assert tsl.on_tick_exit(at("100.45"), (held,), ctx()) is None  # never loosens
    assert isinstance(tsl.on_tick_exit(at("100.4"), (held,), ctx())["p1"], CloseNow)


def test_tsl_uses_the_settings_of_the_regime_the_position_was_armed_in() -> None:
    tsl = TrailingStop(TrailingStop.Settings())
    held = long_position()
    tsl.on_fill(held, ctx(Regime.TRENDING))  # trending: break-even at 0.2 %, trail at 0.3 %
    assert tsl.on_tick_exit(at("100.15"), (held,), ctx(Regime.CHOPPY)) is None


def test_tsl_arms_an_adopted_position_from_the_mark_with_the_exchange_entry() -> None:
    tsl = TrailingStop(TrailingStop.Settings())
    found = long_position()
    drift = Drift(DriftKind.ADD, "p1", "BTC-USDT-SWAP", found, None, Decimal(103))
    assert tsl.on_position_drift(drift, ctx(Regime.TRENDING)) is None  # drift_guard decides
    # trending: 0.2 % of the entry (100) behind the best price so far, the mark 103
    assert tsl.on_tick_exit(at("102.9"), (found,), ctx()) == {
        "p1": StopAt(Decimal("102.8"), "trailing from best 103")
    }


def test_tsl_forgets_a_position_gone_from_its_instrument_so_a_reopened_one_starts_afresh() -> None:
    tsl = TrailingStop(TrailingStop.Settings())
    held = long_position()
    assert tsl.on_tick_exit(at("100.5"), (held,), ctx())["p1"].price == Decimal("100.4")
    other = replace(long_position(), pos_id="p2")
    tsl.on_tick_exit(at("100.1"), (other,), ctx())  # p1 is no longer open: forgotten
    reopened = long_position()  # OKX reuses a net-mode posId: same id, a new position
    assert tsl.on_tick_exit(at("100.2"), (reopened,), ctx()) == {
        "p1": StopAt(Decimal("100.1"), "trailing from best 100.2")
    }  # remembering the old best (100.5) would have closed it at once
