"""``scalphost check`` in paper mode: the read-only exchange check against the built-in simulator.

The check itself (:mod:`host.exchange.check`) is the exchange client's and knows nothing of the
simulator; starting a simulator to point it at is the command line's composition, kept here so
the client never imports the simulator built on top of it.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

from host.clock import Clock
from host.exchange.check import CheckLine, check_connectivity
from host.settings import ExchangeSettings
from host.sim.standalone import build, sim_account_credentials


async def check_builtin_simulator(settings: ExchangeSettings, clock: Clock) -> list[CheckLine]:
    """Start the built-in simulator on the wall clock, run every check against it, stop it.

    What ``scalphost check`` does when the config names no exchange (paper mode): the same
    client code, signing and sockets as against OKX, with the simulator's test account.
    """
    sim = build(seed=0, data=None)
    await sim.start(0)
    running = asyncio.create_task(sim.run_realtime(1.0))
    credentials = sim_account_credentials(sim)
    try:
        lines = [CheckLine("exchange", True, f"built-in simulator at {sim.urls.rest}")]
        lines += await check_connectivity(
            settings, credentials, clock, rest_url=sim.urls.rest, ws_url=sim.urls.ws_base
        )
    finally:
        running.cancel()
        with suppress(asyncio.CancelledError):
            await running
        await sim.stop()
    return lines
