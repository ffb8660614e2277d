"""The dispatch facade: each hook's combination rule, validation and fail-closed behaviour.

Every hook has tests named ``test_hook_<name>...``; ``test_hookspecs`` checks that none is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import BTC, NOW, ctx, make_host, tick

from host import (
    Accept,
    Adopt,
    Bar,
    CancelOrder,
    ClosedPosition,
    CloseNow,
    CrossSpread,
    Drift,
    DriftKind,
    EntryPlan,
    Fill,
    Flatten,
    HostInfo,
    Order,
    OrderRejection,
    PnL,
    Position,
    PositionSide,
    Regime,
    RepriceOrder,
    Side,
    Signal,
    StopAt,
    Tick,
    Veto,
    hookimpl,
)
from host.dispatch import HOST, Close, MoveStop, PluginStartupError
from host.settings import HookSettings, LimitOrderMaxWait
from plugins.limit_order_policy import LimitOrderPolicy
from plugins.regime import RegimeDetector


class Boom(RuntimeError):
    """The failure every broken test plugin raises."""


def position(
    pos_id: str = "p1", side: PositionSide = PositionSide.LONG, stop: str | None = None
) -> Position:
    return Position(
        pos_id=pos_id,
        inst_id="BTC-USDT-SWAP",
        side=side,
        size=Decimal(1),
        entry_price=Decimal(100),
        entry_time=NOW,
        updated_at=NOW,
        stop=None if stop is None else Decimal(stop),
    )


def signal(side: PositionSide = PositionSide.LONG) -> Signal:
    return Signal("BTC-USDT-SWAP", side, NOW, source="anyone", reason="test")


def order() -> Order:
    return Order("c1", "BTC-USDT-SWAP", Side.BUY, Decimal(1), Decimal(100), NOW)


def host_info() -> HostInfo:
    return HostInfo(now=NOW, mode="paper", instruments={"BTC-USDT-SWAP": BTC})


# --- life cycle -------------------------------------------------------------------------------


def test_hook_on_startup_notifies_every_plugin() -> None:
    started: list[str] = []

    class One:
        @hookimpl
        def on_startup(self, host: HostInfo) -> None:
            started.append(host.mode)

    class Two(One):
        pass

    make_host(One, Two).dispatch.on_startup(host_info())
    assert started == ["paper", "paper"]


def test_hook_on_startup_failure_stops_the_host() -> None:
    class Broken:
        @hookimpl
        def on_startup(self) -> None:
            raise Boom("no data")

    with pytest.raises(PluginStartupError, match="broken"):
        make_host(Broken).dispatch.on_startup(host_info())


def test_hook_on_shutdown_calls_everyone_even_after_a_failure() -> None:
    stopped: list[str] = []

    class Broken:
        @hookimpl
        def on_shutdown(self) -> None:
            raise Boom

    class Tidy:
        @hookimpl
        def on_shutdown(self, host: HostInfo) -> None:
            stopped.append(host.mode)

    host = make_host(Tidy, Broken)
    host.dispatch.on_shutdown(host_info())
    assert stopped == ["paper"]
    assert host.faults.counts[("broken", "on_shutdown")] == 1


# --- market -----------------------------------------------------------------------------------


def bars() -> tuple[Bar, ...]:
    price = Decimal(100)
    return (Bar("BTC-USDT-SWAP", NOW, price, price, price, price, Decimal(1)),)


def test_hook_detect_regime_falls_back_to_the_configured_regime() -> None:
    host = make_host(hooks={"regime_fallback": "ranging"})
    assert host.dispatch.detect_regime(bars(), ctx()) is Regime.RANGING


def test_hook_detect_regime_first_answer_wins_over_a_trylast_default() -> None:
    class Default:
        @hookimpl(trylast=True)
        def detect_regime(self) -> Regime:
            return Regime.CHOPPY

    class Alternative:
        @hookimpl
        def detect_regime(self, bars: Sequence[Bar]) -> Regime:
            return Regime.TRENDING if bars else Regime.RANGING

    assert make_host(Default).dispatch.detect_regime(bars(), ctx()) is Regime.CHOPPY
    assert make_host(Default, Alternative).dispatch.detect_regime(bars(), ctx()) is Regime.TRENDING


@pytest.mark.parametrize("answer", [Boom, "trending"])
def test_hook_detect_regime_failure_or_invalid_answer_gives_the_fallback(answer: object) -> None:
    class Faulty:
        @hookimpl
        def detect_regime(self) -> object:
            if answer is Boom:
                raise Boom
            return answer

    host = make_host(Faulty)
    assert host.dispatch.detect_regime(bars(), ctx()) is Regime.CHOPPY
    assert host.faults.counts[("faulty", "detect_regime")] == 1


def test_hook_generate_signals_collects_all_and_stamps_the_source() -> None:
    class Momentum:
        @hookimpl
        def generate_signals(self, tick: Tick) -> list[Signal]:
            return [signal(PositionSide.LONG)]

    class Imbalance:
        @hookimpl
        def generate_signals(self) -> tuple[Signal, ...]:
            return (signal(PositionSide.SHORT), signal(PositionSide.SHORT))

    class Broken:
        @hookimpl
        def generate_signals(self) -> None:
            raise Boom

    got = make_host(Momentum, Broken, Imbalance).dispatch.generate_signals(tick(), ctx())
    assert sorted((s.source, s.side.value) for s in got) == [
        ("imbalance", "short"),
        ("imbalance", "short"),
        ("momentum", "long"),
    ]


def test_hook_generate_signals_takes_a_bare_signal_as_a_list_of_one() -> None:
    class Single:
        @hookimpl
        def generate_signals(self) -> Signal:
            return signal(PositionSide.SHORT)

    class Listed:
        @hookimpl
        def generate_signals(self) -> list[Signal]:
            return [signal(PositionSide.LONG)]

    host = make_host(Single, Listed)
    got = host.dispatch.generate_signals(tick(), ctx())
    assert sorted((s.source, s.side.value) for s in got) == [
        ("listed", "long"),
        ("single", "short"),
    ]
    assert host.faults.total == 0


def test_hook_generate_signals_refuses_naive_times_and_other_instruments() -> None:
    class Sloppy:
        @hookimpl
        def generate_signals(self) -> list[Signal]:
            naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the bug under test
            return [
                Signal("BTC-USDT-SWAP", PositionSide.LONG, naive, "x", "naive time"),
                Signal("ETH-USDT-SWAP", PositionSide.LONG, NOW, "x", "wrong instrument"),
                signal(),
            ]

    host = make_host(Sloppy)
    got = host.dispatch.generate_signals(tick(), ctx())
    assert [s.reason for s in got] == ["test"]
    assert host.faults.counts[("sloppy", "generate_signals")] == 2


# --- entry ------------------------------------------------------------------------------------


def test_hook_on_signal_allows_when_nobody_objects() -> None:
    assert make_host().dispatch.on_signal(signal(), ctx()).allowed


def test_hook_on_signal_any_veto_blocks_and_a_failure_vetoes() -> None:
    class Breaker:
        @hookimpl
        def on_signal(self) -> Veto:
            return Veto("3 losses in a row")

    class Friendly:
        @hookimpl
        def on_signal(self) -> None:
            return None

    class Broken:
        @hookimpl
        def on_signal(self) -> Veto:
            raise Boom("oops")

    verdict = make_host(Breaker, Friendly).dispatch.on_signal(signal(), ctx())
    assert verdict.vetoes == (("breaker", "3 losses in a row"),)
    failed = make_host(Friendly, Broken).dispatch.on_signal(signal(), ctx())
    assert not failed.allowed
    assert failed.vetoes[0][0] == "broken"


def test_hook_on_signal_verdict_does_not_depend_on_registration_order() -> None:
    class A:
        @hookimpl
        def on_signal(self) -> Veto:
            return Veto("a")

    class B:
        @hookimpl
        def on_signal(self) -> None:
            return None

    class C:
        @hookimpl
        def on_signal(self) -> str:
            return "not a veto"

    verdicts = {
        make_host(*order).dispatch.on_signal(signal(), ctx()) for order in permutations([A, B, C])
    }
    assert len(verdicts) == 1
    [verdict] = verdicts
    assert verdict.vetoes == (("a", "a"), ("c", "invalid answer"))


def test_hook_plan_entry_defaults_to_a_post_only_limit_at_the_touch() -> None:
    dispatch = make_host().dispatch
    assert dispatch.plan_entry(signal(PositionSide.LONG), tick(), ctx()) == EntryPlan(
        Decimal("100.0"), post_only=True
    )
    assert dispatch.plan_entry(signal(PositionSide.SHORT), tick(), ctx()) == EntryPlan(
        Decimal("100.1"), post_only=True
    )


@pytest.mark.parametrize(
    "answer", [Boom, EntryPlan(100.5, post_only=True), EntryPlan(Decimal("NaN"))]
)  # type: ignore[arg-type]
def test_hook_plan_entry_failure_or_float_price_drops_the_entry(answer: object) -> None:
    class Faulty:
        @hookimpl
        def plan_entry(self) -> object:
            if answer is Boom:
                raise Boom
            return answer

    assert make_host(Faulty).dispatch.plan_entry(signal(), tick(), ctx()) is None


def test_hook_limit_order_ttl_default_answer_and_regime_maximum() -> None:
    class Regimes:
        @hookimpl
        def limit_order_ttl(self, ctx: object) -> timedelta:
            return timedelta(seconds=30)

    class Greedy:
        @hookimpl
        def limit_order_ttl(self) -> timedelta:
            return timedelta(hours=2)

    class Negative:
        @hookimpl
        def limit_order_ttl(self) -> timedelta:
            return timedelta(seconds=-1)

    ranging = ctx(regime=Regime.RANGING)
    assert make_host().dispatch.limit_order_ttl(order(), ranging) == timedelta(seconds=45)
    assert make_host(Regimes).dispatch.limit_order_ttl(order(), ranging) == timedelta(seconds=30)
    assert make_host(Greedy).dispatch.limit_order_ttl(order(), ranging) == timedelta(seconds=45)
    assert make_host(Negative).dispatch.limit_order_ttl(order(), ranging) == timedelta(seconds=45)


class WaitsTwoMinutes:
    """The original bot's bug: a limit entry resting 120 s whatever the market does."""

    @hookimpl
    def limit_order_ttl(self) -> timedelta:
        return timedelta(seconds=120)


