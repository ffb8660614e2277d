"""python-okx (OKX's own SDK), unchanged, against the simulator over REST.

python-okx signs with the wall clock and cannot be told otherwise, so the simulator starts at the
current time (as ``scalphost sim`` does) with a window wide enough for its clock to stand still
through the test. The SDK is synchronous (httpx): its calls run in a thread while the simulator
serves on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import okx.Account
import okx.MarketData
import okx.PublicData
import okx.Status
import okx.Trade
import pytest

from host.clock import LiveClock
from host.sim import TEST_KEY, SimConfig, Simulator

BTC = "BTC-USDT-SWAP"
pytestmark = [
    # python-okx 0.4.4 posts with httpx's deprecated data=<str>; not ours to change
    pytest.mark.filterwarnings(
        "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
    ),
    # and stamps its requests with datetime.utcnow(), deprecated since Python 3.12
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning"),
]


@dataclass
class Sdk:
    sim: Simulator
    trade: okx.Trade.TradeAPI
    account: okx.Account.AccountAPI
    market: okx.MarketData.MarketAPI
    public: okx.PublicData.PublicAPI
    status: okx.Status.StatusAPI

    async def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One SDK call (in a thread), checked for OKX's success code; its ``data``."""
        answer = await asyncio.to_thread(method, *args, **kwargs)
        assert answer["code"] == "0", answer
        return answer["data"]


@pytest.fixture
async def sdk() -> AsyncIterator[Sdk]:
    config = SimConfig(max_skew=timedelta(hours=1))
    async with Simulator(config, start=LiveClock().now()) as sim:
        await sim.advance(timedelta(seconds=3))
        keys = (TEST_KEY.api_key, TEST_KEY.secret_key, TEST_KEY.passphrase)
        common: dict[str, Any] = {"flag": "0", "domain": sim.urls.rest, "debug": False}
        clients = Sdk(
            sim,
            okx.Trade.TradeAPI(*keys, **common),
            okx.Account.AccountAPI(*keys, **common),
            okx.MarketData.MarketAPI(**common),
            okx.PublicData.PublicAPI(**common),
            okx.Status.StatusAPI(**common),
        )
        yield clients
        for client in (clients.trade, clients.account, clients.market, clients.public):
            client.close()  # each API object is an httpx.Client with its own pool
        clients.status.close()


async def test_market_data_and_reference(sdk: Sdk) -> None:
    instruments = await sdk.call(sdk.public.get_instruments, instType="SWAP")
    assert {i["instId"] for i in instruments} >= {BTC}
    ticker = (await sdk.call(sdk.market.get_ticker, instId=BTC))[0]
    book = (await sdk.call(sdk.market.get_orderbook, instId=BTC, sz="5"))[0]
    assert (ticker["bidPx"], ticker["askPx"]) == (book["bids"][0][0], book["asks"][0][0])
    assert await sdk.call(sdk.market.get_candlesticks, instId=BTC, bar="1m")
    assert await sdk.call(sdk.market.get_trades, instId=BTC, limit="3")
    mark = (await sdk.call(sdk.public.get_mark_price, instType="SWAP", instId=BTC))[0]
    assert Decimal(mark["markPx"]) == sdk.sim.engine.markets[BTC].mark
    band = (await sdk.call(sdk.public.get_price_limit, instId=BTC))[0]
    assert Decimal(band["sellLmt"]) < Decimal(mark["markPx"]) < Decimal(band["buyLmt"])
    assert await sdk.call(sdk.public.funding_rate_history, instId=BTC, limit="2")
    assert await sdk.call(sdk.status.status) == []


async def test_a_trading_session(sdk: Sdk) -> None:
    assert (await sdk.call(sdk.account.get_account_balance))[0]["totalEq"] == "10000"
    await sdk.call(sdk.account.set_leverage, instId=BTC, lever="5", mgnMode="cross")
    bid = sdk.sim.engine.markets[BTC].book.best_bid
    placed = await sdk.call(
        sdk.trade.place_order,
        instId=BTC,
        tdMode="cross",
        side="buy",
        ordType="post_only",
        sz="1",
        px=str(bid - 50),
    )
    ord_id = placed[0]["ordId"]
    await sdk.call(sdk.trade.amend_order, instId=BTC, ordId=ord_id, newPx=str(bid - 60))
    order = (await sdk.call(sdk.trade.get_order, instId=BTC, ordId=ord_id))[0]
    assert (order["state"], order["px"]) == ("live", str(bid - 60))
    await sdk.call(sdk.trade.cancel_order, instId=BTC, ordId=ord_id)
    await sdk.call(
        sdk.trade.place_order, instId=BTC, tdMode="cross", side="buy", ordType="market", sz="2"
    )
    position = (await sdk.call(sdk.account.get_positions, instId=BTC))[0]
    assert (position["pos"], position["lever"]) == ("2", "5")
    stop = await sdk.call(
        sdk.trade.place_algo_order,
        instId=BTC,
        tdMode="cross",
        side="sell",
        ordType="conditional",
        sz="2",
        slTriggerPx=str(bid - 1000),
        slOrdPx="-1",
        reduceOnly="true",
    )
    details = (await sdk.call(sdk.trade.get_algo_order_details, algoId=stop[0]["algoId"]))[0]
    assert (details["state"], details["slTriggerPx"]) == ("live", str(bid - 1000))
    await sdk.call(sdk.trade.close_positions, instId=BTC, mgnMode="cross")
    canceled = await sdk.call(sdk.trade.get_orders_history, instType="SWAP", state="canceled")
    assert [o["ordId"] for o in canceled] == [ord_id]
    filled = await sdk.call(sdk.trade.get_orders_history, instType="SWAP", state="filled")
    assert len(filled) == 2
    fills = await sdk.call(sdk.trade.get_fills_history, instType="SWAP")
    assert {f["ordId"] for f in fills} == {o["ordId"] for o in filled}
    await sdk.call(sdk.trade.cancel_algo_order, [{"instId": BTC, "algoId": stop[0]["algoId"]}])
    algos = await sdk.call(sdk.trade.order_algos_history, ordType="conditional", state="canceled")
    assert [(a["algoId"], a["actualSide"], a["ctVal"]) for a in algos] == [
        (stop[0]["algoId"], "sell", "0.01")
    ]
