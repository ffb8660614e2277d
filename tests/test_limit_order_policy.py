"""The built-in limit-order policy: the conformance suite with its own promises, and examples."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import strategies as st
from plugin_factory import NOW, ctx, tick

from host import (
    CancelOrder,
    CrossSpread,
    EntryPlan,
    Order,
    PositionSide,
    Regime,
    RepriceOrder,
    Side,
    Signal,
)
from host.conformance.limit_orders import LimitOrderPolicySuite
from host.settings import HookSettings, LimitOrderMaxWait
from plugins.limit_order_policy import LimitOrderPolicy

waits = st.floats(min_value=1, max_value=300, allow_nan=False)
policy_settings = st.builds(
    LimitOrderPolicy.Settings,
    offset_ticks=st.integers(min_value=0, max_value=5),
    post_only=st.booleans(),
    max_wait_seconds=waits,
    by_regime=st.dictionaries(st.sampled_from(Regime), waits),
    on_timeout=st.sampled_from(["cancel", "reprice", "cross"]),
    max_reprices=st.integers(min_value=0, max_value=5),
    after_last_reprice=st.sampled_from(["cancel", "cross"]),
)


class TestLimitOrderPolicyConforms(LimitOrderPolicySuite):
    """Any configuration keeps the policy's own promises, under a host allowing up to 300 s."""

    plugin_class = LimitOrderPolicy
    settings = policy_settings
    host_hooks = HookSettings(
        limit_order_max_wait_seconds=LimitOrderMaxWait(trending=300, ranging=300, choppy=300)
    )

    def wait_limit(self, settings: Any, regime: Regime) -> timedelta:
        return settings.wait(regime)

    def reprice_limit(self, settings: Any) -> int:
        return settings.max_reprices if settings.on_timeout == "reprice" else 0


class TestLimitOrderPolicyDefaultsWithinTheHostMaximum(LimitOrderPolicySuite):
    """The shipped defaults pass the suite as shipped: within the host's 45 / 45 / 30 s."""

    plugin_class = LimitOrderPolicy


def test_limit_defaults_wait_60s_base_and_45_45_30_per_regime() -> None:
    policy = LimitOrderPolicy(LimitOrderPolicy.Settings())
    assert policy.settings.max_wait_seconds == 60
    assert {regime: policy.limit_order_ttl(ctx(regime)) for regime in Regime} == {
        Regime.TRENDING: timedelta(seconds=45),
        Regime.RANGING: timedelta(seconds=45),
        Regime.CHOPPY: timedelta(seconds=30),
    }
    only_choppy = LimitOrderPolicy.Settings(by_regime={Regime.CHOPPY: 30})
    assert only_choppy.wait(Regime.TRENDING) == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("side", "offset", "post_only", "price"),
    [
        (PositionSide.LONG, 0, True, "100.0"),
        (PositionSide.SHORT, 0, True, "100.1"),
        (PositionSide.LONG, 2, True, "99.8"),
        (PositionSide.SHORT, 2, False, "100.3"),
    ],
)
def test_limit_plans_the_entry_behind_the_touch(
    side: PositionSide, offset: int, post_only: bool, price: str
) -> None:
    policy = LimitOrderPolicy(LimitOrderPolicy.Settings(offset_ticks=offset, post_only=post_only))
    signal = Signal("BTC-USDT-SWAP", side, NOW, "demo", "test")
    assert policy.plan_entry(signal, tick(), ctx()) == EntryPlan(Decimal(price), post_only)


def test_limit_post_only_stays_clear_of_a_locked_book() -> None:
    policy = LimitOrderPolicy(LimitOrderPolicy.Settings())
    signal = Signal("BTC-USDT-SWAP", PositionSide.LONG, NOW, "demo", "test")
    locked = tick(bid="100.1", ask="100.1")
    assert policy.plan_entry(signal, locked, ctx()) == EntryPlan(Decimal("100.0"), True)


def resting(filled: str = "0") -> Order:
    return Order(
        "c1", "BTC-USDT-SWAP", Side.BUY, Decimal(3), Decimal("99.5"), NOW,
        filled_size=Decimal(filled), post_only=True,
    )  # fmt: skip


def test_limit_reprices_n_times_then_acts_and_a_partial_fill_shares_the_count() -> None:
    policy = LimitOrderPolicy(LimitOrderPolicy.Settings(max_reprices=2, after_last_reprice="cross"))
    first = policy.on_limit_expired(resting(), tick(), ctx())
    assert first == RepriceOrder(Decimal("100.0"), first.reason)
    assert "reprice 1/2" in first.reason
    partly = resting(filled="1")
    second = policy.on_limit_expired(partly, tick(bid="100.5", ask="100.6"), ctx())
    assert second == RepriceOrder(Decimal("100.5"), second.reason)
    assert "2 of 3 left" in second.reason
    assert isinstance(policy.on_limit_expired(partly, tick(), ctx()), CrossSpread)
    assert isinstance(
        policy.on_limit_expired(replace(partly, cl_ord_id="c2"), tick(), ctx()), RepriceOrder
    )


@pytest.mark.parametrize(("action", "kind"), [("cancel", CancelOrder), ("cross", CrossSpread)])
def test_limit_cancel_or_cross_on_timeout_when_configured(action: str, kind: type) -> None:
    policy = LimitOrderPolicy(LimitOrderPolicy.Settings(on_timeout=action))
    assert isinstance(policy.on_limit_expired(resting(), tick(), ctx()), kind)
