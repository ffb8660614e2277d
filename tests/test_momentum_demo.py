"""The demonstration signal plugin: signals on a move, honours its cooldown, refuses live."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import BTC, NOW, ctx

from host import HookContext, HostInfo, PositionSide, Regime, Tick
from host.conformance.calls import assert_clean
from plugins.momentum_demo import MomentumDemo


def at(seconds: int, mid: str) -> Tick:
    half = Decimal("0.05")
    return Tick(
        "BTC-USDT-SWAP",
        NOW + timedelta(seconds=seconds),
        Decimal(mid),
        Decimal(mid) - half,
        Decimal(mid) + half,
    )


def signals(demo: MomentumDemo, ticks: list[Tick]) -> list[tuple[int, PositionSide]]:
    out = []
    for t in ticks:
        for s in demo.generate_signals(t, HookContext(t.ts, BTC, Regime.RANGING)) or []:
            assert_clean(s, "signal")
            out.append((int((t.ts - NOW).total_seconds()), s.side))
    return out


def test_demo_signals_on_a_move_and_then_waits_for_its_cooldown() -> None:
    demo = MomentumDemo(MomentumDemo.Settings())  # 0.1 % within 30 s, 120 s cooldown
    ticks = [
        at(0, "100"),
        at(10, "100.05"),
        at(20, "100.1"),
        at(30, "100.3"),
        at(140, "99.0"),
        at(160, "98.8"),
    ]
    assert signals(demo, ticks) == [(20, PositionSide.LONG), (160, PositionSide.SHORT)]


prices = st.lists(st.integers(min_value=9_900, max_value=10_100), min_size=1, max_size=40)


@given(mids=prices, repeats=st.lists(st.integers(min_value=0, max_value=2), max_size=40))
def test_demo_duplicated_ticks_change_nothing(mids: list[int], repeats: list[int]) -> None:
    ticks = [at(5 * i, str(Decimal(m) / 100)) for i, m in enumerate(mids)]
    doubled = [
        t for t, r in zip(ticks, repeats + [0] * len(ticks), strict=False) for _ in range(r + 1)
    ]
    settings = MomentumDemo.Settings()
    assert signals(MomentumDemo(settings), doubled) == signals(MomentumDemo(settings), ticks)


def test_demo_refuses_to_trade_real_money_unless_allowed() -> None:
    live = HostInfo(now=NOW, mode="live", instruments={"BTC-USDT-SWAP": BTC})
    with pytest.raises(RuntimeError, match="demonstration, not alpha"):
        MomentumDemo(MomentumDemo.Settings()).on_startup(live)
    MomentumDemo(MomentumDemo.Settings(allow_live=True)).on_startup(live)
    MomentumDemo(MomentumDemo.Settings()).on_startup(HostInfo(NOW, "paper", {}))
    assert ctx().regime is Regime.RANGING
