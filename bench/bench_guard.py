"""What the plugin guard adds to every hook call: fault isolation, health and the budget timing.

Run: ``python bench/bench_guard.py``. Prints figures; never asserts. A trivial implementation is
called bare and behind :func:`host.plugin_guard.guard`; the difference is what each hook call of
each plugin pays on the hot path (``on_tick_exit``'s budget is 20 µs per call). The two readings
of :func:`host.clock.monotonic_ns` the timing needs are shown on their own.
"""

from __future__ import annotations

import timeit

from host.clock import monotonic_ns
from host.plugin_guard import FaultLog, HookHealth, guard


def per_call_ns(call: object, number: int = 200_000) -> float:
    timer = timeit.Timer(call)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=7, number=number)) / number * 1e9


class Trivial:
    def on_tick_exit(self, tick: object, positions: object, ctx: object) -> None:
        return None


def main() -> None:
    plugin = Trivial()
    guarded = guard(
        HookHealth("trivial", "on_tick_exit", 20_000, False), plugin.on_tick_exit, FaultLog()
    )
    bare_ns = per_call_ns(lambda: plugin.on_tick_exit(None, (), None))
    guarded_ns = per_call_ns(lambda: guarded(None, (), None))
    clock_ns = per_call_ns(lambda: monotonic_ns() - monotonic_ns())
    print(f"{'bare call':<40}{bare_ns:>8.0f} ns")
    print(f"{'guarded call':<40}{guarded_ns:>8.0f} ns")
    print(f"{'guard overhead per call':<40}{guarded_ns - bare_ns:>8.0f} ns")
    print(f"{'of which two monotonic_ns() readings':<40}{clock_ns:>8.0f} ns")


if __name__ == "__main__":
    main()
