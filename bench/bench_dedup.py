"""What one de-duplication check costs: the private TTL cache vs the market-data watermark.

Run: ``python bench/bench_dedup.py``. Prints figures; never asserts (speed is measured, not
asserted). Each figure is the best of several runs of a plain ``for`` loop over prebuilt inputs,
divided by the number of calls, so it includes the loop and call overhead (shown as "empty loop").
The cache uses the default settings (10,000 events, 300 s) on the live clock, as in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from host.clock import LiveClock
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.domain import Fill, Position, PositionSide, Side
from host.settings import DedupSettings

NOW = datetime(2026, 11, 24, tzinfo=UTC)
CALLS = 100_000
REPEATS = 7

FILL = Fill(
    "BTC-USDT-SWAP", "0", "2497956918703120384", "c1", Side.BUY, Decimal("103698.9"),
    Decimal("0.03"), Decimal("-0.021776769"), NOW,
)  # fmt: skip
POSITION = Position(
    "616057041198907393", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(100), NOW, NOW
)


def best_ns_per_call(run: Callable[[], None], calls: int, setup: Callable[[], None]) -> float:
    """Best of ``REPEATS`` timings of ``run`` (which makes ``calls`` calls), in ns per call."""
    best = None
    for _ in range(REPEATS):
        setup()
        start = time.perf_counter_ns()
        run()
        elapsed = time.perf_counter_ns() - start
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    return best / calls


def private_cases() -> list[tuple[str, float]]:
    dedup = PrivateEventDedup.from_settings(DedupSettings(), LiveClock())
    fills = [replace(FILL, trade_id=str(n)) for n in range(CALLS)]
    positions = [replace(POSITION, size=Decimal(n)) for n in range(CALLS)]
    resent = [FILL] * CALLS

    def fresh() -> None:
        nonlocal dedup
        dedup = PrivateEventDedup.from_settings(DedupSettings(), LiveClock())

    def warm() -> None:
        fresh()
        dedup.first_time(FILL)

    def loop(events: Sequence[Fill | Position]) -> Callable[[], None]:
        def run() -> None:
            first_time = dedup.first_time
            for event in events:
                first_time(event)

        return run

    # The cache holds 10,000: of CALLS new identities, all but the first 10,000 evict one.
    return [
        ("first_time, new fill (cache full)", best_ns_per_call(loop(fills), CALLS, fresh)),
        ("first_time, new position (cache full)", best_ns_per_call(loop(positions), CALLS, fresh)),
        ("first_time, duplicate fill", best_ns_per_call(loop(resent), CALLS, warm)),
    ]


def watermark_cases() -> list[tuple[str, float]]:
    watermark = MarketDataWatermark()
    stamps = list(range(1_700_000_000_000, 1_700_000_000_000 + CALLS))
    same = [stamps[0]] * CALLS

    def fresh() -> None:
        nonlocal watermark
        watermark = MarketDataWatermark()

    def loop(values: Sequence[int]) -> Callable[[], None]:
        def run() -> None:
            is_new = watermark.is_new
            for stamp in values:
                is_new("tickers", "BTC-USDT-SWAP", stamp)

        return run

    return [
        ("is_new, newer stamp", best_ns_per_call(loop(stamps), CALLS, fresh)),
        ("is_new, duplicate stamp", best_ns_per_call(loop(same), CALLS, fresh)),
    ]


def empty_loop() -> float:
    def nothing(channel: str, inst_id: str, stamp: int) -> None:
        return None

    stamps = list(range(CALLS))

    def run() -> None:
        for stamp in stamps:
            nothing("tickers", "BTC-USDT-SWAP", stamp)

    return best_ns_per_call(run, CALLS, lambda: None)


def main() -> None:
    private = private_cases()
    public = watermark_cases()
    reference = public[0][1]
    print(f"{'case':<40} {'ns/call':>8} {'× is_new':>9}")
    for name, ns in [*private, *public, ("empty loop + call (overhead)", empty_loop())]:
        print(f"{name:<40} {ns:>8.0f} {ns / reference:>9.1f}")
    insert = private[0][1]
    print(f"\nwatermark is_new costs {reference / insert:.1%} of a TTL-cache insert of a new fill")


if __name__ == "__main__":
    main()
