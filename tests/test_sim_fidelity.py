"""Fidelity: every REST answer and push of the simulator has the keys and value types of OKX's.

Each served endpoint and channel is compared with the real or documented samples in
``host/faults/samples`` and ``tests/okx_samples`` (copied from ``shared/okx/samples``, sources
in their SOURCES.md).
Records (``data`` items) must have exactly the union of the samples' keys; envelopes may omit
what only some samples carry (e.g. ``curPage`` outside snapshots). Every value must have a JSON
type some sample uses for that key — numbers as strings, booleans where OKX sends booleans.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from okx_test_client import RESTING_BUY, OkxClient, channel, recv_json, recv_until
from samples import sample_text

BTC = "BTC-USDT-SWAP"


def sample(name: str) -> Any:
    return json.loads(sample_text(f"{name}.json"))


def assert_shape(mine: Any, samples: list[Any], where: str = "$", *, exact: bool = True) -> None:
    """``mine`` has the keys (all of them when ``exact``) and value types of ``samples``."""
    kinds = {type(s) for s in samples}
    assert type(mine) in kinds, f"{where}: {type(mine).__name__} not in {kinds}"
    if isinstance(mine, dict):
        dicts = [s for s in samples if isinstance(s, dict)]
        union = set().union(*(s.keys() for s in dicts))
        common = set.intersection(*(set(s) for s in dicts))
        extra = set(mine) - union
        assert not extra, f"{where}: keys OKX does not send: {sorted(extra)}"
        missing = (union if exact else common) - set(mine)
        assert not missing, f"{where}: missing keys: {sorted(missing)}"
        for key, value in mine.items():
            assert_shape(value, [s[key] for s in dicts if key in s], f"{where}.{key}", exact=exact)
    elif isinstance(mine, list) and mine:
        elements = [e for s in samples if isinstance(s, list) for e in s]
        if elements:
            for item in mine:
                assert_shape(item, elements, f"{where}[]", exact=exact)


def assert_message(mine: dict[str, Any], *names: str, envelope_also: tuple[str, ...] = ()) -> None:
    """Envelope may omit sample-only keys; every ``data`` item must match exactly.

    ``envelope_also`` names samples whose envelope (not data) also counts, e.g. another private
    channel's push showing the ``uid`` OKX adds to every private ``arg``.
    """
    samples = [sample(name) for name in names]
    envelopes = [sample(name) for name in (*names, *envelope_also)]
    assert_shape(
        {k: v for k, v in mine.items() if k != "data"},
        [{k: v for k, v in s.items() if k != "data"} for s in envelopes],
        exact=False,
    )
    if "data" in mine:
        assert mine["data"], "no data to compare"
        items = [item for s in samples for item in s["data"]]
        for item in mine["data"]:
            assert_shape(item, items)


async def test_public_rest_endpoints_match_okx(okx: OkxClient) -> None:
    await okx.sim.advance(timedelta(seconds=1))
    _, instruments = await okx.get("/api/v5/public/instruments", {"instType": "SWAP"})
    assert_message(
        instruments,
        "rest_public_instruments_swap_nautilus",
        "rest_public_instruments_swap_real_2022_cryptofeed_subset",
    )
    _, time = await okx.get("/api/v5/public/time")
    assert_message(time, "rest_public_time_docs")
    _, ticker = await okx.get("/api/v5/market/ticker", {"instId": BTC})
    assert_message(ticker, "rest_market_ticker_docs")
    _, books = await okx.get("/api/v5/market/books", {"instId": BTC, "sz": "5"})
    assert_message(books, "rest_market_books_docs")
    assert len(books["data"][0]["asks"]) == 5
    _, funding = await okx.get("/api/v5/public/funding-rate", {"instId": BTC})
    pushed = [
        sample(f"ws_funding_rate_push_{source}")["data"][0] for source in ("docs", "nautilus")
    ]
    assert_shape(funding["data"][0], pushed)  # the docs give the fields; REST shares them


async def test_account_rest_endpoints_match_okx(okx: OkxClient) -> None:
    _, config = await okx.get("/api/v5/account/config")
    assert_message(config, "rest_get_account_config_docs")
    assert config["data"][0]["posMode"] == "net_mode"
    _, balance = await okx.get("/api/v5/account/balance")
    assert_message(balance, "rest_get_balance_nautilus", "ws_account_push_nautilus")
    _, fee = await okx.get("/api/v5/account/trade-fee", {"instType": "SWAP"})
    assert_message(fee, "rest_trade_fee_nautilus")
    _, leverage = await okx.post(
        "/api/v5/account/set-leverage", {"instId": BTC, "lever": "5", "mgnMode": "cross"}
    )
    assert_message(leverage, "rest_set_leverage_success_docs")
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    _, positions = await okx.get("/api/v5/account/positions")
    assert_message(positions, "rest_get_positions_margin_docs", "rest_get_positions_swap_nautilus")


async def test_trade_rest_endpoints_match_okx(okx: OkxClient) -> None:
    placed = await okx.order(
        instId=BTC, side="buy", ordType="limit", px="60000", sz="0.5", clOrdId="fid1"
    )
    assert_message(placed, "rest_place_order_success_docs")
    refused = await okx.order(
        instId=BTC, side="buy", ordType="limit", px="60000", sz="0.5", clOrdId="fid1"
    )
    assert_message(
        refused, "rest_place_order_failure_51010_real_ccxt", "rest_place_order_success_docs"
    )
    assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "51016")
    _, pending = await okx.get("/api/v5/trade/orders-pending", {"instType": "SWAP"})
    assert_message(pending, "rest_orders_pending_swap_nautilus")
    _, cancel = await okx.post("/api/v5/trade/cancel-order", {"instId": BTC, "clOrdId": "fid1"})
    assert_message(cancel, "rest_cancel_order_success_docs")
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1", clOrdId="fid2")
    _, order = await okx.get("/api/v5/trade/order", {"instId": BTC, "clOrdId": "fid2"})
    assert_message(
        order, "rest_orders_history_swap_filled_nautilus", "rest_get_order_filled_spot_docs"
    )
    _, history = await okx.get("/api/v5/trade/orders-history", {"instType": "SWAP"})
    assert_message(
        history,
        "rest_orders_history_swap_filled_nautilus",
        "rest_orders_history_spot_canceled_real_ccxt",
    )
    _, closed = await okx.post("/api/v5/trade/close-position", {"instId": BTC, "mgnMode": "cross"})
    assert_message(closed, "rest_close_position_success_docs")


async def test_algo_rest_endpoints_match_okx(okx: OkxClient) -> None:
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    stop = {"side": "sell", "ordType": "trigger", "sz": "1", "triggerPx": "50000", "orderPx": "-1"}
    placed = await okx.algo(**stop, algoClOrdId="stop1")
    assert_message(placed, "rest_order_algo_success_nautilus")
    rejected = await okx.algo(**stop, algoClOrdId="stop2", instId="NOPE-USDT-SWAP")
    assert_message(rejected, "rest_order_algo_rejected_nautilus")
    _, pending = await okx.get("/api/v5/trade/orders-algo-pending", {"ordType": "trigger"})
    sample_row = sample("rest_orders_algo_history_swap_trigger_canceled_real_ccxt")
    documented = {"algoClOrdId": "", "closeFraction": "", "reduceOnly": "false", "uTime": "0"}
    sample_row["data"][0].update(documented)
    items = pending["data"]
    assert items
    for item in items:
        assert_shape(item, sample_row["data"])


async def test_public_channels_match_okx(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    acks = await okx.subscribe(
        ws,
        *(
            {"channel": name, "instId": BTC}
            for name in ("tickers", "trades", "books5", "bbo-tbt", "mark-price", "funding-rate")
        ),
    )
    for ack in acks:
        assert_message(
            ack, "ws_subscribe_tickers_success_docs", "ws_subscribe_success_2022_real_cryptofeed"
        )
    await okx.sim.advance(timedelta(seconds=61))  # funding-rate repeats every 60 s
    for name, samples in {
        "tickers": ("ws_tickers_push_docs", "ws_tickers_push_swap_real_cryptofeed"),
        "trades": ("ws_trades_push_docs", "ws_trades_push_swap_real_cryptofeed"),
        "books5": ("ws_books5_push_docs",),
        "bbo-tbt": ("ws_bbo_tbt_push_docs", "ws_bbo_tbt_push_nautilus"),
        "mark-price": ("ws_mark_price_push_docs",),
        "funding-rate": ("ws_funding_rate_push_docs", "ws_funding_rate_push_nautilus"),
    }.items():
        assert_message(await recv_until(ws, channel(name)), *samples)
    await ws.send(
        json.dumps({"op": "unsubscribe", "args": [{"channel": "tickers", "instId": BTC}]})
    )
    assert_message(
        await recv_until(ws, lambda m: m.get("event") == "unsubscribe"),
        "ws_unsubscribe_success_docs",
    )
    await ws.close()


async def test_private_channels_match_okx(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    assert_message(await okx.login(ws), "ws_login_success_docs")
    await ws.send(
        json.dumps(
            {
                "op": "subscribe",
                "args": [
                    {"channel": "orders", "instType": "SWAP"},
                    {"channel": "positions", "instType": "SWAP"},
                    {"channel": "account"},
                ],
            }
        )
    )
    assert_message(
        await recv_until(ws, lambda m: m.get("event") == "channel-conn-count"),
        "ws_channel_conn_count_docs",
    )
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    await okx.sim.advance(timedelta(seconds=6))
    assert_message(
        await recv_until(ws, channel("orders")),
        "ws_orders_push_swap_market_filled_nautilus",
        "ws_orders_push_filled_spot_docs",
        "ws_orders_push_spot_ioc_partially_filled_nautilus",
    )
    positions = await recv_until(ws, lambda m: channel("positions")(m) and bool(m["data"]))
    assert_message(
        positions, "ws_positions_push_swap_net_real_ccxt", "ws_positions_push_snapshot_docs"
    )
    account = await recv_until(ws, channel("account"))
    assert_message(account, "ws_account_push_nautilus", "ws_account_push_docs")
    business = await okx.connect("business")
    await okx.login(business)
    await okx.subscribe(business, {"channel": "orders-algo", "instType": "SWAP"})
    await okx.algo(side="sell", ordType="conditional", sz="1", slTriggerPx="50000", slOrdPx="-1")
    await okx.sim.drain()
    assert_message(
        await recv_until(business, channel("orders-algo")),
        "ws_orders_algo_push_nautilus",
        envelope_also=("ws_orders_push_swap_canceled_SYNTHETIC_hummingbot_template",),
    )


@pytest.mark.parametrize(
    ("request_text", "sample_name"),
    [
        ("not json", "ws_subscribe_error_60012_docs"),
        (
            '{"op":"login","args":[{"apiKey":"x","passphrase":"y","timestamp":"1","sign":"z"}]}',
            "ws_login_failure_60009_docs",
        ),
    ],
)
async def test_error_events_match_okx(okx: OkxClient, request_text: str, sample_name: str) -> None:
    ws = await okx.connect("private")
    await ws.send(request_text)
    assert_message(await recv_json(ws), sample_name)


async def test_notice_matches_okx(okx: OkxClient) -> None:
    ws = await okx.connect("public")
    await okx.subscribe(ws, {"channel": "tickers", "instId": BTC})
    okx.sim.faults.notice_upgrade("public")
    await okx.sim.drain()
    assert_message(
        await recv_until(ws, lambda m: m.get("event") == "notice"), "ws_notice_64008_docs"
    )


async def test_ws_order_operations_match_okx(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    await okx.login(ws)
    order = RESTING_BUY
    await ws.send(json.dumps({"id": "1512", "op": "order", "args": [order]}))
    placed = await recv_until(ws, lambda m: m.get("op") == "order")
    assert_message(placed, "ws_op_order_success_docs")
    await ws.send(json.dumps({"id": "1513", "op": "order", "args": [{**order, "sz": "0.001"}]}))
    refused = await recv_until(ws, lambda m: m.get("op") == "order")
    assert_message(refused, "ws_op_order_failure_docs")
    assert (refused["id"], refused["code"], refused["data"][0]["sCode"]) == ("1513", "1", "51121")
    cancel = {"instId": BTC, "ordId": placed["data"][0]["ordId"]}
    await ws.send(json.dumps({"id": "1514", "op": "cancel-order", "args": [cancel]}))
    canceled = await recv_until(ws, lambda m: m.get("op") == "cancel-order")
    assert canceled["data"][0]["sCode"] == "0"
    assert okx.sim.engine.orders[cancel["ordId"]].state == "canceled"


async def test_candles_match_okx(okx: OkxClient) -> None:
    ws = await okx.connect("business")
    await okx.subscribe(ws, {"channel": "candle1m", "instId": BTC})
    await okx.sim.advance(timedelta(seconds=61))
    candle = await recv_until(ws, lambda m: channel("candle1m")(m) and m["data"][0][8] == "1")
    assert_message(candle, "ws_candle_push_docs")
    _, rows = await okx.get("/api/v5/market/candles", {"instId": BTC, "bar": "1m"})
    assert [row[8] for row in rows["data"]] == ["0", "1"]  # newest first, forming bar included
    assert rows["data"][1] == candle["data"][0]
    _, history = await okx.get("/api/v5/market/history-candles", {"instId": BTC, "bar": "1m"})
    assert history["data"] == [candle["data"][0]]


async def test_close_order_algos_match_okx(okx: OkxClient) -> None:
    await okx.order(instId=BTC, side="buy", ordType="market", sz="1")
    await okx.algo(
        side="sell",
        ordType="conditional",
        closeFraction="1",
        reduceOnly=True,
        slTriggerPx="1000",
        slOrdPx="-1",
    )
    _, positions = await okx.get("/api/v5/account/positions")
    algos = positions["data"][0]["closeOrderAlgo"]
    assert len(algos) == 1
    docs = sample("ws_positions_push_snapshot_docs")["data"][0]["closeOrderAlgo"]
    for algo in algos:
        assert_shape(algo, docs)
