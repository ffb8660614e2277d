"""What the chandelier promises beyond the shipped suite, on tapes small enough to check by hand.

The runs use the suite's own driver (:func:`host.conformance.exits.run_exit`): it feeds the
plugin as the host does (``on_fill`` first, one ``on_tick_exit`` per tick) and applies each
accepted stop to the position, so these examples see what a live position would.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from host import (
    ClosedPosition,
    CloseNow,
    ExitProposal,
    HookContext,
    InstrumentSpec,
    PnL,
    Position,
    PositionSide,
    Regime,
    StopAt,
    Tick,
)
from host.conformance.exits import run_exit
from host.conformance.scenarios import ExitScenario
from pydantic import ValidationError

from scalphost_chandelier import Chandelier

SPEC = InstrumentSpec(
    "BTC-USDT-SWAP", Decimal(1), Decimal(1), Decimal("0.1"), Decimal(1), Decimal(1)
)
OPENED = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def chandelier(**settings: object) -> Chandelier:
    """A chandelier with ``settings`` validated as the host validates a config section."""
    return Chandelier(Chandelier.Settings.model_validate(settings))


def position(pos_id: str = "pos-1", opened: datetime = OPENED) -> Position:
    """A one-contract long entered at 100."""
    return Position(
        pos_id, SPEC.inst_id, PositionSide.LONG, Decimal(1), Decimal(100), opened, opened
    )


def tape(*quotes: tuple[str, str], start: datetime = OPENED) -> tuple[Tick, ...]:
    """Ticks one second apart from ``(bid, ask)`` quotes."""
    return tuple(
        Tick(
            SPEC.inst_id, start + timedelta(seconds=n + 1), Decimal(bid), Decimal(bid), Decimal(ask)
        )
        for n, (bid, ask) in enumerate(quotes)
    )


def answers(
    plugin: Chandelier, ticks: tuple[Tick, ...], regime: Regime = Regime.RANGING
) -> list[ExitProposal | None]:
    """What the plugin answered for the position on each tick, up to its first close."""
    scenario = ExitScenario(SPEC, position(), None, ticks, regime)
    return [step.proposal for step in run_exit(plugin, scenario)]


def shapes(proposals: list[ExitProposal | None]) -> list[object]:
    """Stops as their price, closes as ``"close"``, no answer as ``None``."""
    return [
        p.price if isinstance(p, StopAt) else "close" if isinstance(p, CloseNow) else None
        for p in proposals
    ]


# Mids 100.5, 102.5, 101.5, 104.5, 103.5, 100.5: with a window of 3 ticks the noise is the mean of
# the last two mid changes.
WALK = tape(
    ("100", "101"), ("102", "103"), ("101", "102"), ("104", "105"), ("103", "104"), ("100", "101")
)


def test_the_stop_hangs_k_times_the_noise_below_the_best_bid_and_closes_when_reached() -> None:
    plugin = chandelier(window=3, multiplier="2", min_distance="0.0001")
    assert shapes(answers(plugin, WALK)) == [
        None,  # warming up: one tick
        None,  # warming up: two ticks
        Decimal("99.0"),  # noise (2 + 1) / 2 = 1.5; best bid 102 less 2 × 1.5
        Decimal("100.0"),  # noise (1 + 3) / 2 = 2; best bid 104 less 2 × 2
        None,  # still 100: nothing tighter to say
        "close",  # the bid fell to the stop: a close, never a stop at the market
    ]


def test_the_regime_the_position_was_first_seen_in_scales_k() -> None:
    plugin = chandelier(window=3, multiplier="2", regime_factors={"trending": "2"})
    trending = shapes(answers(plugin, WALK[:3], Regime.TRENDING))
    assert trending == [None, None, Decimal("96.0")]  # best bid 102 less 2 × 2 × 1.5


def test_a_long_stop_is_rounded_up_to_the_tick_toward_the_market() -> None:
    plugin = chandelier(window=4, multiplier="1", min_distance="0.0001")
    ticks = tape(("100", "101"), ("101", "102"), ("100.5", "101.5"), ("101.5", "102.5"))
    # noise (1 + 0.5 + 1) / 3 = 0.8333…; 101.5 less that is 100.666…, on the 0.1 grid 100.7
    assert shapes(answers(plugin, ticks))[-1] == Decimal("100.7")


def test_a_frozen_tape_keeps_the_least_distance_from_the_best_price() -> None:
    plugin = chandelier(window=3, min_distance="0.005")  # 0.5 % of the entry at 100
    assert shapes(answers(plugin, tape(*[("100", "100.1")] * 3)))[-1] == Decimal("99.5")


def test_a_repeated_tick_counts_neither_toward_the_warm_up_nor_the_noise() -> None:
    plugin = chandelier(window=3, multiplier="2", min_distance="0.0001")
    first, *rest = WALK[:3]
    assert shapes(answers(plugin, (first, first, first, *rest))) == [
        None,
        None,
        None,
        None,
        Decimal("99.0"),  # as without the repeats
    ]


def test_warmup_ticks_is_the_window() -> None:
    assert chandelier(window=7).warmup_ticks == 7


def exit_call(plugin: Chandelier, tick: Tick, *positions: Position) -> dict[str, ExitProposal]:
    return plugin.on_tick_exit(tick, positions, HookContext(tick.ts, SPEC, Regime.RANGING)) or {}


def test_each_position_keeps_its_own_history() -> None:
    plugin = chandelier(window=3)
    early, late = position("pos-a"), position("pos-b", OPENED + timedelta(seconds=2))
    for tick in WALK[:2]:
        exit_call(plugin, tick, early)
    both = exit_call(plugin, WALK[2], early, late)
    assert set(both) == {"pos-a"}  # pos-b has seen one tick: still warming up


def closed(pos: Position) -> ClosedPosition:
    pnl = PnL(Decimal(0), Decimal(0))
    return ClosedPosition(pos, Decimal(100), OPENED + timedelta(minutes=1), pnl, "stop")


def test_a_closed_position_is_forgotten() -> None:
    plugin = chandelier(window=3)
    pos = position()
    assert [exit_call(plugin, tick, pos) != {} for tick in WALK[:3]] == [False, False, True]
    plugin.on_position_closed(closed(pos))
    assert [exit_call(plugin, tick, pos) for tick in WALK[3:5]] == [{}, {}]  # warming up again


def test_a_new_position_under_a_known_pos_id_starts_afresh_even_without_its_close() -> None:
    plugin = chandelier(window=3)
    for tick in WALK[:3]:
        exit_call(plugin, tick, position())
    reopened = position(opened=WALK[3].ts)
    assert exit_call(plugin, WALK[3], reopened) == {}


def test_a_replayed_old_close_does_not_forget_the_current_position() -> None:
    plugin = chandelier(window=3)
    current = position(opened=OPENED + timedelta(seconds=1))
    for tick in WALK[:2]:
        exit_call(plugin, tick, current)
    plugin.on_position_closed(closed(position()))  # same pos_id, an earlier entry
    assert set(exit_call(plugin, WALK[2], current)) == {"pos-1"}


def test_answers_depend_on_tick_times_not_on_the_context_clock() -> None:
    def run(now: Callable[[Tick], datetime]) -> list[dict[str, ExitProposal] | None]:
        plugin, pos, seen = chandelier(window=3), position(), []
        for tick in WALK:
            answer = plugin.on_tick_exit(tick, (pos,), HookContext(now(tick), SPEC, Regime.RANGING))
            seen.append(answer)
            proposal = (answer or {}).get(pos.pos_id)
            if isinstance(proposal, StopAt):
                pos = replace(pos, stop=proposal.price)
        return seen

    on_time = run(lambda tick: tick.ts)
    assert any(on_time)
    assert run(lambda tick: datetime(2099, 1, 1, tzinfo=UTC)) == on_time


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"window": 1}, "window"),
        ({"multiplier": "0"}, "multiplier"),
        ({"min_distance": "0.5"}, "min_distance"),
        ({"regime_factors": {"choppy": "-1"}}, "regime_factors.choppy"),
        ({"windw": 5}, "windw"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_field(section: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Chandelier.Settings.model_validate(section)
    assert [".".join(map(str, error["loc"])) for error in refused.value.errors()] == [field]


def test_settings_read_from_yaml_strings_are_decimals() -> None:
    settings = Chandelier.Settings.model_validate({"multiplier": "2.5", "min_distance": "0.001"})
    assert (settings.multiplier, settings.min_distance) == (Decimal("2.5"), Decimal("0.001"))