@pytest.mark.parametrize(
    ("regime", "seconds"), [(Regime.TRENDING, 45), (Regime.RANGING, 45), (Regime.CHOPPY, 30)]
)
def test_hook_limit_order_ttl_never_waits_past_the_regime_maximum(
    regime: Regime, seconds: int
) -> None:
    dispatch = make_host(WaitsTwoMinutes).dispatch
    assert dispatch.limit_order_ttl(order(), ctx(regime=regime)) == timedelta(seconds=seconds)


def test_hook_limit_order_ttl_maximum_comes_from_the_configuration() -> None:
    waits = LimitOrderMaxWait(trending=100, ranging=20, choppy=10)
    policy = HookSettings(limit_order_ttl_default_seconds=15, limit_order_max_wait_seconds=waits)
    dispatch = make_host(WaitsTwoMinutes, hooks=policy).dispatch
    assert dispatch.limit_order_ttl(order(), ctx(regime=Regime.TRENDING)) == timedelta(seconds=100)
    assert dispatch.limit_order_ttl(order(), ctx(regime=Regime.RANGING)) == timedelta(seconds=20)
    assert make_host(hooks=policy).dispatch.limit_order_ttl(
        order(), ctx(regime=Regime.RANGING)
    ) == timedelta(seconds=15)


