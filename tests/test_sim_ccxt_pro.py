"""ccxt.pro's okx, unchanged, against the simulator's WebSockets: market data and the account.

A watch resolves on the next push, and the simulator pushes only while a test advances its clock,
so each watch runs as a task while the test steps the simulator until the task has its answer.
Every socket and request ccxt opened is checked to be on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from ccxt_harness import SYMBOL, CcxtSession, ccxt_session
from okx_test_client import OkxClient, pending
from test_sim_ws_channels import LocalBook

from host.clock import LiveClock
from host.sim import SimConfig

BTC = "BTC-USDT-SWAP"
STEP = timedelta(milliseconds=100)
WAIT = 10.0
"""Seconds (wall) a watch may take to be answered; far beyond what any takes."""
T = TypeVar("T")


@pytest.fixture
async def pro() -> AsyncIterator[CcxtSession]:
    config = SimConfig(max_skew=timedelta(hours=1), login_window=timedelta(hours=1))
    async with ccxt_session(config, pro=True, start=LiveClock().now()) as session:
        await session.exchange.load_markets()
        yield session
        assert session.exchange.clients  # the WebSocket side really was used
        assert session.hosts() == {"127.0.0.1"}, (session.urls, list(session.exchange.clients))


async def answered(cx: CcxtSession, watch: Awaitable[T]) -> T:
    """Step the simulator until ``watch`` resolves (it is answered by a push)."""
    task = asyncio.ensure_future(watch)
    async with asyncio.timeout(WAIT):
        while not task.done():
            await cx.sim.advance(STEP)
            await asyncio.sleep(0.01)  # let ccxt read what was written; not a timing assumption
    return task.result()


async def subscribed(cx: CcxtSession, channel: str) -> None:
    """Wait until ccxt's subscription to ``channel`` reached the simulator."""
    async with asyncio.timeout(WAIT):
        while not any(  # noqa: ASYNC110 -- a state of the simulator, not an event to await
            sub["channel"] == channel for s in cx.sim.hub.sessions for sub in s.subscriptions
        ):
            await asyncio.sleep(0.01)


async def test_watch_ticker_trades_and_order_book(pro: CcxtSession) -> None:
    ex, market = pro.exchange, pro.sim.engine.markets[BTC]
    ticker = await answered(pro, ex.watch_ticker(SYMBOL))
    assert ticker["symbol"] == SYMBOL
    assert ticker["bid"] < ticker["ask"]
    trades = await answered(pro, ex.watch_trades(SYMBOL))
    recent = {trade.trade_id for trade in market.recent}
    assert trades
    assert {trade["id"] for trade in trades} <= recent
    five = await answered(pro, ex.watch_order_book(SYMBOL, 5))  # the books5 channel
    assert (len(five["bids"]), len(five["asks"])) == (5, 5)
    assert five["bids"][0][0] < five["asks"][0][0]


async def test_watch_order_book_follows_the_books_channel_chain(pro: CcxtSession) -> None:
    """ccxt's default depth is the 400-level ``books`` channel; a broken chain raises in ccxt.

    A raw client subscribed alongside rebuilds the same book; ccxt's book at each ``nonce``
    (``seqId``) must be the one the raw client had at that ``seqId``.
    """
    ex = pro.exchange
    raw = OkxClient(pro.sim, pro.exchange.session)
    ws = await raw.connect("public")
    await raw.subscribe(ws, {"channel": "books", "instId": BTC})
    history: dict[int, tuple[list[list[str]], list[list[str]]]] = {}
    local: LocalBook | None = None
    book = None
    for _ in range(10):
        book = await answered(pro, ex.watch_order_book(SYMBOL))
        for message in await pending(ws):
            if message.get("arg", {}).get("channel") != "books":
                continue
            if local is None:
                local = LocalBook(message["data"][0])
            else:
                local.apply(message["data"][0])
            history[local.seq] = (local.side("bids")[:5], local.side("asks")[:5])
    assert book is not None
    bids, asks = history[book["nonce"]]
    assert [[Decimal(str(px)), Decimal(str(sz))] for px, sz in book["bids"][:5]] == [
        [Decimal(row[0]), Decimal(row[1])] for row in bids
    ]
    assert [[Decimal(str(px)), Decimal(str(sz))] for px, sz in book["asks"][:5]] == [
        [Decimal(row[0]), Decimal(row[1])] for row in asks
    ]
    await ws.close()


async def watched_after(
    cx: CcxtSession, channel: str, watch: Callable[[], Awaitable[T]], act: Awaitable[Any]
) -> T:
    """Start ``watch``, wait for its subscription, do ``act``, then step until it is answered."""
    task = asyncio.ensure_future(watch())
    await subscribed(cx, channel)
    await act
    return await answered(cx, task)


async def test_watch_orders_positions_and_balance_with_ws_orders(pro: CcxtSession) -> None:
    ex, sim = pro.exchange, pro.sim
    bid = float(sim.engine.markets[BTC].book.best_bid)
    # create_order_ws sends op "batch-orders" with instIdCode instead of instId
    orders = await watched_after(
        pro,
        "orders",
        lambda: ex.watch_orders(SYMBOL),
        ex.create_order_ws(SYMBOL, "limit", "buy", 1, bid - 100, {"postOnly": True}),
    )
    resting = orders[-1]
    assert (resting["status"], resting["price"], resting["amount"]) == ("open", bid - 100, 1)
    edited = await ex.edit_order_ws(resting["id"], SYMBOL, "limit", "buy", 2, bid - 200)
    assert edited["id"] == resting["id"]
    assert sim.engine.orders[resting["id"]].sz == 2
    await ex.cancel_order_ws(resting["id"], SYMBOL)
    assert sim.engine.orders[resting["id"]].state == "canceled"

    assert await answered(pro, ex.watch_positions([SYMBOL])) == []  # the snapshot: none yet
    await ex.create_order_ws(SYMBOL, "market", "buy", 3)
    positions = await answered(pro, ex.watch_positions([SYMBOL]))
    assert [(p["symbol"], p["side"], p["contracts"]) for p in positions][-1:] == [
        (SYMBOL, "long", 3)
    ]
    balance = await answered(pro, ex.watch_balance())
    account = sim.engine.accounts[pro.sim.config.keys[0].uid]
    total, free = Decimal(str(balance["USDT"]["total"])), Decimal(str(balance["USDT"]["free"]))
    assert abs(total - account.equity) < 1  # the mark moves between the push and now
    assert free < total < 10000  # margin in use; fees paid

    two = [
        await ex.create_order_ws(SYMBOL, "limit", "sell", 1, bid + 100 + i, {"postOnly": True})
        for i in range(2)
    ]
    canceled = await ex.cancel_orders_ws([order["id"] for order in two], SYMBOL)
    assert [order["id"] for order in canceled] == [order["id"] for order in two]
    assert {sim.engine.orders[order["id"]].state for order in two} == {"canceled"}


async def test_watch_ohlcv_and_my_trades(pro: CcxtSession) -> None:
    ex = pro.exchange
    bars = await answered(pro, ex.watch_ohlcv(SYMBOL, "1m"))  # the business connection
    assert bars
    assert bars[-1][0] % 60_000 == 0
    trades = await watched_after(
        pro,
        "orders",
        lambda: ex.watch_my_trades(SYMBOL),
        ex.create_order(SYMBOL, "market", "sell", 2),
    )
    ledger = {fill.trade_id for order in pro.sim.engine.orders.values() for fill in order.fills}
    assert trades
    assert {trade["id"] for trade in trades} <= ledger
    assert {trade["side"] for trade in trades} == {"sell"}
