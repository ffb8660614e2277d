"""How much one hook call costs: raw pluggy vs the guarded dispatch facade.

Run: ``python bench/bench_dispatch.py``. Prints figures; never asserts (speed is measured, not
asserted). The hot path budget for ``on_tick_exit`` is 20 µs per call for all positions of one
instrument.
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime
from decimal import Decimal

import pluggy

from host import (
    HookContext,
    InstrumentSpec,
    Position,
    PositionSide,
    Regime,
    StopAt,
    Tick,
    hookimpl,
    hookspecs,
)
from host.pluginmanager import BUILTIN_PLUGINS, BuiltinPlugin, build_plugin_host
from host.settings import Settings

ESSENTIAL = tuple(builtin for builtin in BUILTIN_PLUGINS if builtin.essential)
"""Only what cannot be disabled: the figures are the facade's cost, not the built-in policies'."""
NOW = datetime(2026, 11, 24, tzinfo=UTC)
SPEC = InstrumentSpec(
    "BTC-USDT-SWAP", Decimal("0.01"), Decimal(1), Decimal("0.1"), Decimal("0.01"), Decimal("0.01")
)
CTX = HookContext(NOW, SPEC, Regime.RANGING)
TICK = Tick("BTC-USDT-SWAP", NOW, Decimal("100.0"), Decimal("100.0"), Decimal("100.1"))


def exit_plugin(index: int, level: Decimal) -> type:
    """A plugin proposing ``level`` for every position (98 = current stop, 99 = a move)."""

    def on_tick_exit(self: object, positions: tuple[Position, ...]) -> dict[str, StopAt]:
        return {p.pos_id: StopAt(level, "trail") for p in positions}

    return type(f"Exit{index}", (), {"on_tick_exit": hookimpl(on_tick_exit)})


def positions(count: int) -> tuple[Position, ...]:
    return tuple(
        Position(
            f"p{i}",
            "BTC-USDT-SWAP",
            PositionSide.LONG,
            Decimal(1),
            Decimal(100),
            NOW,
            NOW,
            stop=Decimal(98),
        )
        for i in range(count)
    )


def per_call_us(call: object, number: int = 20_000) -> float:
    timer = timeit.Timer(call)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    print(f"{'case':>6} {'plugins':>7} {'positions':>9} {'raw pluggy µs':>14} {'facade µs':>10}")
    for case, level, plugin_count in (
        ("steady", Decimal(98), 1),
        ("steady", Decimal(98), 3),
        ("moving", Decimal(99), 1),
        ("moving", Decimal(99), 3),
    ):
        classes = [exit_plugin(i, level) for i in range(plugin_count)]
        raw = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        raw.add_hookspecs(hookspecs)
        for cls in classes:
            raw.register(cls())
        host = build_plugin_host(
            Settings(),
            builtins=ESSENTIAL + tuple(BuiltinPlugin(c.__name__.lower(), c) for c in classes),
            discover_entry_points=False,
        )
        for count in (1, 3, 10):
            held = positions(count)
            raw_us = per_call_us(
                lambda raw=raw, held=held: raw.hook.on_tick_exit(tick=TICK, positions=held, ctx=CTX)
            )
            facade_us = per_call_us(
                lambda host=host, held=held: host.dispatch.on_tick_exit(TICK, held, CTX)
            )
            print(f"{case:>6} {plugin_count:>7} {count:>9} {raw_us:>14.2f} {facade_us:>10.2f}")


if __name__ == "__main__":
    main()