def test_hook_on_limit_expired_defaults_to_cancel_and_validates_reprices() -> None:
    class Reprice:
        @hookimpl
        def on_limit_expired(self, tick: Tick) -> RepriceOrder:
            return RepriceOrder(tick.bid, "chase")

    class FloatReprice:
        @hookimpl
        def on_limit_expired(self) -> RepriceOrder:
            return RepriceOrder(99.9, "float")  # type: ignore[arg-type]

    class Cross:
        @hookimpl
        def on_limit_expired(self) -> CrossSpread:
            return CrossSpread("urgent")

    dispatch = make_host().dispatch
    assert isinstance(dispatch.on_limit_expired(order(), tick(), ctx()), CancelOrder)
    assert make_host(Reprice).dispatch.on_limit_expired(order(), tick(), ctx()) == RepriceOrder(
        Decimal("100.0"), "chase"
    )
    assert isinstance(
        make_host(FloatReprice).dispatch.on_limit_expired(order(), tick(), ctx()), CancelOrder
    )
    assert make_host(Cross).dispatch.on_limit_expired(order(), tick(), ctx()) == CrossSpread(
        "urgent"
    )


# --- first answer: a failing plugin hides nobody --------------------------------------------


class RaisesFirst:
    """Raises in every first-answer hook; not ``trylast``, so asked before the built-ins."""

    @hookimpl
    def detect_regime(self) -> Regime:
        raise Boom

    @hookimpl
    def plan_entry(self) -> EntryPlan:
        raise Boom

    @hookimpl
    def limit_order_ttl(self) -> timedelta:
        raise Boom

    @hookimpl
    def on_limit_expired(self) -> CancelOrder:
        raise Boom


