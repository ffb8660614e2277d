"""``scalphost check`` as a user runs it: a real process against local servers like OKX."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from okx_stub import API_KEY, PASSPHRASE, SECRET_KEY, OkxStub, serve
from okx_ws_stub import SocketStub, serve_sockets

from host.clock import LiveClock
from host.sim.config import SimConfig
from host.sim.server import Simulator


class Servers:
    def __init__(self, rest: OkxStub, sockets: SocketStub, rest_url: str, ws_url: str) -> None:
        self.rest, self.sockets, self.rest_url, self.ws_url = rest, sockets, rest_url, ws_url


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    rest, sockets = OkxStub(), SocketStub()
    async with serve(rest) as rest_url, serve_sockets(sockets) as ws_url:
        yield Servers(rest, sockets, rest_url, ws_url)


async def scalphost_check(servers: Servers, passphrase: str = PASSPHRASE) -> tuple[int, str]:
    return await run_check(
        {
            "SCALPHOST_EXCHANGE__REST_URL": servers.rest_url,
            "SCALPHOST_EXCHANGE__WS_URL": servers.ws_url,
            "SCALPHOST_CREDENTIALS__API_KEY": API_KEY,
            "SCALPHOST_CREDENTIALS__SECRET_KEY": SECRET_KEY,
            "SCALPHOST_CREDENTIALS__PASSPHRASE": passphrase,
        }
    )


async def run_check(variables: dict[str, str]) -> tuple[int, str]:
    """Run ``scalphost check`` as a separate process with ``variables`` in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCALPHOST_")} | variables
    env["SCALPHOST_EXCHANGE__RETRY_BACKOFF_SECONDS"] = "0.05"  # keeps the unreachable case short
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from host.cli import main; main()",
        "check",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_every_item_passes_against_a_healthy_account(servers: Servers) -> None:
    code, output = await scalphost_check(servers)
    assert code == 0, output
    items = [line.split(":")[0] for line in output.splitlines()]
    assert items == [
        "ok    server time",
        "ok    authentication",
        "ok    balance",
        "ok    positions",
        "ok    pending orders",
        "ok    private websocket login",
    ]
    assert "1 open: BTC-USDT-SWAP long 0.5" in output
    assert servers.sockets.events("login-ok") == [1]


async def test_a_wrong_passphrase_is_named_in_one_line_without_secrets(servers: Servers) -> None:
    code, output = await scalphost_check(servers, passphrase="not-the-passphrase")  # noqa: S106
    assert code == 1
    assert "FAIL  authentication: wrong passphrase (OKX 50105)" in output
    assert "Traceback" not in output
    for secret in (API_KEY, SECRET_KEY, PASSPHRASE, "not-the-passphrase"):
        assert secret not in output


async def test_clock_skew_is_measured_and_does_not_fail_the_check(servers: Servers) -> None:
    servers.rest.skew = timedelta(seconds=90)  # OKX's clock, on REST and WebSocket alike
    servers.sockets.skew_seconds = 90
    code, output = await scalphost_check(servers)
    assert code == 0, output
    assert "clock offset +89." in output or "clock offset +90." in output


async def test_the_wrong_position_mode_is_explained(servers: Servers) -> None:
    servers.rest.position_mode = "long_short_mode"
    code, output = await scalphost_check(servers)
    assert code == 1
    assert "position mode is long_short_mode; scalphost expects net_mode" in output


async def test_an_unreachable_exchange_is_one_line() -> None:
    unreachable = Servers(OkxStub(), SocketStub(), "http://127.0.0.1:9", "ws://127.0.0.1:9")
    code, output = await scalphost_check(unreachable)
    assert code == 1
    assert output.strip().splitlines()[-1].startswith("FAIL  server time: cannot reach")


# --- against the simulated exchange --------------------------------------------------------------

EXPECTED_ITEMS = [
    "server time",
    "authentication",
    "balance",
    "positions",
    "pending orders",
    "private websocket login",
]


async def test_every_item_passes_against_the_simulator() -> None:
    sim = Simulator(SimConfig(), start=LiveClock().now())  # its clock within OKX's 30 s window
    async with sim:
        key = sim.config.keys[0]
        code, output = await run_check(
            {
                "SCALPHOST_EXCHANGE__REST_URL": sim.urls.rest,
                "SCALPHOST_EXCHANGE__WS_URL": sim.urls.ws_base,
                "SCALPHOST_CREDENTIALS__API_KEY": key.api_key,
                "SCALPHOST_CREDENTIALS__SECRET_KEY": key.secret_key,
                "SCALPHOST_CREDENTIALS__PASSPHRASE": key.passphrase,
            }
        )
    assert code == 0, output
    assert [line[6:].split(":")[0] for line in output.splitlines()] == EXPECTED_ITEMS


async def test_without_an_exchange_configured_check_runs_the_builtin_simulator() -> None:
    code, output = await run_check({})
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("no exchange.rest_url / ws_url configured: checking the built-in")
    assert lines[1].startswith("ok    exchange: built-in simulator at http://127.0.0.1:")
    assert [line[6:].split(":")[0] for line in lines[2:]] == EXPECTED_ITEMS
