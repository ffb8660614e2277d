"""The host's load, measured for the plugins (``ctx.load``): event-loop lag and exchange latency.

The circuit breaker's adaptive-load guard takes fewer new signals when the host falls behind:
when the event loop runs its scheduled work late (CPU starved, a slow plugin) or the exchange
answers slowly. Both are measured here, once a second, on the wall clock — they are measurements
of this machine and this network, not trading decisions, so a simulated clock does not apply.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from host.clock import Clock, LiveClock
from host.context import HostLoad
from host.engine.view import MarketView
from host.exchange.health import ExchangeHealth

INTERVAL_SECONDS = 1.0


async def monitor_load(
    market: MarketView,
    health: ExchangeHealth,
    *,
    interval_seconds: float = INTERVAL_SECONDS,
    wall: Clock | None = None,
) -> None:
    """Update ``market.load`` (the plugins' ``ctx.load``) every interval until cancelled.

    ``wall`` is the clock the lag is measured on: this machine's (a :class:`LiveClock`) unless a
    test gives one whose readings it controls.
    """
    clock = wall or LiveClock()
    while True:
        expected = clock.monotonic() + interval_seconds
        await asyncio.sleep(interval_seconds)
        lag = max(0.0, clock.monotonic() - expected)
        latency = health.snapshot().latency_median or 0.0
        market.load = HostLoad(
            loop_lag=timedelta(seconds=lag), exchange_latency=timedelta(seconds=latency)
        )