class AnswersJunkFirst:
    """Answers every first-answer hook with something invalid, before the built-ins."""

    @hookimpl
    def detect_regime(self) -> str:
        return "trending"

    @hookimpl
    def plan_entry(self) -> EntryPlan:
        return EntryPlan(99.5, post_only=True)  # type: ignore[arg-type]

    @hookimpl
    def limit_order_ttl(self) -> timedelta:
        return timedelta(seconds=-5)

    @hookimpl
    def on_limit_expired(self) -> RepriceOrder:
        return RepriceOrder(99.5, "float")  # type: ignore[arg-type]


class AsksNothing:
    """Has no opinion in any first-answer hook; counts how often it is asked."""

    asked: list[str]

    def __init__(self) -> None:
        AsksNothing.asked = []

    @hookimpl
    def detect_regime(self) -> None:
        AsksNothing.asked.append("detect_regime")

    @hookimpl
    def plan_entry(self) -> None:
        AsksNothing.asked.append("plan_entry")

    @hookimpl
    def limit_order_ttl(self) -> None:
        AsksNothing.asked.append("limit_order_ttl")

    @hookimpl
    def on_limit_expired(self) -> None:
        AsksNothing.asked.append("on_limit_expired")


BUILTINS_THAT_DIFFER_FROM_THE_DEFAULTS = {
    # trending on three rising bars (the host's fallback regime is choppy)
    "regimedetector": {"window": 3, "trending_efficiency": "0.6"},
    # two ticks behind the touch, 20 s in any regime, cross on time-out (defaults: at the touch,
    # 45 s when ranging, cancel)
    "limitorderpolicy": {
        "offset_ticks": 2,
        "max_wait_seconds": 20,
        "by_regime": {},
        "on_timeout": "cross",
    },
}


def rising_bars() -> tuple[Bar, ...]:
    return tuple(
        Bar("BTC-USDT-SWAP", NOW + timedelta(minutes=n), price, price, price, price, Decimal(1))
        for n, price in enumerate((Decimal(100), Decimal(101), Decimal(102)))
    )


@pytest.mark.parametrize("culprit", [RaisesFirst, AnswersJunkFirst])
def test_first_answer_hooks_ask_the_builtin_behind_a_failing_plugin(culprit: type) -> None:
    # Registered last, AsksNothing is asked first, then the culprit, then the trylast built-ins.
    host = make_host(
        RegimeDetector,
        LimitOrderPolicy,
        culprit,
        AsksNothing,
        sections=BUILTINS_THAT_DIFFER_FROM_THE_DEFAULTS,
    )
    dispatch = host.dispatch
    assert dispatch.detect_regime(rising_bars(), ctx()) is Regime.TRENDING
    assert dispatch.plan_entry(signal(), tick(), ctx()) == EntryPlan(
        Decimal("99.8"), post_only=True
    )
    assert dispatch.limit_order_ttl(order(), ctx()) == timedelta(seconds=20)
    assert isinstance(dispatch.on_limit_expired(order(), tick(), ctx()), CrossSpread)
    name = culprit.__name__.lower()
    hooks = ("detect_regime", "plan_entry", "limit_order_ttl", "on_limit_expired")
    assert [host.faults.counts[(name, hook)] for hook in hooks] == [1, 1, 1, 1]
    assert AsksNothing.asked == list(hooks)  # asked once per call, not again after the failure


