"""ccxt, unchanged, pointed at an in-process simulator — and proven never to leave 127.0.0.1.

ccxt signs with its own wall clock; ``options.timeDifference`` (what ccxt's own
``load_time_difference`` would measure) makes it sign in the simulator's time, which stands
still between :meth:`Simulator.advance` calls. Every HTTP request ccxt makes goes through a session
whose trace records the URL, so a test can assert that nothing was fetched from elsewhere; ccxt.pro
keeps one client per WebSocket URL it opened, which a test reads the same way.

ccxt.pro signs its WebSocket login with the wall clock and no time difference, so a ccxt.pro
session's simulator starts at the current time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
from yarl import URL

from host.clock import EPOCH, LiveClock
from host.sim import TEST_KEY, SimConfig, Simulator

SYMBOL = "BTC/USDT:USDT"
CONFIG = SimConfig(max_skew=timedelta(hours=1))
"""The window ccxt's signatures must fall in: wide, since the simulated clock stands still."""


@dataclass
class CcxtSession:
    """A simulator, a ccxt ``okx`` with the test account, and every URL ccxt requested."""

    sim: Simulator
    exchange: Any
    urls: list[URL] = field(default_factory=list)

    def hosts(self) -> set[str]:
        """Every host ccxt talked to, over HTTP and (ccxt.pro) WebSocket."""
        sockets = [URL(url) for url in getattr(self.exchange, "clients", {})]
        return {url.host or "" for url in [*self.urls, *sockets]}


def time_difference(sim: Simulator) -> int:
    """Milliseconds ccxt's clock is ahead of the simulator's."""
    wall = LiveClock().now() - EPOCH
    return int((wall - (sim.clock.now() - EPOCH)) / timedelta(milliseconds=1))


def ccxt_config(sim: Simulator, session: aiohttp.ClientSession | None = None) -> dict[str, Any]:
    """ccxt's constructor argument for the simulator: its URL, the test key, its clock."""
    config: dict[str, Any] = {
        "apiKey": TEST_KEY.api_key,
        "secret": TEST_KEY.secret_key,
        "password": TEST_KEY.passphrase,
        "urls": {"api": {"rest": sim.urls.rest, "ws": f"{sim.urls.ws_base}/ws/v5"}},
        "options": {"timeDifference": time_difference(sim), "defaultType": "swap"},
        # ccxt's own throttle sleeps in wall time; the simulator enforces OKX's limits itself
        "enableRateLimit": False,
    }
    if session is not None:
        config["session"] = session
    return config


@asynccontextmanager
async def ccxt_session(
    config: SimConfig = CONFIG, *, pro: bool = False, start: datetime | None = None
) -> AsyncIterator[CcxtSession]:
    """A running simulator with a ccxt (or ccxt.pro) client whose requests are recorded."""
    async with Simulator(config, start=start) as sim:
        await sim.advance(timedelta(seconds=3))
        seen: list[URL] = []

        async def record(_: Any, __: SimpleNamespace, params: Any) -> None:
            seen.append(params.url)

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(record)
        async with aiohttp.ClientSession(trace_configs=[trace]) as http:
            exchange = (ccxt_pro if pro else ccxt_async).okx(ccxt_config(sim, http))
            try:
                yield CcxtSession(sim, exchange, seen)
            finally:
                await exchange.close()
