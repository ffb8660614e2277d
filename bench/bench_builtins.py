"""What the built-in plugins cost per hook call, through the dispatch facade with the defaults.

Run: ``python bench/bench_builtins.py``. Prints figures; never asserts. Budgets from the hook
contract: ``on_tick_exit`` 20 µs per call (all positions of an instrument), ``on_signal`` 50 µs,
``plan_entry`` 50 µs, ``detect_regime`` 1 ms. The circuit breaker folds its whole history on each
signal, so its cost is shown against the number of closed positions it remembers.
"""

from __future__ import annotations

import itertools
import timeit
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from host import (
    Bar,
    ClosedPosition,
    HookContext,
    InstrumentSpec,
    PnL,
    Position,
    PositionSide,
    Regime,
    Signal,
    Tick,
)
from host.pluginmanager import PluginHost, build_plugin_host
from host.settings import Settings

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
SPEC = InstrumentSpec(
    "BTC-USDT-SWAP", Decimal("0.01"), Decimal(1), Decimal("0.1"), Decimal("0.01"), Decimal("0.01")
)
CTX = HookContext(NOW, SPEC, Regime.RANGING)
SIGNAL = Signal("BTC-USDT-SWAP", PositionSide.LONG, NOW, "bench", "bench")


def per_call_us(call: object, number: int = 5_000) -> float:
    timer = timeit.Timer(call)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def held(count: int, stop: Decimal | None = None) -> tuple[Position, ...]:
    return tuple(
        Position(
            f"p{i}", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(100), NOW, NOW,
            stop=stop,
        )
        for i in range(count)
    )  # fmt: skip


def fresh_host() -> PluginHost:
    return build_plugin_host(Settings(), discover_entry_points=False)


def tick_exit() -> None:
    """Every trailing stop active; "steady": the stop already where the TSL wants it (the usual
    tick), "moving": no stop yet, so every position gets a proposal on every tick."""
    ticks = [
        Tick("BTC-USDT-SWAP", NOW, Decimal(bid), Decimal(bid), Decimal(bid) + Decimal("0.1"))
        for bid in ("101.0", "101.2")
    ]
    for case, stop in (("steady", Decimal("101.1")), ("moving", None)):
        for count in (1, 3, 10):
            host, positions, feed = fresh_host(), held(count, stop), itertools.cycle(ticks)
            us = per_call_us(
                lambda h=host, p=positions, f=feed: h.dispatch.on_tick_exit(next(f), p, CTX)
            )
            print(f"on_tick_exit {case} {count:>3} positions  {us:8.2f} µs")


def on_signal() -> None:
    for remembered in (0, 100, 1_000):
        host = fresh_host()
        for i in range(remembered):
            at = NOW - timedelta(minutes=i + 1)
            position = Position(
                f"c{i}", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(100), at, at
            )
            pnl = PnL(Decimal(1 if i % 3 else -1), Decimal(0))
            closed = ClosedPosition(position, Decimal(100), at, pnl, "bench")
            host.dispatch.on_position_closed(closed, HookContext(at, SPEC, Regime.RANGING))
        us = per_call_us(lambda host=host: host.dispatch.on_signal(SIGNAL, CTX), number=500)
        print(f"on_signal      {remembered:>5} closes     {us:8.2f} µs")


def others() -> None:
    host = fresh_host()
    tick = Tick("BTC-USDT-SWAP", NOW, Decimal(100), Decimal(100), Decimal("100.1"))
    us = per_call_us(lambda: host.dispatch.plan_entry(SIGNAL, tick, CTX))
    print(f"plan_entry                      {us:8.2f} µs")
    bars = tuple(
        Bar("BTC-USDT-SWAP", NOW + timedelta(minutes=i), *(Decimal(100 + i % 7),) * 4, Decimal(1))
        for i in range(20)
    )
    us = per_call_us(lambda: host.dispatch.detect_regime(bars, CTX), number=1_000)
    print(f"detect_regime     20 bars       {us:8.2f} µs")


if __name__ == "__main__":
    tick_exit()
    on_signal()
    others()
