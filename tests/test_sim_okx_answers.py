"""Where the simulator used to differ from OKX: numbers, bounds, ratios, attached TP/SL, limits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from okx_test_client import OkxClient

from host.clock import to_okx_iso
from host.exchange.signing import HEADER_KEY, HEADER_PASSPHRASE, HEADER_SIGN, HEADER_TIMESTAMP

BTC = "BTC-USDT-SWAP"


async def algo_pending(okx: OkxClient, ord_type: str) -> list[dict[str, Any]]:
    _, payload = await okx.get("/api/v5/trade/orders-algo-pending", {"ordType": ord_type})
    rows: list[dict[str, Any]] = payload["data"]
    return rows


async def test_json_numbers_are_accepted_where_okx_documents_strings(okx: OkxClient) -> None:
    status, payload = await okx.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": 7, "mgnMode": "cross"}
    )
    assert (status, payload["code"], payload["data"][0]["lever"]) == (200, "0", "7")
    placed = await okx.order(instId=BTC, side="buy", ordType="market", sz=0.5)
    assert placed["data"][0]["sCode"] == "0"
    assert okx.sim.engine.accounts[okx.key.uid].positions[(BTC, "net")].pos == Decimal("0.5")


@pytest.mark.parametrize("size", ["1e400", "NaN", "inf", "9" * 5000, "0x10", "1_0"])
async def test_absurd_sizes_are_51000_not_a_server_error(okx: OkxClient, size: str) -> None:
    status, payload = await okx.post(
        "/api/v5/trade/order",
        {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": size},
    )
    assert (status, payload["data"][0]["sCode"]) == (200, "51000")


async def test_a_json_number_too_large_for_a_double_is_a_json_error(okx: OkxClient) -> None:
    path = "/api/v5/trade/order"
    body = '{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"market","sz":1e400}'
    headers = okx._headers("POST", path, body)
    async with okx.http.post(okx.sim.urls.rest + path, data=body, headers=headers) as response:
        assert (response.status, (await response.json())["code"]) == (400, "50002")


async def test_requests_with_a_bad_signature_do_not_use_up_the_accounts_rate_limit(
    okx: OkxClient,
) -> None:
    timestamp = to_okx_iso(okx.sim.clock.now())
    forged = {
        HEADER_KEY: okx.key.api_key,
        HEADER_PASSPHRASE: okx.key.passphrase,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGN: "Zm9yZ2Vk",
    }
    for _ in range(30):
        async with okx.http.get(
            okx.sim.urls.rest + "/api/v5/account/balance", headers=forged
        ) as response:
            assert (await response.json())["code"] == "50113"
    codes = [(await okx.get("/api/v5/account/balance"))[1]["code"] for _ in range(11)]
    assert codes == ["0"] * 10 + ["50011"]  # OKX: 10 requests per 2 s, counted per account


async def test_cross_positions_show_liquidation_price_and_margin_ratio_as_numbers(
    okx: OkxClient,
) -> None:
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    okx.sim.faults.shock_market(BTC, 0.37)
    await okx.sim.advance(timedelta(seconds=1))
    row = (await okx.get("/api/v5/account/positions", {"instId": BTC}))[1]["data"][0]
    assert row["mgnMode"] == "cross"
    assert Decimal(row["liqPx"]) > 0
    assert Decimal(row["mgnRatio"]) > 1
    for name in ("uplRatio", "uplRatioLastPx", "mgnRatio"):
        digits = row[name].replace("-", "").replace(".", "").lstrip("0")
        assert 0 < len(digits) <= 16, (name, row[name])


async def test_a_short_cross_position_liquidates_at_its_estimated_price(okx: OkxClient) -> None:
    await okx.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": "100", "mgnMode": "cross"}
    )
    await okx.order(instId=BTC, side="sell", ordType="market", sz="100")
    row = (await okx.get("/api/v5/account/positions", {"instId": BTC}))[1]["data"][0]
    liq_px = Decimal(row["liqPx"])
    last = okx.sim.engine.markets[BTC].last
    assert last < liq_px < last * 2
    okx.sim.faults.shock_market(BTC, float((liq_px * Decimal("0.98") / last - 1) * 100))
    await okx.sim.advance(timedelta(seconds=5))  # the mark follows the last price within seconds
    row = (await okx.get("/api/v5/account/positions", {"instId": BTC}))[1]["data"][0]
    assert row["pos"] == "-100"
    last = okx.sim.engine.markets[BTC].last
    okx.sim.faults.shock_market(BTC, float((liq_px * Decimal("1.02") / last - 1) * 100))
    await okx.sim.advance(timedelta(seconds=5))
    row = (await okx.get("/api/v5/account/positions", {"instId": BTC}))[1]["data"][0]
    assert row["pos"] == "0"


async def test_attached_options_the_simulator_cannot_keep_are_refused(okx: OkxClient) -> None:
    last = okx.sim.engine.markets[BTC].last
    split = [{"tpTriggerPx": str(last + 100), "tpOrdPx": "-1", "sz": "0.5"}]
    refused = await okx.order(
        instId=BTC, side="buy", ordType="market", sz="1", attachAlgoOrds=split
    )
    assert (refused["data"][0]["sCode"], refused["data"][0]["sMsg"]) == (
        "51000",
        "Parameter sz error",
    )
    assert okx.sim.engine.accounts[okx.key.uid].positions == {}
    both = [{"tpTriggerPx": str(last + 100), "tpOrdPx": "-1", "slTriggerPx": str(last - 100)}]
    refused = await okx.order(instId=BTC, side="buy", ordType="market", sz="1", attachAlgoOrds=both)
    assert refused["data"][0]["sMsg"] == "Parameter slOrdPx error"


async def test_an_attached_stop_is_placed_for_the_filled_part_and_fires(okx: OkxClient) -> None:
    last = okx.sim.engine.markets[BTC].last
    ask = okx.sim.engine.markets[BTC].book.best_ask
    attach = [{"slTriggerPx": str(last - 50), "slOrdPx": "-1", "attachAlgoClOrdId": "mystop1"}]
    placed = await okx.order(
        instId=BTC, side="buy", ordType="limit", px=str(ask - 1), sz="1", attachAlgoOrds=attach
    )
    ord_id = placed["data"][0]["ordId"]
    assert (await algo_pending(okx, "conditional")) == []  # not before a fill
    okx.sim.engine.fill_resting(okx.sim.engine.find_order(okx.key.uid, BTC, ord_id, ""))
    pending = await algo_pending(okx, "conditional")
    assert [(a["algoClOrdId"], a["sz"], a["side"], a["reduceOnly"]) for a in pending] == [
        ("mystop1", "1", "sell", "true")
    ]
    okx.sim.faults.shock_market(BTC, -1)
    await okx.sim.advance(timedelta(seconds=1))
    assert okx.sim.engine.accounts[okx.key.uid].positions[(BTC, "net")].pos == 0
