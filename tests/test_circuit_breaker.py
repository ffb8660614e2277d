"""The built-in circuit breaker: conformance, its state machine as properties, each trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import BTC, tick

from host import ClosedPosition, CloseNow, HookContext, HostLoad, OrderRejection, Regime, Veto
from host.conformance.breakers import (
    CircuitBreakerSuite,
    HistoryItem,
    Probe,
    closed_position,
    feed,
    histories,
)
from plugins.breaker_state import BreakerStatus, breaker_state
from plugins.circuit_breaker import AdaptLoad, CircuitBreaker

breaker_settings = st.builds(
    CircuitBreaker.Settings,
    max_consecutive_losses=st.integers(min_value=1, max_value=6),
    max_daily_loss=st.integers(min_value=10, max_value=200).map(Decimal),
    max_drawdown=st.integers(min_value=10, max_value=300).map(Decimal),
    max_rejects=st.integers(min_value=1, max_value=5),
    reject_window_seconds=st.sampled_from([10.0, 60.0, 600.0]),
    cooldown_seconds=st.sampled_from([60.0, 900.0, 3600.0]),
)


class TestCircuitBreakerConforms(CircuitBreakerSuite):
    plugin_class = CircuitBreaker
    settings = breaker_settings


@given(settings=breaker_settings, history=histories())
def test_breaker_never_lets_an_entry_through_while_open(
    settings: CircuitBreaker.Settings, history: tuple[HistoryItem, ...]
) -> None:
    breaker = CircuitBreaker(settings)
    for item in history:
        verdict = feed(breaker, item)
        if isinstance(item, Probe):
            is_open = breaker.state(item.at).status is BreakerStatus.OPEN
            assert isinstance(verdict, Veto) == is_open


@given(settings=breaker_settings, history=histories())
def test_breaker_always_half_opens_after_the_cooldown(
    settings: CircuitBreaker.Settings, history: tuple[HistoryItem, ...]
) -> None:
    breaker = CircuitBreaker(settings)
    opened = 0
    for item in history:
        feed(breaker, item)
        at = item.at if isinstance(item, Probe | OrderRejection) else item.closed_at
        state = breaker.state(at)
        if state.status is BreakerStatus.OPEN:
            opened += 1
            assert state.until is not None
            longest = max(timedelta(seconds=settings.cooldown_seconds), timedelta(days=1))
            assert at < state.until <= at + longest
            assert breaker.state(state.until).status is BreakerStatus.HALF_OPEN


@given(settings=breaker_settings, history=histories(), replayed=st.randoms())
def test_breaker_state_is_the_pure_function_of_what_it_heard(
    settings: CircuitBreaker.Settings, history: tuple[HistoryItem, ...], replayed: Random
) -> None:
    """The cached, pruned live state equals breaker_state() of every event heard, even with
    journal replays arriving out of order and twice."""
    breaker = CircuitBreaker(settings)
    heard: list[ClosedPosition | OrderRejection] = []
    for item in history:
        feed(breaker, item)
        if isinstance(item, Probe):
            assert breaker.state(item.at) == breaker_state(heard, item.at, settings.limits())
            continue
        heard.append(item)
        if replayed.random() < 0.3:  # an older event heard again (replay and live overlap)
            feed(breaker, replayed.choice(heard))


NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def breaker(**settings: object) -> CircuitBreaker:
    return CircuitBreaker(CircuitBreaker.Settings.model_validate(settings))


def close(b: CircuitBreaker, index: int, minutes: int, net: str) -> None:
    b.on_position_closed(closed_position(index, NOON + timedelta(minutes=minutes), Decimal(net)))


def test_breaker_trips_on_a_losing_streak_half_opens_and_closes_on_a_win() -> None:
    b = breaker(max_consecutive_losses=3, cooldown_seconds=600)
    for i in range(3):
        close(b, i, i, "-1")
    state = b.state(NOON + timedelta(minutes=3))
    assert state.status is BreakerStatus.OPEN
    assert "3 losses in a row" in state.reason
    assert b.state(NOON + timedelta(minutes=12)).status is BreakerStatus.HALF_OPEN
    close(b, 9, 13, "0.5")
    assert b.state(NOON + timedelta(minutes=13)).status is BreakerStatus.CLOSED


def test_breaker_a_loss_on_probation_opens_it_again() -> None:
    b = breaker(max_consecutive_losses=2, cooldown_seconds=60)
    close(b, 1, 0, "-1")
    close(b, 2, 1, "-1")
    close(b, 3, 5, "-1")
    state = b.state(NOON + timedelta(minutes=5))
    assert state.status is BreakerStatus.OPEN
    assert "on probation" in state.reason


def test_breaker_daily_loss_holds_until_the_next_utc_midnight() -> None:
    b = breaker(max_daily_loss="10", cooldown_seconds=60)
    close(b, 1, 0, "-4")
    close(b, 2, 1, "6")
    close(b, 3, 2, "-12.5")
    state = b.state(NOON + timedelta(hours=11))
    assert state.status is BreakerStatus.OPEN
    assert state.until == datetime(2026, 3, 3, tzinfo=UTC)


def test_breaker_trips_on_drawdown_from_the_realised_peak() -> None:
    b = breaker(max_drawdown="20", max_daily_loss="1000", max_consecutive_losses=9)
    close(b, 1, 0, "30")
    close(b, 2, 1, "-15")
    assert b.state(NOON + timedelta(minutes=1)).status is BreakerStatus.CLOSED
    close(b, 3, 2, "-5")
    assert "drawdown 20" in b.state(NOON + timedelta(minutes=2)).reason


def test_breaker_trips_on_a_burst_of_rejections_not_on_a_trickle() -> None:
    b = breaker(max_rejects=3, reject_window_seconds=60)
    for i, seconds in enumerate((0, 40, 80, 120)):  # never three within a minute
        b.on_order_rejected(
            OrderRejection(
                "BTC-USDT-SWAP", f"c{i}", NOON + timedelta(seconds=seconds), "51008", "x"
            )
        )
    assert b.state(NOON + timedelta(seconds=120)).status is BreakerStatus.CLOSED
    b.on_order_rejected(
        OrderRejection("BTC-USDT-SWAP", "c9", NOON + timedelta(seconds=130), "50013", "busy")
    )
    assert "3 rejected orders" in b.state(NOON + timedelta(seconds=130)).reason


def ctx_at(moment: datetime, lag_ms: int = 0, latency_ms: int = 0) -> HookContext:
    load = HostLoad(timedelta(milliseconds=lag_ms), timedelta(milliseconds=latency_ms))
    return HookContext(moment, BTC, Regime.RANGING, load)


def test_breaker_trips_on_exchange_latency() -> None:
    b = breaker(max_exchange_latency_ms=1000, cooldown_seconds=60)
    assert isinstance(b.on_signal(ctx_at(NOON, latency_ms=1500)), Veto)
    assert "latency" in b.state(NOON).reason
    assert b.state(NOON + timedelta(seconds=60)).status is BreakerStatus.HALF_OPEN


def test_breaker_adapt_load_thins_signals_while_the_loop_lags() -> None:
    b = CircuitBreaker(
        CircuitBreaker.Settings(
            adapt_load=AdaptLoad(loop_lag_ms=50, min_seconds_between_signals=10)
        )
    )
    answers = [
        b.on_signal(ctx_at(NOON + timedelta(seconds=s), lag_ms=80)) for s in (0, 3, 9, 10, 11)
    ]
    assert [a is None for a in answers] == [True, False, False, True, False]
    assert b.on_signal(ctx_at(NOON + timedelta(seconds=12), lag_ms=10)) is None  # load gone


def test_breaker_flattens_while_open_only_when_configured() -> None:
    for flatten in (False, True):
        b = breaker(max_consecutive_losses=1, flatten_when_open=flatten)
        close(b, 1, 0, "-1")
        held = closed_position(7, NOON, Decimal(0)).position
        answer = b.on_tick_exit(tick(), (held,), ctx_at(NOON))
        assert answer == ({held.pos_id: CloseNow(answer[held.pos_id].reason)} if flatten else None)


def test_breaker_settings_refuse_a_history_shorter_than_a_day_and_a_cooldown() -> None:
    with pytest.raises(ValueError, match="history_hours"):
        CircuitBreaker.Settings(history_hours=24, cooldown_seconds=900)


def test_breaker_ignores_a_close_it_already_heard() -> None:
    b = breaker(max_consecutive_losses=2)
    close(b, 1, 0, "-1")
    close(b, 1, 0, "-1")  # the same close, replayed and then pushed live
    assert b.state(NOON).status is BreakerStatus.CLOSED
