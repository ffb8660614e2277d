"""The simulator authenticates (REST and WebSocket login) and speaks WebSocket like OKX."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import aiohttp
import pytest
from okx_test_client import OkxClient, channel, pending, recv_json, recv_until, running
from websockets.exceptions import ConnectionClosed
from yarl import URL

from host.clock import to_okx_iso
from host.exchange.signing import (
    HEADER_DEMO,
    HEADER_KEY,
    HEADER_PASSPHRASE,
    HEADER_SIGN,
    HEADER_TIMESTAMP,
    rest_signature,
)
from host.sim import TEST_KEY, ApiKey, SimConfig, Simulator
from host.sim.source import RawTrade

BTC = "BTC-USDT-SWAP"


async def raw_get(okx: OkxClient, target: str, **overrides: str) -> tuple[int, Any]:
    timestamp = overrides.pop("timestamp", to_okx_iso(okx.sim.clock.now()))
    headers = {
        HEADER_KEY: okx.key.api_key,
        HEADER_PASSPHRASE: okx.key.passphrase,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGN: rest_signature(okx.key.secret_key, timestamp, "GET", target, ""),
    }
    headers.update(overrides)
    url = URL(okx.sim.urls.rest + target, encoded=True)  # send the query exactly as written
    async with okx.http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def test_signature_is_verified_over_the_raw_query_as_sent(okx: OkxClient) -> None:
    # Not re-encoded or re-ordered by the server: python-okx sends commas unencoded, ccxt as %2C.
    for target in (
        "/api/v5/account/positions?instId=BTC-USDT-SWAP,ETH-USDT-SWAP&instType=SWAP",
        "/api/v5/account/positions?instType=SWAP&instId=BTC-USDT-SWAP%2CETH-USDT-SWAP",
    ):
        status, payload = await raw_get(okx, target)
        assert (status, payload["code"]) == (200, "0")


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({HEADER_SIGN: "bm90IGEgc2lnbmF0dXJl"}, "50113"),
        ({HEADER_KEY: "unknown-key"}, "50111"),
        ({HEADER_KEY: ""}, "50103"),
        ({HEADER_PASSPHRASE: "wrong"}, "50105"),
        ({HEADER_TIMESTAMP: "yesterday"}, "50112"),
        ({"timestamp": "2025-01-06T07:59:00.000Z"}, "50102"),
    ],
)
async def test_bad_credentials_get_okx_codes_with_http_401(
    okx: OkxClient, override: dict[str, str], code: str
) -> None:
    status, payload = await raw_get(okx, "/api/v5/account/balance", **override)
    assert (status, payload["code"], payload["data"]) == (401, code, [])


async def test_a_bad_order_parameter_is_item_level_51000_naming_it(okx: OkxClient) -> None:
    status, payload = await okx.post(
        "/api/v5/trade/order",
        {"instId": BTC, "tdMode": "cross", "side": "up", "ordType": "market", "sz": "1"},
    )
    item = payload["data"][0]
    assert (status, payload["code"], item["sCode"], item["sMsg"]) == (
        200,
        "1",
        "51000",
        "Parameter side error",
    )
    status, payload = await okx.get("/api/v5/market/books", {"instId": BTC, "sz": "401"})
    assert (status, payload["code"], payload["msg"]) == (400, "51000", "Parameter sz error")


@pytest.mark.parametrize("timestamp_as_number", [False, True])
async def test_ws_login_accepts_string_or_number_timestamps(
    okx: OkxClient, timestamp_as_number: bool
) -> None:
    ws = await okx.connect("private")
    args = okx.login_args()
    if timestamp_as_number:
        args["timestamp"] = int(args["timestamp"])
    await ws.send(json.dumps({"op": "login", "args": [args]}))
    assert await recv_json(ws) == {
        "event": "login",
        "code": "0",
        "msg": "",
        "connId": (await _conn_id(ws, okx)),
    }


async def _conn_id(ws: Any, okx: OkxClient) -> str:
    await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "account"}]}))
    ack = await recv_until(ws, lambda m: m.get("event") == "subscribe")
    return str(ack["connId"])


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda a: a.update(timestamp=str(int(a["timestamp"]) - 31)), "60006"),
        (lambda a: a.update(sign="AAAA"), "60007"),
        (lambda a: a.update(passphrase="nope"), "60024"),  # noqa: S106
        (lambda a: a.update(apiKey="nobody"), "60005"),
        (lambda a: a.update(timestamp="soon"), "60004"),
    ],
)
async def test_ws_login_failures_use_okx_codes(okx: OkxClient, mutate: Any, code: str) -> None:
    ws = await okx.connect("business")
    args = okx.login_args()
    mutate(args)
    await ws.send(json.dumps({"op": "login", "args": [args]}))
    reply = await recv_json(ws)
    assert (reply["event"], reply["code"]) == ("error", code)


async def test_ws_login_window_is_30_seconds(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    await ws.send(
        json.dumps(
            {"op": "login", "args": [okx.login_args(str(int(okx.login_args()["timestamp"]) - 29))]}
        )
    )
    assert (await recv_json(ws))["code"] == "0"
    await ws.send(json.dumps({"op": "login", "args": [okx.login_args()]}))
    assert (await recv_json(ws))["code"] == "60031"  # one login per connection


async def test_private_channels_need_a_login_and_the_right_path(okx: OkxClient) -> None:
    private = await okx.connect("private")
    assert (await okx.subscribe(private, {"channel": "orders", "instType": "SWAP"}))[0][
        "code"
    ] == "60011"
    public = await okx.connect("public")
    assert (await okx.subscribe(public, {"channel": "orders", "instType": "SWAP"}))[0][
        "code"
    ] == "60018"
    assert (await okx.subscribe(public, {"channel": "tickers", "instId": "NOPE-USDT-SWAP"}))[0][
        "code"
    ] == "60018"
    await okx.login(private)
    assert (await okx.subscribe(private, {"channel": "orders-algo", "instType": "SWAP"}))[0][
        "code"
    ] == "60018"
    ack = (await okx.subscribe(private, {"channel": "orders", "instType": "SWAP"}))[0]
    assert ack["event"] == "subscribe"


async def test_text_ping_gets_text_pong(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    await ws.send("ping")
    assert await ws.recv() == "pong"


async def test_a_silent_connection_is_closed_with_4004_after_30_seconds(okx: OkxClient) -> None:
    quiet = await okx.connect("private")
    talking = await okx.connect("private")
    for _ in range(7):
        await talking.send("ping")
        assert await talking.recv() == "pong"
        await okx.sim.advance(timedelta(seconds=5))
    with pytest.raises(ConnectionClosed) as closed:
        await quiet.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4004, "No data received in 30s.")
    await talking.send("ping")
    assert await talking.recv() == "pong"


async def test_positions_are_snapshot_on_subscribe_then_periodically(okx: OkxClient) -> None:
    await okx.order(instId=BTC, side="sell", ordType="market", sz="2")
    ws = await okx.connect("private")
    await okx.login(ws)
    await okx.subscribe(ws, {"channel": "positions", "instType": "SWAP"})
    first = await recv_until(ws, channel("positions"))
    assert (first["eventType"], first["data"][0]["pos"], first["data"][0]["posSide"]) == (
        "snapshot",
        "-2",
        "net",
    )
    await okx.sim.advance(timedelta(seconds=5.1))
    again = await recv_until(ws, channel("positions"))
    assert again["eventType"] == "snapshot"
    assert again["data"][0]["posId"] == first["data"][0]["posId"]


async def test_rate_limits_answer_50011_with_http_429_and_recover(okx: OkxClient) -> None:
    answers = [await okx.get("/api/v5/account/balance") for _ in range(11)]
    assert [status for status, _ in answers] == [200] * 10 + [429]
    assert answers[-1][1]["code"] == "50011"
    await okx.sim.advance(timedelta(seconds=2))
    assert (await okx.get("/api/v5/account/balance"))[0] == 200


class QuietMarket:
    """A market where nobody trades."""

    def trades_until(self, until: datetime) -> list[RawTrade]:
        return []


async def test_mark_price_is_repeated_every_10_seconds_even_unchanged() -> None:
    async with Simulator(source=QuietMarket()) as sim, aiohttp.ClientSession() as http:
        okx = OkxClient(sim, http)
        ws = await okx.connect("public")
        await okx.subscribe(ws, {"channel": "mark-price", "instId": BTC})
        await sim.advance(timedelta(seconds=60))
        marks = [m["data"][0] for m in await pending(ws) if channel("mark-price")(m)]
    quiet = [int(m["ts"]) for m in marks if m["markPx"] == marks[-1]["markPx"]][1:]
    assert len(quiet) >= 4
    assert {b - a for a, b in pairwise(quiet)} == {10_000}


async def test_a_demo_key_needs_the_demo_header_and_a_live_key_refuses_it() -> None:
    demo = ApiKey("demo-key", "demo-secret", "demo-pass", uid="2", demo=True)
    async with running(SimConfig(keys=(TEST_KEY, demo))) as okx:
        live_with_header = await raw_get(okx, "/api/v5/account/balance", **{HEADER_DEMO: "1"})
        okx.key = demo
        demo_without = await raw_get(okx, "/api/v5/account/balance")
        demo_with = await raw_get(okx, "/api/v5/account/balance", **{HEADER_DEMO: "1"})
    assert [(s, p["code"]) for s, p in (live_with_header, demo_without, demo_with)] == [
        (401, "50101"),
        (401, "50101"),
        (200, "0"),
    ]


async def test_other_instrument_types_have_no_positions_or_orders(okx: OkxClient) -> None:
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    for path in ("/api/v5/account/positions", "/api/v5/trade/fills"):
        assert (await okx.get(path, {"instType": "FUTURES"}))[1]["data"] == []
        assert (await okx.get(path, {"instType": "SWAP"}))[1]["data"] != []
