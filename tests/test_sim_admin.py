"""The admin endpoint cannot be driven by a web page, nor hung or crashed by its arguments."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from okx_test_client import OkxClient

from host.clock import LiveClock
from host.sim import SimConfig, Simulator
from host.sim.admin import MAX_ADVANCE_SECONDS, TOKEN_HEADER
from host.sim.faults import MAX_SHOCK_PERCENT

BTC = "BTC-USDT-SWAP"


def token(okx: OkxClient) -> dict[str, str]:
    return {TOKEN_HEADER: okx.sim.admin.token}


async def post(okx: OkxClient, path: str, body: Any, **headers: str) -> tuple[int, Any]:
    async with okx.http.post(
        f"{okx.sim.urls.admin}/{path}", json=body, headers=token(okx) | headers
    ) as response:
        return response.status, await response.json()


async def test_a_cross_origin_form_post_cannot_shock_the_market(okx: OkxClient) -> None:
    last = okx.sim.engine.markets[BTC].last
    async with okx.http.post(  # what a page's fetch(..., {mode: "no-cors"}) can send
        f"{okx.sim.urls.admin}/faults/shock_market",
        data='{"inst_id": "BTC-USDT-SWAP", "percent": -30}',
        headers={"Content-Type": "text/plain", "Origin": "https://evil.example"},
    ) as response:
        assert response.status == 401
    async with okx.http.post(
        f"{okx.sim.urls.admin}/faults/shock_market",
        data='{"inst_id": "BTC-USDT-SWAP", "percent": -30}',
        headers={"Content-Type": "text/plain"} | token(okx),
    ) as response:
        assert response.status == 415
    assert okx.sim.engine.markets[BTC].last == last
    status, body = await post(okx, "faults/shock_market", {"inst_id": BTC, "percent": -1})
    assert (status, body["ok"]) == (200, True)
    assert okx.sim.engine.markets[BTC].last < last


async def test_a_foreign_host_header_is_refused_even_with_the_token(okx: OkxClient) -> None:
    async with okx.http.get(
        f"{okx.sim.urls.admin}/ledger", headers=token(okx) | {"Host": "attacker.example"}
    ) as response:
        assert response.status == 403
        assert "ledger" not in await response.json()
    async with okx.http.get(
        f"http://localhost:{okx.sim.port}/sim/admin/ledger", headers=token(okx)
    ) as response:
        assert response.status == 200


@pytest.mark.parametrize(
    "seconds", [1_000_000, MAX_ADVANCE_SECONDS + 1, -1, "1", True, None, 1e308]
)
async def test_advance_is_bounded(okx: OkxClient, seconds: Any) -> None:
    before = okx.sim.clock.now()
    status, body = await post(okx, "advance", {"seconds": seconds})
    assert (status, body["ok"]) == (400, False)
    assert okx.sim.clock.now() == before


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_advance_with_non_finite_seconds_is_400(okx: OkxClient, text: str) -> None:
    async with okx.http.post(
        f"{okx.sim.urls.admin}/advance",
        data='{"seconds": ' + text + "}",
        headers=token(okx) | {"Content-Type": "application/json"},
    ) as response:
        assert response.status == 400


@pytest.mark.parametrize(
    "params",
    [
        {"inst_id": BTC, "percent": MAX_SHOCK_PERCENT + 1},
        {"inst_id": BTC, "percent": -100},
        {"inst_id": BTC, "percent": 1, "sz": "1e400"},
        {"inst_id": BTC, "percent": 1, "sz": "9" * 5000},
        {"inst_id": BTC, "percent": "5"},
    ],
)
async def test_shock_arguments_are_bounded(okx: OkxClient, params: dict[str, Any]) -> None:
    last = okx.sim.engine.markets[BTC].last
    status, body = await post(okx, "faults/shock_market", params)
    assert (status, body["ok"]) == (400, False)
    assert okx.sim.engine.markets[BTC].last == last


def test_in_process_fault_arguments_are_bounded_too() -> None:
    sim = Simulator()
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="percent"):
            sim.faults.shock_market(BTC, bad)
        with pytest.raises(ValueError, match="seconds"):
            sim.faults.skew_clock(bad)


async def test_a_connection_trickling_headers_is_closed() -> None:
    config = SimConfig(http_idle_timeout=timedelta(seconds=0.5))
    async with Simulator(config) as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(b"GET /api/v5/public/time HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        clock = LiveClock()
        started = clock.monotonic()
        closed = False
        while not closed and clock.monotonic() - started < 10:
            writer.write(b"X-Slow: 1\r\n")
            try:
                closed = await asyncio.wait_for(reader.read(1024), 0.1) == b""
            except TimeoutError:
                continue
            except ConnectionResetError:
                closed = True
        writer.close()
        assert closed
        assert clock.monotonic() - started < 5
        async with (  # the server still serves everyone else
            aiohttp.ClientSession() as http,
            http.get(sim.urls.rest + "/api/v5/public/time") as response,
        ):
            assert (await response.json())["code"] == "0"
