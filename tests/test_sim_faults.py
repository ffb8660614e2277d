"""Every fault of the catalogue (FAULTS.md §7.2) can be injected and a client can see it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from okx_test_client import OkxClient, channel, pending, recv_json, recv_until
from websockets.exceptions import ConnectionClosed, InvalidStatus

from host.sim import Simulator
from host.sim.admin import TOKEN_HEADER
from host.sim.chaos import chaos

BTC = "BTC-USDT-SWAP"
NO_ANSWER = 0.2
"""Seconds a test waits to show that something does *not* arrive (silence is only observable so)."""


def orders_of(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (m["data"][0]["ordId"], m["data"][0]["state"]) for m in messages if channel("orders")(m)
    ]


# -- sockets (F1-F5) -----------------------------------------------------------------------


async def test_drop_cuts_sockets_without_a_close_frame(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    assert okx.sim.faults.drop_sockets("public") == 1
    with pytest.raises(ConnectionClosed) as closed:
        await recv_json(ws)
    assert closed.value.rcvd is None  # 1006: no close frame


async def test_a_silenced_socket_stays_open_but_answers_nothing(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    await okx.subscribe(ws, {"channel": "trades", "instId": BTC})
    okx.sim.faults.silence_sockets()
    await okx.sim.advance(timedelta(seconds=40))  # past the idle limit: still no close frame
    await ws.send("ping")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), NO_ANSWER)
    okx.sim.faults.heal_sockets()
    await ws.send("ping")
    assert await ws.recv() == "pong"


async def test_upgrade_notice_then_the_connection_is_cut(okx: OkxClient) -> None:
    public = await okx.connect("public")
    business = await okx.connect("business")
    assert okx.sim.faults.notice_upgrade(close_after_seconds=30) == 1  # not on /business
    notice = await recv_json(public)
    assert (notice["event"], notice["code"]) == ("notice", "64008")
    await public.send("ping")  # still usable until the upgrade
    assert await public.recv() == "pong"
    await okx.sim.advance(timedelta(seconds=30))
    with pytest.raises(ConnectionClosed):
        await recv_json(public)
    await business.send("ping")
    assert await business.recv() == "pong"


async def test_failed_logins_and_rejected_channels(okx: OkxClient) -> None:
    okx.sim.faults.fail_logins(1)
    okx.sim.faults.reject_channel("positions")
    ws = await okx.connect("private")
    assert (await okx.login(ws))["code"] == "60009"
    second = await okx.connect("private")
    assert (await okx.login(second))["code"] == "0"
    acks = await okx.subscribe(
        second,
        {"channel": "orders", "instType": "SWAP"},
        {"channel": "positions", "instType": "SWAP"},
    )
    assert [a.get("code", a["event"]) for a in acks] == ["subscribe", "60018"]


# -- private pushes (F6-F8) ----------------------------------------------------------------


async def test_duplicated_pushes_arrive_twice(okx: OkxClient) -> None:
    ws = await okx.private("orders")
    okx.sim.faults.duplicate_pushes(1, channel="orders")
    await okx.order(instId=BTC, side="buy", ordType="market", sz="0.01")
    await okx.sim.drain()
    pushes = orders_of(await pending(ws))
    assert len(pushes) == 2
    assert pushes[0] == pushes[1]


async def test_dropped_pushes_never_arrive_but_the_fill_happened(okx: OkxClient) -> None:
    ws = await okx.private("orders")
    okx.sim.faults.drop_pushes(1, channel="orders")
    placed = await okx.order(instId=BTC, side="buy", ordType="market", sz="0.01", clOrdId="lost1")
    await okx.sim.drain()
    assert orders_of(await pending(ws)) == []
    _, order = await okx.get("/api/v5/trade/order", {"instId": BTC, "clOrdId": "lost1"})
    assert order["data"][0]["state"] == "filled"
    assert [f["ordId"] for f in okx.sim.ledger.fills()] == [placed["data"][0]["ordId"]]


async def test_reordered_pushes_show_canceled_before_live(okx: OkxClient) -> None:
    ws = await okx.private("orders")
    okx.sim.faults.reorder_pushes(2, channel="orders")
    placed = await okx.order(instId=BTC, side="buy", ordType="limit", px="1000", sz="1")
    await okx.post(
        "/api/v5/trade/cancel-order", {"instId": BTC, "ordId": placed["data"][0]["ordId"]}
    )
    await okx.sim.drain()
    assert [state for _, state in orders_of(await pending(ws))] == ["canceled", "live"]


# -- REST (F9, F10, F12, F14, F16, F18) ----------------------------------------------------


async def test_a_lost_reply_leaves_the_order_placed(okx: OkxClient) -> None:
    okx.sim.faults.fail_rest("lose_reply", "/api/v5/trade/order")
    with pytest.raises(aiohttp.ClientError):
        await okx.order(instId=BTC, side="buy", ordType="market", sz="0.01", clOrdId="ghost1")
    _, order = await okx.get("/api/v5/trade/order", {"instId": BTC, "clOrdId": "ghost1"})
    assert order["data"][0]["state"] == "filled"


async def test_a_late_reply_times_the_client_out_but_the_order_exists(okx: OkxClient) -> None:
    okx.sim.faults.fail_rest("delay_reply", "/api/v5/trade/order", seconds=0.5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            okx.order(instId=BTC, side="sell", ordType="market", sz="0.01", clOrdId="slow1"), 0.1
        )
    _, order = await okx.get("/api/v5/trade/order", {"instId": BTC, "clOrdId": "slow1"})
    assert order["data"][0]["state"] == "filled"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("unavailable", 503, "50001"),
        ("server_error", 500, "50026"),
        ("busy", 429, "50013"),
        ("rate_limit", 429, "50011"),
        ("request_timeout", 400, "50004"),
    ],
)
async def test_failed_requests_are_not_executed(
    okx: OkxClient, kind: str, status: int, code: str
) -> None:
    okx.sim.faults.fail_rest(kind, "/api/v5/trade/")
    got_status, payload = await okx.post(
        "/api/v5/trade/order",
        {
            "instId": BTC,
            "tdMode": "cross",
            "side": "buy",
            "ordType": "market",
            "sz": "1",
            "clOrdId": "nope1",
        },
    )
    assert (got_status, payload["code"]) == (status, code)
    _, order = await okx.get("/api/v5/trade/order", {"instId": BTC, "clOrdId": "nope1"})
    assert order["code"] == "51603"


async def test_an_html_error_page(okx: OkxClient) -> None:
    okx.sim.faults.fail_rest("html_503", "/api/v5/public/time")
    async with okx.http.get(okx.sim.urls.rest + "/api/v5/public/time") as response:
        assert (response.status, response.content_type) == (503, "text/html")


async def test_cancel_versus_fill_race(okx: OkxClient) -> None:
    ws = await okx.private("orders")
    placed = await okx.order(instId=BTC, side="buy", ordType="limit", px="1000", sz="1")
    okx.sim.faults.race_cancel_with_fill()
    _, cancel = await okx.post(
        "/api/v5/trade/cancel-order", {"instId": BTC, "ordId": placed["data"][0]["ordId"]}
    )
    assert cancel["data"][0]["sCode"] == "51400"
    await okx.sim.drain()
    assert [state for _, state in orders_of(await pending(ws))] == ["live", "filled"]


# -- outside the bot, time, availability (F13, F15, F16, F19) -------------------------------


async def test_positions_changed_outside_the_bot_are_pushed(okx: OkxClient) -> None:
    ws = await okx.private("positions")
    okx.sim.faults.external_order(BTC, "buy", "3")
    await okx.sim.drain()
    update = lambda m: channel("positions")(m) and m["eventType"] == "event_update"  # noqa: E731
    opened = await recv_until(ws, update)
    assert opened["data"][0]["pos"] == "3"
    okx.sim.faults.external_close(BTC)
    await okx.sim.drain()
    closed = await recv_until(ws, update)
    assert closed["data"][0]["pos"] == "0"


async def test_our_stop_canceled_outside_the_bot(okx: OkxClient) -> None:
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    placed = await okx.algo(
        side="sell", ordType="conditional", sz="1", slTriggerPx="1000", slOrdPx="-1"
    )
    okx.sim.faults.external_cancel_algo(BTC, placed["data"][0]["algoId"])
    _, live = await okx.get("/api/v5/trade/orders-algo-pending", {"ordType": "conditional"})
    assert live["data"] == []


async def test_clock_skew_gives_50102_until_the_client_resyncs(okx: OkxClient) -> None:
    okx.sim.faults.skew_clock(120)
    status, refused = await okx.get("/api/v5/account/balance")
    assert (status, refused["code"]) == (401, "50102")
    _, server = await okx.get("/api/v5/public/time")
    offset = int(server["data"][0]["ts"]) - int(okx.sim.clock.now().timestamp() * 1000)
    assert offset == 120_000
    okx.clock = lambda: okx.sim.clock.now() + timedelta(milliseconds=offset)
    status, accepted = await okx.get("/api/v5/account/balance")
    assert (status, accepted["code"]) == (200, "0")


async def test_a_skewed_clock_refuses_a_websocket_login_signed_in_the_client_s_time(
    okx: OkxClient,
) -> None:
    okx.sim.faults.skew_clock(60)  # OKX's one clock: REST and WebSocket logins alike
    refused = await okx.login(await okx.connect("private"))
    assert refused["code"] == "60006"
    okx.clock = okx.sim.now  # synchronised with /public/time
    accepted = await okx.login(await okx.connect("private"))
    assert (accepted["event"], accepted["code"]) == ("login", "0")


async def test_a_clock_skew_taken_back_does_not_hold_the_rate_limit_shut(okx: OkxClient) -> None:
    """OKX counts its limits in its own time, which never jumps: the skew is the host's view."""
    okx.sim.faults.skew_clock(60)
    for _ in range(10):  # the public/time budget: 10 per 2 s
        assert (await okx.get("/api/v5/public/time"))[1]["code"] == "0"
    okx.sim.faults.skew_clock(0)
    await okx.sim.advance(timedelta(seconds=3))  # past the window
    assert (await okx.get("/api/v5/public/time"))[1]["code"] == "0"