def test_hook_detect_regime_asks_the_builtin_when_the_failure_switches_the_plugin_off() -> None:
    # The failure that reaches the limit unregisters the plugin in the middle of the call.
    host = make_host(
        RegimeDetector,
        RaisesFirst,
        AsksNothing,
        sections={"regimedetector": BUILTINS_THAT_DIFFER_FROM_THE_DEFAULTS["regimedetector"]},
        hooks={"plugin_failure_limit": 1},
    )
    assert host.dispatch.detect_regime(rising_bars(), ctx()) is Regime.TRENDING
    assert "raisesfirst" in host.faults.switched_off
    assert AsksNothing.asked == ["detect_regime"]


def test_hook_plan_entry_is_dropped_when_the_only_answer_failed_even_with_a_quiet_plugin() -> None:
    # Nobody answers validly after the failure: fail closed, not the default at the touch.
    host = make_host(RaisesFirst, AsksNothing)
    assert host.dispatch.plan_entry(signal(), tick(), ctx()) is None
    assert make_host(AsksNothing).dispatch.plan_entry(signal(), tick(), ctx()) == EntryPlan(
        Decimal("100.0"), post_only=True
    )


# --- position life ----------------------------------------------------------------------------


def a_fill() -> Fill:
    return Fill(
        "BTC-USDT-SWAP", "t1", "o1", "c1", Side.BUY, Decimal(100), Decimal(1), Decimal("-0.05"), NOW
    )


def test_hook_on_fill_reaches_every_plugin_even_after_a_failure() -> None:
    armed: list[tuple[str, str | None]] = []

    class Broken:
        @hookimpl
        def on_fill(self) -> None:
            raise Boom

    class Trailing:
        @hookimpl
        def on_fill(self, fill: Fill, position: Position | None) -> None:
            armed.append((fill.trade_id, position.pos_id if position else None))

    host = make_host(Trailing, Broken)
    host.dispatch.on_fill(a_fill(), position(), ctx())
    assert armed == [("t1", "p1")]
    assert host.faults.counts[("broken", "on_fill")] == 1


def test_hook_on_position_closed_reaches_every_plugin() -> None:
    losses: list[Decimal] = []

    class Breaker:
        @hookimpl
        def on_position_closed(self, closed: ClosedPosition) -> None:
            losses.append(closed.pnl.net)

    closed = ClosedPosition(position(), Decimal(99), NOW, PnL(Decimal(-1), Decimal("-0.1")), "stop")
    make_host(Breaker).dispatch.on_position_closed(closed, ctx())
    assert losses == [Decimal("-1.1")]


def test_hook_on_order_rejected_reaches_every_plugin_even_after_a_failure() -> None:
    codes: list[str] = []

    class Broken:
        @hookimpl
        def on_order_rejected(self) -> None:
            raise Boom

    class Breaker:
        @hookimpl
        def on_order_rejected(self, rejection: OrderRejection) -> None:
            codes.append(rejection.code)

    host = make_host(Broken, Breaker)
    rejection = OrderRejection("BTC-USDT-SWAP", "c1", NOW, "51008", "insufficient margin")
    host.dispatch.on_order_rejected(rejection, ctx())
    assert codes == ["51008"]
    assert host.faults.counts[("broken", "on_order_rejected")] == 1


def drift(
    kind: DriftKind, side: PositionSide = PositionSide.LONG, known_stop: str | None = None
) -> Drift:
    exchange = None if kind is DriftKind.REMOVE else position("p9", side)
    known = None if kind is DriftKind.ADD else position("p9", side, stop=known_stop)
    return Drift(kind, "p9", "BTC-USDT-SWAP", exchange, known, mark_price=Decimal(200))


