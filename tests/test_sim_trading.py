"""Trading against the simulator through real sockets: orders, positions, stops, pushes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from okx_test_client import RESTING_BUY, OkxClient, channel, pending, recv_until, running

from host.clock import to_okx_ms
from host.sim import SimConfig

BTC = "BTC-USDT-SWAP"


async def order_states(ws: Any) -> list[tuple[str, str, str]]:
    return [
        (m["data"][0]["state"], m["data"][0]["fillSz"], m["data"][0]["accFillSz"])
        for m in await pending(ws)
        if channel("orders")(m)
    ]


async def advance_until(
    okx: OkxClient, done: Any, limit: timedelta = timedelta(minutes=30)
) -> None:
    """Run market time in 1 s steps until ``done()``; bounded, so a bug fails, never hangs."""
    spent = timedelta(0)
    while not done():
        assert spent < limit, "the market never got there"
        await okx.sim.advance(timedelta(seconds=1))
        spent += timedelta(seconds=1)


async def test_a_resting_limit_goes_live_then_fills_in_parts_as_the_market_trades_through(
    okx: OkxClient,
) -> None:
    ws = await okx.private("orders")
    bid = Decimal((await okx.get("/api/v5/market/ticker", {"instId": BTC}))[1]["data"][0]["bidPx"])
    placed = await okx.order(
        instId=BTC, side="buy", ordType="limit", px=str(bid - 5), sz="3", clOrdId="rest1"
    )
    order = okx.sim.engine.orders[placed["data"][0]["ordId"]]
    await advance_until(okx, lambda: order.state == "filled")
    states = await order_states(ws)
    assert states[0] == ("live", "0", "0")
    assert states[-1][0] == "filled"
    assert states[-1][2] == "3"
    fills = [Decimal(s[1]) for s in states[1:]]
    assert sum(fills) == 3
    accumulated = [Decimal(s[2]) for s in states[1:]]
    assert accumulated == sorted(accumulated)
    _, got = await okx.get("/api/v5/trade/order", {"instId": BTC, "clOrdId": "rest1"})
    assert (got["data"][0]["state"], got["data"][0]["avgPx"]) == ("filled", str(bid - 5))


async def test_cancel_is_pushed_with_cancel_source_and_a_second_cancel_is_51400(
    okx: OkxClient,
) -> None:
    ws = await okx.private("orders")
    placed = await okx.order(
        instId=BTC, side="sell", ordType="limit", px="90000", sz="1", clOrdId="c1"
    )
    _, first = await okx.post(
        "/api/v5/trade/cancel-order", {"instId": BTC, "ordId": placed["data"][0]["ordId"]}
    )
    _, second = await okx.post("/api/v5/trade/cancel-order", {"instId": BTC, "clOrdId": "c1"})
    assert first["data"][0]["sCode"] == "0"
    assert (second["code"], second["data"][0]["sCode"]) == ("1", "51400")
    canceled = await recv_until(
        ws, lambda m: channel("orders")(m) and m["data"][0]["state"] == "canceled"
    )
    assert canceled["data"][0]["cancelSource"] == "1"
    _, unknown = await okx.get("/api/v5/trade/order", {"instId": BTC, "ordId": "1"})
    assert (unknown["code"], unknown["data"]) == ("51603", [])


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"sz": "0.005"}, "51121"),
        ({"instId": "NOPE-USDT-SWAP"}, "51001"),
        ({"reduceOnly": True}, "51169"),
        ({"clOrdId": "has-hyphens"}, "51000"),
        ({"sz": "100000"}, "51008"),
    ],
)
async def test_refused_orders_carry_okx_item_codes(
    okx: OkxClient, fields: dict[str, Any], code: str
) -> None:
    reply = await okx.order(
        **{"instId": BTC, "side": "buy", "ordType": "market", "sz": "1", **fields}
    )
    assert (reply["code"], reply["data"][0]["sCode"], reply["data"][0]["ordId"]) == ("1", code, "")


async def test_close_position_flattens_and_pushes_pos_zero(okx: OkxClient) -> None:
    ws = await okx.private("positions")
    await okx.order(instId=BTC, side="buy", ordType="market", sz="2")
    _, closed = await okx.post("/api/v5/trade/close-position", {"instId": BTC, "mgnMode": "cross"})
    assert closed["data"][0] == {"clOrdId": "", "instId": BTC, "posSide": "net", "tag": ""}
    pushes = [
        m
        for m in await pending(ws)
        if channel("positions")(m) and m.get("eventType") == "event_update"
    ]
    assert [p["data"][0]["pos"] for p in pushes] == ["2", "0"]
    assert pushes[0]["data"][0]["posId"] == pushes[1]["data"][0]["posId"]
    _, listed = await okx.get("/api/v5/account/positions")
    assert listed["data"] == []
    _, by_inst = await okx.get("/api/v5/account/positions", {"instId": BTC})
    assert by_inst["data"][0]["pos"] == "0"
    _, again = await okx.post("/api/v5/trade/close-position", {"instId": BTC, "mgnMode": "cross"})
    assert again["code"] == "51023"


async def test_position_reports_pnl_margin_and_liquidation_price() -> None:
    async with running(SimConfig(start_balance=Decimal(2000))) as okx:
        await check_position_figures(okx)


async def check_position_figures(okx: OkxClient) -> None:
    await okx.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": "5", "mgnMode": "cross"}
    )
    await okx.order(instId=BTC, side="buy", ordType="market", sz="10")
    await okx.sim.advance(timedelta(seconds=30))
    row = (await okx.get("/api/v5/account/positions"))[1]["data"][0]
    pos, avg, mark, lever = (Decimal(row[k]) for k in ("pos", "avgPx", "markPx", "lever"))
    assert lever == 5
    assert Decimal(row["upl"]) == pos * Decimal("0.01") * (mark - avg)
    assert Decimal(row["imr"]) == pos * Decimal("0.01") * mark / lever
    assert 0 < Decimal(row["liqPx"]) < avg
    _, fills = await okx.get("/api/v5/trade/fills", {"instId": BTC})
    _, bills = await okx.get("/api/v5/account/bills")
    assert {f["tradeId"] for f in fills["data"]} == {b["tradeId"] for b in bills["data"]}
    assert sum(Decimal(f["fillSz"]) for f in fills["data"]) == 10


async def test_a_conditional_stop_triggers_on_the_mark_and_closes_the_position(
    okx: OkxClient,
) -> None:
    algo_ws = await okx.private("orders-algo")
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    mark = okx.sim.engine.markets[BTC].mark
    stop = str(mark - 5)
    placed = await okx.algo(
        side="sell",
        ordType="conditional",
        closeFraction="1",
        reduceOnly=True,
        slTriggerPx=stop,
        slOrdPx="-1",
        slTriggerPxType="mark",
    )
    algo = okx.sim.engine.algos[placed["data"][0]["algoId"]]
    await advance_until(okx, lambda: algo.state != "live")
    assert algo.state == "effective"
    assert okx.sim.ledger.position(BTC) == 0
    states = [m["data"][0]["state"] for m in await pending(algo_ws) if channel("orders-algo")(m)]
    assert states[0] == "live"
    assert states[-1] == "effective"
    _, history = await okx.get("/api/v5/trade/orders-algo-history", {"ordType": "conditional"})
    assert history["data"][0]["ordId"] == algo.ord_id != ""


async def test_a_trailing_stop_follows_the_best_price_then_fires(okx: OkxClient) -> None:
    advance = await okx.private("algo-advance")
    await okx.order(instId=BTC, side="sell", ordType="market", sz="1")
    placed = await okx.algo(
        side="buy", ordType="move_order_stop", sz="1", reduceOnly=True, callbackRatio="0.0002"
    )
    algo = okx.sim.engine.algos[placed["data"][0]["algoId"]]
    await advance_until(okx, lambda: algo.state != "live")
    assert algo.state == "effective"
    assert algo.extreme is not None
    assert algo.move_trigger_px == algo.extreme * Decimal("1.0002")
    assert okx.sim.ledger.position(BTC) == 0
    pushes = [m["data"][0] for m in await pending(advance) if channel("algo-advance")(m)]
    assert [p["state"] for p in pushes] == ["live", "effective"]
    assert Decimal(pushes[-1]["moveTriggerPx"]) == algo.move_trigger_px


async def test_trailing_stops_are_canceled_through_cancel_advance_algos(okx: OkxClient) -> None:
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    placed = await okx.algo(side="sell", ordType="move_order_stop", sz="1", callbackSpread="500")
    stop = [{"instId": BTC, "algoId": placed["data"][0]["algoId"]}]
    _, wrong = await okx.post("/api/v5/trade/cancel-algos", stop)
    _, right = await okx.post("/api/v5/trade/cancel-advance-algos", stop)
    assert (wrong["data"][0]["sCode"], right["data"][0]["sCode"]) == ("51603", "0")


async def test_an_order_arriving_after_its_exptime_is_discarded(okx: OkxClient) -> None:
    body = {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1"}
    past = to_okx_ms(okx.sim.clock.now() - timedelta(milliseconds=1))
    future = to_okx_ms(okx.sim.clock.now() + timedelta(seconds=5))
    _, late = await okx.post("/api/v5/trade/order", body, {"expTime": past})
    _, timely = await okx.post("/api/v5/trade/order", body, {"expTime": future})
    assert (late["code"], late["data"][0]["sCode"], timely["code"]) == ("1", "50037", "0")
    assert len(okx.sim.ledger.entries("order")) == 1


async def test_algos_are_amended_and_canceled(okx: OkxClient) -> None:
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    placed = await okx.algo(
        side="sell", ordType="trigger", sz="1", triggerPx="1000", orderPx="-1", algoClOrdId="t1"
    )
    algo_id = placed["data"][0]["algoId"]
    _, amended = await okx.post(
        "/api/v5/trade/amend-algos",
        {"instId": BTC, "algoId": algo_id, "newTriggerPx": "2000", "reqId": "r1"},
    )
    assert amended["data"][0] == {
        "algoId": algo_id,
        "algoClOrdId": "t1",
        "reqId": "r1",
        "sCode": "0",
        "sMsg": "",
    }
    _, listed = await okx.get("/api/v5/trade/orders-algo-pending", {"ordType": "trigger"})
    assert listed["data"][0]["triggerPx"] == "2000"
    _, canceled = await okx.post(
        "/api/v5/trade/cancel-algos",
        [{"instId": BTC, "algoId": algo_id}, {"instId": BTC, "algoId": "42"}],
    )
    assert canceled["code"] == "2"
    assert [item["sCode"] for item in canceled["data"]] == ["0", "51603"]


async def test_cancel_all_after_cancels_pending_orders_at_the_deadline(okx: OkxClient) -> None:
    placed = await okx.order(instId=BTC, side="buy", ordType="limit", px="1000", sz="1")
    _, armed = await okx.post("/api/v5/trade/cancel-all-after", {"timeOut": "10"})
    assert armed["data"][0]["triggerTime"] != "0"
    await okx.sim.advance(timedelta(seconds=10))
    order = okx.sim.engine.orders[placed["data"][0]["ordId"]]
    assert (order.state, order.cancel_source) == ("canceled", "20")


async def test_long_short_mode_keeps_two_positions() -> None:
    async with running(SimConfig(pos_mode="long_short_mode")) as okx:
        long_ = await okx.order(instId=BTC, side="buy", posSide="long", ordType="market", sz="1")
        short = await okx.order(instId=BTC, side="sell", posSide="short", ordType="market", sz="2")
        missing = await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
        assert (long_["code"], short["code"], missing["data"][0]["sCode"]) == ("0", "0", "51000")
        _, rows = await okx.get("/api/v5/account/positions")
        assert {(r["posSide"], r["pos"]) for r in rows["data"]} == {("long", "1"), ("short", "2")}
        close_long = await okx.order(
            instId=BTC, side="sell", posSide="long", ordType="market", sz="1"
        )
        assert close_long["code"] == "0"
        assert okx.sim.ledger.position(BTC, "long") == 0


async def test_funding_is_charged_to_longs_at_the_settlement_time() -> None:
    start = datetime(2025, 1, 6, 15, 59, 50, tzinfo=UTC)
    async with running(SimConfig(funding_rate=Decimal("0.0001")), start=start) as okx:
        await okx.order(instId=BTC, side="buy", ordType="market", sz="2")
        cash_before = okx.sim.engine.accounts[okx.key.uid].cash
        await okx.sim.advance(timedelta(seconds=9))
        assert okx.sim.ledger.entries("funding") == []
        await okx.sim.advance(timedelta(seconds=2))
        (funding,) = okx.sim.ledger.entries("funding")
        assert funding.ts == "1736179200000"  # 16:00 UTC
        amount = Decimal(funding.data["amount"])
        bill = (await okx.get("/api/v5/account/bills"))[1]["data"][0]
        assert (bill["type"], bill["subType"], Decimal(bill["balChg"])) == ("8", "173", amount)
        mark = Decimal(bill["px"])  # the mark price at settlement
        assert amount == -(Decimal(2) * Decimal("0.01") * mark * Decimal("0.0001"))
        row = (await okx.get("/api/v5/account/positions"))[1]["data"][0]
        assert Decimal(row["fundingFee"]) == amount
        assert okx.sim.engine.accounts[okx.key.uid].cash == cash_before + amount


async def test_batch_orders_answer_each_item_and_partial_success_is_code_2(okx: OkxClient) -> None:
    good = {**RESTING_BUY, "clOrdId": "b1"}
    bad = {**good, "sz": "0.001", "clOrdId": "b2"}
    _, placed = await okx.post("/api/v5/trade/batch-orders", [good, bad])
    assert (placed["code"], [i["sCode"] for i in placed["data"]]) == ("2", ["0", "51121"])
    assert "inTime" in placed
    cancels = [{"instId": BTC, "clOrdId": "b1"}, {"instId": BTC, "clOrdId": "b2"}]
    _, canceled = await okx.post("/api/v5/trade/cancel-batch-orders", cancels)
    assert (canceled["code"], [i["sCode"] for i in canceled["data"]]) == ("2", ["0", "51400"])
    _, too_many = await okx.post("/api/v5/trade/batch-orders", [good] * 21)
    assert too_many["code"] == "51000"


async def test_amend_order_moves_a_resting_order_and_pushes_the_result(okx: OkxClient) -> None:
    ws = await okx.private("orders")
    placed = await okx.order(
        instId=BTC, side="buy", ordType="post_only", px="1000", sz="2", clOrdId="am1"
    )
    ord_id = placed["data"][0]["ordId"]
    body = {"instId": BTC, "ordId": ord_id, "newPx": "1100", "newSz": "3", "reqId": "r1"}
    _, ack = await okx.post("/api/v5/trade/amend-order", body)
    assert ack["data"][0] == {
        "ordId": ord_id,
        "clOrdId": "am1",
        "reqId": "r1",
        "ts": ack["data"][0]["ts"],
        "sCode": "0",
        "sMsg": "",
    }
    ask = okx.sim.engine.markets[BTC].book.best_ask
    across = {"instId": BTC, "ordId": ord_id, "newPx": str(ask), "reqId": "r2", "cxlOnFail": True}
    await okx.post("/api/v5/trade/amend-order", across)
    await okx.sim.drain()
    pushes = [m["data"][0] for m in await pending(ws) if channel("orders")(m)]
    assert [(p["state"], p["amendResult"], p["reqId"], p["px"], p["sz"]) for p in pushes] == [
        ("live", "", "", "1000", "2"),
        ("live", "0", "r1", "1100", "3"),
        ("canceled", "-1", "r2", "1100", "3"),  # post-only may not cross: failed, then canceled
    ]
    _, late = await okx.post("/api/v5/trade/amend-order", {**body, "reqId": "r3"})
    assert late["data"][0]["sCode"] == "51503"


async def test_a_limit_amended_across_the_book_takes_liquidity(okx: OkxClient) -> None:
    placed = await okx.order(instId=BTC, side="sell", ordType="limit", px="90000", sz="0.01")
    bid = okx.sim.engine.markets[BTC].book.best_bid
    body = {"instId": BTC, "ordId": placed["data"][0]["ordId"], "newPx": str(bid)}
    await okx.post("/api/v5/trade/amend-order", body)
    order = okx.sim.engine.orders[placed["data"][0]["ordId"]]
    assert order.state == "filled"
    assert all(fill.exec_type == "T" and fill.px >= bid for fill in order.fills)