async def test_maintenance_refuses_rest_and_sockets_then_recovers(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    okx.sim.faults.maintenance(True)
    await okx.sim.advance(timedelta(milliseconds=100))
    assert (await recv_json(ws))["code"] == "64008"
    with pytest.raises(ConnectionClosed):
        await recv_json(ws)
    status, payload = await okx.get("/api/v5/public/time")
    assert (status, payload["code"]) == (503, "50001")
    with pytest.raises(InvalidStatus):
        await okx.connect("public")
    okx.sim.faults.maintenance(False)
    assert (await okx.get("/api/v5/public/time"))[0] == 200
    assert (await okx.login(await okx.connect("private")))["code"] == "0"


async def test_frozen_market_data_goes_stale_while_the_market_trades(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    await okx.subscribe(ws, {"channel": "trades", "instId": BTC})
    okx.sim.faults.freeze_market_data()
    before = okx.sim.engine.markets[BTC].next_trade_id
    await okx.sim.advance(timedelta(seconds=10))
    assert okx.sim.engine.markets[BTC].next_trade_id > before
    assert [m for m in await pending(ws) if channel("trades")(m)] == []


# -- schedules and the admin endpoint --------------------------------------------------------


async def test_a_scheduled_fault_fires_at_its_simulated_time(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    okx.sim.faults.schedule(
        okx.sim.clock.now() + timedelta(seconds=2), "drop_sockets", kind="public"
    )
    await okx.sim.advance(timedelta(seconds=1))
    await ws.send("ping")
    assert await ws.recv() == "pong"
    await okx.sim.advance(timedelta(seconds=1))
    with pytest.raises(ConnectionClosed):
        await recv_json(ws)


async def test_the_admin_endpoint_injects_faults_and_serves_the_ledger(okx: OkxClient) -> None:
    admin = okx.sim.urls.admin
    token = {TOKEN_HEADER: okx.sim.admin.token}
    async with okx.http.post(
        f"{admin}/faults/fail_rest",
        json={"kind": "rate_limit", "path": "/api/v5/public/time"},
        headers=token,
    ) as response:
        assert (response.status, (await response.json())["ok"]) == (200, True)
    assert (await okx.get("/api/v5/public/time"))[1]["code"] == "50011"
    async with okx.http.post(f"{admin}/faults/rm_rf", json={}, headers=token) as response:
        assert response.status == 400
    async with okx.http.post(f"{admin}/advance", data="soon", headers=token) as response:
        assert response.status == 415
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    async with okx.http.post(f"{admin}/advance", json={"seconds": 1}, headers=token) as response:
        assert response.status == 200
    async with okx.http.get(f"{admin}/ledger", headers=token) as response:
        body = await response.json()
    assert body["digest"] == okx.sim.ledger.digest()
    assert {e["kind"] for e in body["ledger"]} >= {"order", "fill", "position", "balance"}
    assert json.dumps(body)


async def test_a_price_shock_gaps_through_a_stop_and_liquidates_a_thin_isolated_position(
    okx: OkxClient,
) -> None:
    ws = await okx.private("orders")
    await okx.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": "100", "mgnMode": "isolated"}
    )
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1", tdMode="isolated")
    eth = "ETH-USDT-SWAP"
    await okx.order(instId=eth, side="sell", ordType="market", sz="1")
    stop = await okx.algo(
        instId=eth,
        side="buy",
        ordType="conditional",
        sz="1",
        reduceOnly=True,
        slTriggerPx=str(okx.sim.engine.markets[eth].last + 10),
        slOrdPx="-1",
    )
    shocked = okx.sim.faults.shock_market(BTC, -2)
    okx.sim.faults.shock_market(eth, 5)
    await okx.sim.advance(timedelta(seconds=3))
    assert okx.sim.engine.algos[stop["data"][0]["algoId"]].state == "effective"
    liquidations = [
        m["data"][0]
        for m in await pending(ws)
        if channel("orders")(m) and m["data"][0]["category"] == "full_liquidation"
    ]
    assert [(o["state"], o["side"], o["accFillSz"]) for o in liquidations] == [
        ("filled", "sell", "1")
    ]
    assert okx.sim.ledger.position(BTC) == 0
    assert okx.sim.engine.markets[BTC].last <= Decimal(shocked) * Decimal("1.01")


@pytest.mark.parametrize("kind", ["truncate", "extra_field", "missing_field", "wrong_type"])
async def test_corrupted_pushes_arrive_malformed(okx: OkxClient, kind: str) -> None:
    ws = await okx.private("orders")
    okx.sim.faults.corrupt_pushes(1, kind, channel="orders")
    await okx.order(instId=BTC, side="buy", ordType="market", sz="0.01")
    await okx.sim.drain()
    text = str(await asyncio.wait_for(ws.recv(), 5))
    while text.startswith('{"event"'):  # the subscription's channel-conn-count
        text = str(await asyncio.wait_for(ws.recv(), 5))
    if kind == "truncate":
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        return
    item = json.loads(text)["data"][0]
    if kind == "extra_field":
        assert item["simUnknownField"] == "1"
    elif kind == "missing_field":
        assert "accFillSz" not in item
    else:
        assert isinstance(item["uTime"], int)


async def test_a_delayed_login_ack_keeps_private_channels_closed_until_it_comes(
    okx: OkxClient,
) -> None:
    okx.sim.faults.delay_logins(3)
    ws = await okx.connect("private")
    await ws.send(json.dumps({"op": "login", "args": [okx.login_args()]}))
    early = (await okx.subscribe(ws, {"channel": "orders", "instType": "SWAP"}))[0]
    assert early["code"] == "60011"
    await okx.sim.advance(timedelta(seconds=3))
    assert (await recv_until(ws, lambda m: m.get("event") == "login"))["code"] == "0"


async def test_too_many_subscribe_requests_on_one_connection_get_60014(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    arg = {"channel": "tickers", "instId": BTC}
    for _ in range(240):
        await ws.send(json.dumps({"op": "subscribe", "args": [arg]}))
        await ws.send(json.dumps({"op": "unsubscribe", "args": [arg]}))
    await ws.send(json.dumps({"op": "subscribe", "args": [arg]}))
    refused = await recv_until(ws, lambda m: m.get("event") == "error")
    assert refused["code"] == "60014"


async def test_a_fault_on_the_nth_request_and_after_the_nth_fill(okx: OkxClient) -> None:
    okx.sim.faults.fail_rest("unavailable", "/api/v5/public/time", after=2)
    statuses = [(await okx.get("/api/v5/public/time"))[0] for _ in range(4)]
    assert statuses == [200, 200, 503, 200]
    ws = await okx.connect("public")
    okx.sim.faults.after_fills(2, "drop_sockets", kind="public")
    await okx.order(instId=BTC, side="buy", ordType="market", sz="0.01")
    await ws.send("ping")
    assert await ws.recv() == "pong"
    await okx.order(instId=BTC, side="buy", ordType="market", sz="0.01")
    with pytest.raises(ConnectionClosed):
        await recv_json(ws)


def test_chaos_schedules_are_seeded_and_heal_what_they_break() -> None:
    def schedule(seed: int) -> list[tuple[str, str]]:
        sim = Simulator()
        items = chaos(sim.faults, seed, sim.clock.now(), timedelta(minutes=10), 20)
        return [(item.name, repr(item.params)) for item in items]

    assert schedule(3) == schedule(3)
    assert schedule(3) != schedule(4)
    names = [name for name, _ in schedule(3)]
    assert names.count("heal_sockets") == names.count("silence_sockets")


async def test_a_chaos_run_keeps_the_exchange_serving_and_its_books_straight(
    okx: OkxClient,
) -> None:
    schedule = chaos(okx.sim.faults, 11, okx.sim.clock.now(), timedelta(seconds=60), 15)
    assert schedule
    for _ in range(12):
        await okx.sim.advance(timedelta(seconds=5))
        with contextlib.suppress(aiohttp.ClientError):  # a lost reply is one of the faults
            await okx.order(instId=BTC, side="buy", ordType="market", sz="0.01")
    await okx.sim.advance(timedelta(seconds=60))
    okx.sim.faults.heal_sockets()
    okx.sim.faults.skew_clock(0)
    fills = okx.sim.ledger.fills(BTC)
    assert okx.sim.ledger.position(BTC) == sum(Decimal(f["fillSz"]) for f in fills)
    status, _ = await okx.get("/api/v5/account/balance")
    assert status == 200


async def test_adl_and_a_leverage_change_outside_the_bot(okx: OkxClient) -> None:
    ws = await okx.private("orders")
    await okx.order(instId=BTC, side="sell", ordType="market", sz="3")
    okx.sim.faults.adl(BTC, "1")
    okx.sim.faults.external_leverage(BTC, "7")
    await okx.sim.drain()
    adl = [
        m["data"][0]
        for m in await pending(ws)
        if channel("orders")(m) and m["data"][0]["category"] == "adl"
    ]
    assert [(o["side"], o["accFillSz"], o["state"]) for o in adl] == [("buy", "1", "filled")]
    row = (await okx.get("/api/v5/account/positions"))[1]["data"][0]
    assert (row["pos"], row["lever"]) == ("-2", "7")