@pytest.mark.parametrize(
    ("side", "expected"), [(PositionSide.LONG, "198.0"), (PositionSide.SHORT, "202.0")]
)
def test_hook_on_position_drift_add_is_adopted_with_a_stop_from_the_mark(
    side: PositionSide, expected: str
) -> None:
    decision = make_host().dispatch.on_position_drift(drift(DriftKind.ADD, side), ctx())
    assert decision.plugin == "drift_guard"
    assert isinstance(decision.resolution, Adopt)
    assert decision.resolution.stop == Decimal(expected)


def test_hook_on_position_drift_remove_is_accepted_and_change_keeps_the_stop() -> None:
    dispatch = make_host().dispatch
    assert isinstance(dispatch.on_position_drift(drift(DriftKind.REMOVE), ctx()).resolution, Accept)
    kept = dispatch.on_position_drift(drift(DriftKind.CHANGE, known_stop="150"), ctx())
    assert isinstance(kept.resolution, Accept)
    unprotected = dispatch.on_position_drift(drift(DriftKind.CHANGE), ctx())
    assert isinstance(unprotected.resolution, Adopt)


def test_hook_on_position_drift_accepting_a_flipped_side_is_refused() -> None:
    class Careless:
        @hookimpl
        def on_position_drift(self) -> Accept:
            return Accept("the old stop will do")

    flipped = Drift(
        DriftKind.CHANGE,
        "p9",
        "BTC-USDT-SWAP",
        exchange=position("p9", PositionSide.SHORT),
        known=position("p9", PositionSide.LONG, stop="150"),
        mark_price=Decimal(200),
    )
    host = make_host(Careless)
    decision = host.dispatch.on_position_drift(flipped, ctx())
    assert decision.plugin == "drift_guard"
    assert isinstance(decision.resolution, Adopt)
    assert decision.resolution.stop > flipped.mark_price
    assert host.faults.counts[("careless", "on_position_drift")] == 1


@pytest.mark.parametrize(
    "answer",
    [
        Boom,
        Accept("ignore it"),
        Adopt(Decimal(250), "stop above the mark of a long"),
        Adopt(1.0, "float"),
    ],  # type: ignore[arg-type]
)
def test_hook_on_position_drift_bad_answers_are_skipped_and_drift_guard_decides(
    answer: object,
) -> None:
    class Careless:
        @hookimpl
        def on_position_drift(self) -> object:
            if answer is Boom:
                raise Boom
            return answer

    host = make_host(Careless)
    decision = host.dispatch.on_position_drift(drift(DriftKind.ADD), ctx())
    assert decision.plugin == "drift_guard"
    assert isinstance(decision.resolution, Adopt)
    assert host.faults.counts[("careless", "on_position_drift")] == 1


def test_hook_on_position_drift_an_earlier_valid_answer_wins() -> None:
    class Cautious:
        @hookimpl
        def on_position_drift(self) -> Flatten:
            return Flatten("never keep what we did not open")

    decision = make_host(Cautious).dispatch.on_position_drift(drift(DriftKind.ADD), ctx())
    assert decision.plugin == "cautious"
    assert decision.resolution == Flatten("never keep what we did not open")


def test_hook_on_position_drift_flattens_when_even_drift_guard_fails() -> None:
    host = make_host(sections={"drift_guard": {"stop_distance": "0.5"}})
    broken_mark = Drift(
        DriftKind.ADD, "p9", "BTC-USDT-SWAP", position("p9"), None, Decimal("0.00001")
    )
    decision = host.dispatch.on_position_drift(broken_mark, ctx())
    assert decision.plugin == HOST
    assert isinstance(decision.resolution, Flatten)


# --- exit -------------------------------------------------------------------------------------


def exit_plugin(name: str, proposals: dict[str, object]) -> type:
    """A plugin class named ``name`` that answers ``on_tick_exit`` with ``proposals``."""

    def on_tick_exit(self: object) -> dict[str, object]:
        return proposals

    return type(name, (), {"on_tick_exit": hookimpl(on_tick_exit)})


def test_hook_on_tick_exit_keeps_every_stop_when_nobody_answers() -> None:
    assert make_host().dispatch.on_tick_exit(tick(), (position(),), ctx()) == {}


