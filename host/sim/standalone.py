"""``scalphost sim``: the simulator as a stand-alone server for any OKX v5 client.

It follows the wall clock (×``speed``) from the current time, so a client signing with its own
clock is inside the 30 s window, and prints where to connect and the test account's credentials.
With ``tls`` it serves ``https``/``wss`` with a self-signed certificate made at start in a fresh
temporary directory (removed when it stops), and prints the certificate's file for clients to
trust.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pydantic import SecretStr

from host.clock import LiveClock
from host.settings import Credentials
from host.signals import stop_on_signals
from host.sim.admin import TOKEN_HEADER
from host.sim.config import SimConfig
from host.sim.replay import FileReplay
from host.sim.server import Simulator


def build(seed: int, data: Path | None, *, tls_dir: Path | None = None) -> Simulator:
    """A simulator on the generated market, or replaying ``data`` (raises ReplayError if bad).

    With ``tls_dir`` it serves TLS with a self-signed certificate written there.
    """
    start = LiveClock().now()
    config = SimConfig(seed=seed)
    certificate = None
    if tls_dir is not None:
        from host.sim.tls import make_self_signed  # cryptography: only when asked for TLS

        certificate = make_self_signed(tls_dir, start)
    if data is None:
        return Simulator(config, start=start, tls=certificate)
    replay = FileReplay(data, start)
    config = replace(config, instruments=replay.instruments(config.instruments))
    return Simulator(config, start=start, source=replay, tls=certificate)


def sim_account_credentials(sim: Simulator) -> Credentials:
    """The simulator's first (test) account as the host's credentials."""
    key = sim.config.keys[0]
    return Credentials(
        api_key=SecretStr(key.api_key),
        secret_key=SecretStr(key.secret_key),
        passphrase=SecretStr(key.passphrase),
    )


def banner(sim: Simulator, data: Path | None) -> str:
    """What the command prints: URLs, then the credentials of the test account."""
    urls = sim.urls
    key = sim.config.keys[0]
    market = f"replaying {data}" if data else "generated market"
    return "\n".join(
        [
            f"scalphost sim: simulated OKX v5 exchange (seed {sim.config.seed}, {market})",
            f"REST        {urls.rest}",
            f"WS base     {urls.ws_base}",
            f"public WS   {urls.public}",
            f"private WS  {urls.private}",
            f"business WS {urls.business}",
            f"admin       {urls.admin} (loopback only)",
            f"admin token {sim.admin.token} (header {TOKEN_HEADER})",
            *(
                [f"TLS cert    {sim.tls.cert} (trust it, e.g. SSL_CERT_FILE={sim.tls.cert})"]
                if sim.tls
                else []
            ),
            f"instruments {', '.join(sim.engine.markets)}",
            f"api key     {key.api_key}",
            f"secret key  {key.secret_key}",
            f"passphrase  {key.passphrase}",
            "Press Ctrl-C to stop.",
        ]
    )


async def serve(
    sim: Simulator, port: int, speed: float, announce: Callable[[str], None], data: Path | None
) -> None:
    """Start, announce, and run in real time until SIGINT (Ctrl-C) or SIGTERM."""
    stop = stop_on_signals()
    await sim.start(port)
    announce(banner(sim, data))
    running = asyncio.create_task(sim.run_realtime(speed))
    stopped = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        running.cancel()
        stopped.cancel()
        await sim.stop()
    if running in done:
        running.result()  # it ended by itself: the exchange failed, say so


def run(
    port: int,
    seed: int,
    data: Path | None,
    speed: float,
    announce: Callable[[str], None],
    *,
    tls: bool = False,
) -> None:
    """Blocking entry point for the CLI; Ctrl-C or SIGTERM stops it cleanly."""
    with contextlib.ExitStack() as stack:
        tls_dir = None
        if tls:
            temporary = tempfile.TemporaryDirectory(prefix="scalphost-sim-tls-")
            tls_dir = Path(stack.enter_context(temporary))
        sim = build(seed, data, tls_dir=tls_dir)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(sim, port, speed, announce, data))
