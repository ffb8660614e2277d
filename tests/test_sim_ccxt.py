"""ccxt's okx, unchanged, against the simulator: markets with keys, data, trading, stops, history.

Each test drives ccxt's public methods (and, where ccxt has no unified method, its generated
endpoint methods) and checks what ccxt made of the answers; none patches ccxt. The simulator is
the in-process one the other simulator tests use, on 127.0.0.1, and every URL ccxt requested is
checked to be there.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import ccxt
import pytest
from ccxt_harness import SYMBOL, CcxtSession, ccxt_session

BTC = "BTC-USDT-SWAP"


@pytest.fixture
async def cx() -> CcxtSession:  # type: ignore[misc]
    async with ccxt_session() as session:
        yield session  # type: ignore[misc]
        assert session.hosts() == {"127.0.0.1"}, session.urls


async def test_markets_load_with_keys_and_market_data_reads(cx: CcxtSession) -> None:
    ex = cx.exchange
    markets = await ex.load_markets()
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT"} <= set(markets)
    assert "USDT" in ex.currencies  # GET /asset/currencies, called because keys are set
    book = cx.sim.engine.markets[BTC].book
    ticker = await ex.fetch_ticker(SYMBOL)
    assert (Decimal(str(ticker["bid"])), Decimal(str(ticker["ask"]))) == (
        book.best_bid,
        book.best_ask,
    )
    assert await ex.fetch_tickers(params={"type": "spot"}) == {}  # the sim lists no spot pairs
    assert set(await ex.fetch_tickers()) == {
        f"{c}/USDT:USDT" for c in ("BTC", "ETH", "SOL", "DOGE")
    }
    order_book = await ex.fetch_order_book(SYMBOL, 5)
    assert order_book["bids"][0][0] == float(book.best_bid)
    trades = await ex.fetch_trades(SYMBOL, limit=5)
    assert len(trades) == 5
    assert trades[-1]["id"] == cx.sim.engine.markets[BTC].recent[-1].trade_id
    history = await ex.fetch_trades(SYMBOL, params={"method": "publicGetMarketHistoryTrades"})
    assert history


async def test_ohlcv_pages_with_since_and_until(cx: CcxtSession) -> None:
    await cx.sim.advance(timedelta(minutes=6))
    ex = cx.exchange
    await ex.load_markets()
    bars = await ex.fetch_ohlcv(SYMBOL, "1m")
    assert len(bars) >= 6
    assert [b[0] for b in bars] == sorted(b[0] for b in bars)
    since = bars[-5][0]
    later = await ex.fetch_ohlcv(SYMBOL, "1m", since=since, limit=3)
    assert [b[0] for b in later] == [since, since + 60_000, since + 120_000]
    earlier = await ex.fetch_ohlcv(SYMBOL, "1m", params={"until": since})
    assert earlier
    assert max(b[0] for b in earlier) < since


async def test_a_trading_session(cx: CcxtSession) -> None:
    ex = cx.exchange
    await ex.load_markets()
    await ex.set_position_mode(False, SYMBOL)
    await ex.set_leverage(5, SYMBOL, {"marginMode": "cross"})  # ccxt sends "lever": 5 (a number)
    leverage = await ex.fetch_leverage(SYMBOL, {"marginMode": "cross"})
    assert leverage["longLeverage"] == 5
    bid = float(cx.sim.engine.markets[BTC].book.best_bid)

    resting = await ex.create_order(SYMBOL, "limit", "buy", 1, bid - 100, {"postOnly": True})
    edited = await ex.edit_order(resting["id"], SYMBOL, "limit", "buy", 2, bid - 200)
    assert edited["id"] == resting["id"]
    fetched = await ex.fetch_order(resting["id"], SYMBOL)
    assert (fetched["status"], fetched["amount"], fetched["price"]) == ("open", 2, bid - 200)
    assert fetched["postOnly"] is True
    assert [o["id"] for o in await ex.fetch_open_orders(SYMBOL)] == [resting["id"]]
    await ex.cancel_order(resting["id"], SYMBOL)
    assert (await ex.fetch_order(resting["id"], SYMBOL))["status"] == "canceled"

    opened = await ex.create_order(SYMBOL, "market", "buy", 1)
    assert (await ex.fetch_order(opened["id"], SYMBOL))["status"] == "closed"
    positions = await ex.fetch_positions([SYMBOL])
    assert [(p["symbol"], p["side"], p["contracts"]) for p in positions] == [(SYMBOL, "long", 1)]
    assert positions[0]["leverage"] == 5
    assert positions[0]["liquidationPrice"] is not None
    balance = await ex.fetch_balance()
    assert 0 < balance["USDT"]["free"] < balance["USDT"]["total"]

    closed = await ex.create_order(SYMBOL, "market", "sell", 1, None, {"reduceOnly": True})
    assert (await ex.fetch_order(closed["id"], SYMBOL))["reduceOnly"] is True
    assert await ex.fetch_positions() == []
    with pytest.raises(ccxt.ExchangeError, match="51169"):  # nothing left to reduce
        await ex.create_order(SYMBOL, "market", "sell", 1, None, {"reduceOnly": True})
    mine = await ex.fetch_my_trades(SYMBOL)
    assert {t["order"] for t in mine} == {opened["id"], closed["id"]}
    assert all(t["fee"]["cost"] > 0 for t in mine)


async def test_conditional_and_trigger_stops_and_their_lookup(cx: CcxtSession) -> None:
    ex = cx.exchange
    await ex.load_markets()
    last = float(cx.sim.engine.markets[BTC].last)
    await ex.create_order(SYMBOL, "market", "buy", 1)
    stop = await ex.create_order(
        SYMBOL, "market", "sell", 1, None, {"stopLossPrice": last - 500, "reduceOnly": True}
    )
    trigger = await ex.create_order(
        SYMBOL, "limit", "buy", 1, last + 100, {"triggerPrice": last + 90}
    )
    found = await ex.fetch_order(stop["id"], SYMBOL, {"trigger": True})
    assert (found["id"], found["status"], found["stopLossPrice"]) == (
        stop["id"],
        "open",
        last - 500,
    )
    found = await ex.fetch_order(trigger["id"], SYMBOL, {"trigger": True})
    assert (found["triggerPrice"], found["price"]) == (last + 90, last + 100)
    pending = await ex.fetch_open_orders(SYMBOL, params={"ordType": "conditional"})
    assert [o["id"] for o in pending] == [stop["id"]]
    await ex.cancel_order(trigger["id"], SYMBOL, {"trigger": True})
    canceled = await ex.fetch_canceled_orders(SYMBOL, params={"ordType": "trigger"})
    assert [o["id"] for o in canceled] == [trigger["id"]]
    assert canceled[0]["info"]["ctVal"] == "0.01"

    cx.sim.faults.shock_market(BTC, -2)  # through the stop
    await cx.sim.advance(timedelta(seconds=1))
    fired = await ex.fetch_order(stop["id"], SYMBOL, {"trigger": True})
    assert fired["info"]["state"] == "effective"
    assert [p["contracts"] for p in await ex.fetch_positions([SYMBOL])] == [0]  # flat, listed


async def test_attached_take_profit_and_stop_loss_are_placed_after_the_fill(
    cx: CcxtSession,
) -> None:
    ex = cx.exchange
    await ex.load_markets()
    last = float(cx.sim.engine.markets[BTC].last)
    order = await ex.create_order(
        SYMBOL,
        "market",
        "buy",
        1,
        None,
        {"takeProfit": {"triggerPrice": last + 1000}, "stopLoss": {"triggerPrice": last - 1000}},
    )
    info = (await ex.fetch_order(order["id"], SYMBOL))["info"]["attachAlgoOrds"]
    assert [(a["tpTriggerPx"], a["slTriggerPx"]) for a in info] == [
        (str(last + 1000), str(last - 1000))
    ]
    oco = await ex.fetch_open_orders(SYMBOL, params={"ordType": "oco"})
    assert [(o["id"], o["side"], o["amount"], o["reduceOnly"]) for o in oco] == [
        (info[0]["attachAlgoId"], "sell", 1, True)
    ]


async def test_canceled_and_closed_orders_filter_and_page(cx: CcxtSession) -> None:
    ex = cx.exchange
    await ex.load_markets()
    bid = float(cx.sim.engine.markets[BTC].book.best_bid)
    canceled_ids = []
    for step in range(5):
        resting = await ex.create_order(SYMBOL, "limit", "buy", 1, bid - 10 * (step + 1))
        await ex.cancel_order(resting["id"], SYMBOL)
        canceled_ids.append(resting["id"])
        await ex.create_order(SYMBOL, "market", "buy", 1)
    newest_first = canceled_ids[::-1]
    first = await ex.fetch_canceled_orders(SYMBOL, limit=2)
    assert [o["id"] for o in first] == newest_first[:2]  # same timestamps: OKX's order is kept
    second = await ex.fetch_canceled_orders(SYMBOL, limit=2, params={"after": newest_first[1]})
    assert [o["id"] for o in second] == newest_first[2:4]
    back = await ex.fetch_canceled_orders(SYMBOL, limit=2, params={"before": newest_first[3]})
    assert [o["id"] for o in back] == newest_first[1:3]
    closed = await ex.fetch_closed_orders(SYMBOL)
    assert len(closed) == 5
    assert {o["status"] for o in closed} == {"closed"}
    assert {o["type"] for o in closed} == {"market"}
    limits = await ex.fetch_closed_orders(SYMBOL, params={"ordType": "limit"})
    assert limits == []
    fills = await ex.fetch_my_trades(SYMBOL)
    older = await ex.fetch_my_trades(SYMBOL, params={"after": fills[-1]["info"]["billId"]})
    assert [t["id"] for t in older] == [t["id"] for t in fills[:-1]]


async def test_a_limit_far_from_the_mark_is_refused_as_okx_does(cx: CcxtSession) -> None:
    ex = cx.exchange
    await ex.load_markets()
    band = (await ex.public_get_public_price_limit({"instId": BTC}))["data"][0]
    ask = float(cx.sim.engine.markets[BTC].book.best_ask)
    with pytest.raises(ccxt.ExchangeError, match="51006"):
        await ex.create_order(SYMBOL, "limit", "buy", 1, ask * 1.5)
    with pytest.raises(ccxt.ExchangeError, match="51006"):
        await ex.create_order(SYMBOL, "limit", "buy", 1, float(band["buyLmt"]) + 0.1)
    at_edge = await ex.create_order(SYMBOL, "limit", "buy", 1, float(band["buyLmt"]))
    assert (await ex.fetch_order(at_edge["id"], SYMBOL))["status"] == "closed"  # crossed, filled
    with pytest.raises(ccxt.ExchangeError, match="51006"):
        await ex.create_order(SYMBOL, "limit", "sell", 1, float(band["sellLmt"]) - 0.1)


async def test_lookups_third_party_clients_call(cx: CcxtSession) -> None:
    ex = cx.exchange
    await ex.load_markets()
    mark = await ex.fetch_mark_price(SYMBOL)
    assert Decimal(str(mark["markPrice"])) == cx.sim.engine.markets[BTC].mark
    assert (await ex.fetch_status())["status"] == "ok"
    funding = await ex.fetch_funding_rate_history(SYMBOL, limit=3)
    assert [f["fundingRate"] for f in funding] == [0.0001] * 3
    assert funding[1]["timestamp"] - funding[0]["timestamp"] == 8 * 3600 * 1000
    max_size = (await ex.private_get_account_max_size({"instId": BTC, "tdMode": "cross"}))["data"]
    # 10000 USDT at 10x over 0.01 BTC a contract at ~65000: about 153 contracts
    assert 150 < float(max_size[0]["maxBuy"]) < 156
    positions = await ex.fetch_positions()
    assert positions == []