def test_hook_on_tick_exit_a_close_beats_any_stop() -> None:
    host = make_host(
        exit_plugin("Tsl", {"p1": StopAt(Decimal(99), "trail")}),
        exit_plugin("Timer", {"p1": CloseNow("held too long")}),
    )
    assert host.dispatch.on_tick_exit(tick(), (position(),), ctx()) == {
        "p1": Close("timer", "held too long")
    }


@pytest.mark.parametrize(
    ("side", "winner"), [(PositionSide.LONG, Decimal(99)), (PositionSide.SHORT, Decimal(101))]
)
def test_hook_on_tick_exit_most_protective_stop_wins(side: PositionSide, winner: Decimal) -> None:
    host = make_host(
        exit_plugin(
            "Loose",
            {"p1": StopAt(Decimal(98) if side is PositionSide.LONG else Decimal(102), "wide")},
        ),
        exit_plugin("Tight", {"p1": StopAt(winner, "tight")}),
    )
    assert host.dispatch.on_tick_exit(tick(), (position(side=side),), ctx()) == {
        "p1": MoveStop(winner, "tight", "tight")
    }


def test_hook_on_tick_exit_stop_only_ratchets_toward_the_market() -> None:
    host = make_host(exit_plugin("Tsl", {"p1": StopAt(Decimal(97), "looser")}))
    assert host.dispatch.on_tick_exit(tick(), (position(stop="98"),), ctx()) == {}


def test_hook_on_tick_exit_a_stop_through_the_market_is_a_close() -> None:
    host = make_host(exit_plugin("Tsl", {"p1": StopAt(Decimal("100.0"), "at the bid")}))
    [decision] = host.dispatch.on_tick_exit(tick(), (position(),), ctx()).values()
    assert isinstance(decision, Close)
    assert decision.plugin == "tsl"


def test_hook_on_tick_exit_failing_plugin_is_ignored_and_others_are_heard() -> None:
    class Broken:
        @hookimpl
        def on_tick_exit(self) -> None:
            raise Boom

    host = make_host(Broken, exit_plugin("Tsl", {"p1": StopAt(Decimal(99), "trail")}))
    assert host.dispatch.on_tick_exit(tick(), (position(),), ctx()) == {
        "p1": MoveStop(Decimal(99), "tsl", "trail")
    }
    assert host.faults.counts[("broken", "on_tick_exit")] == 1


def test_hook_on_tick_exit_invalid_proposals_are_refused_one_by_one() -> None:
    host = make_host(
        exit_plugin(
            "Sloppy",
            {
                "p1": StopAt(99.5, "float"),
                "ghost": CloseNow("unknown position"),
                "p2": StopAt(Decimal(99), "ok"),
            },  # type: ignore[arg-type]
        )
    )
    got = host.dispatch.on_tick_exit(tick(), (position("p1"), position("p2")), ctx())
    assert got == {"p2": MoveStop(Decimal(99), "sloppy", "ok")}
    assert host.faults.counts[("sloppy", "on_tick_exit")] == 2


prices = st.decimals(min_value=Decimal(90), max_value=Decimal("99.9"), places=1)


@given(
    stops=st.lists(prices, min_size=1, max_size=4), current=st.none() | prices, close=st.booleans()
)
def test_hook_on_tick_exit_decision_never_depends_on_plugin_order(
    stops: list[Decimal], current: Decimal | None, close: bool
) -> None:
    """Permuting registration order never changes the decision, and a stop never loosens."""
    classes = [exit_plugin(f"P{i}", {"p1": StopAt(stop, f"s{i}")}) for i, stop in enumerate(stops)]
    if close:
        classes.append(exit_plugin("Closer", {"p1": CloseNow("done")}))
    held = position(stop=None if current is None else str(current))
    decisions = [
        make_host(*order).dispatch.on_tick_exit(tick(), (held,), ctx())
        for order in (classes, classes[::-1])
    ]
    assert decisions[0] == decisions[1]
    decision = decisions[0].get("p1")
    if close:
        assert decision == Close("closer", "done")
    elif isinstance(decision, MoveStop):
        assert decision.price == max(stops)
        assert current is None or decision.price > current
    else:
        assert decision is None
        assert current is not None
        assert max(stops) <= current
