"""The WebSocket channels and ops third-party clients use: ``books``, ``balance_and_position``,
``fills`` (VIP-only), batch and mass-cancel ops, ``instIdCode`` on order ops."""

from __future__ import annotations

import json
import random
import zlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

from okx_test_client import OkxClient, channel, pending, recv_until, running
from websockets.asyncio.client import ClientConnection

from host.clock import EPOCH
from host.sim import SimConfig
from host.sim.depth import DepthFeed, checksum
from host.sim.instruments import DEFAULT_INSTRUMENTS
from host.sim.market import InstrumentMarket, wire_level
from host.sim.wire import num

BTC = "BTC-USDT-SWAP"


def okx_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """OKX's documented checksum, written out on its own: ``bid:sz:ask:sz`` over 25 levels."""
    pairs = []
    for i in range(25):
        if i < len(bids):
            pairs.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < len(asks):
            pairs.append(f"{asks[i][0]}:{asks[i][1]}")
    value = zlib.crc32(":".join(pairs).encode())
    return value - 2**32 if value > 2**31 - 1 else value


class LocalBook:
    """A client's copy of the ``books`` channel: snapshot, then updates applied by price."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.sides: dict[str, dict[str, list[str]]] = {
            side: {row[0]: row for row in snapshot[side]} for side in ("bids", "asks")
        }
        self.seq = snapshot["seqId"]

    def apply(self, update: dict[str, Any]) -> None:
        assert update["prevSeqId"] == self.seq, (update["prevSeqId"], self.seq)
        for side in ("bids", "asks"):
            for row in update[side]:
                if row[1] == "0":
                    del self.sides[side][row[0]]
                else:
                    self.sides[side][row[0]] = row
        self.seq = update["seqId"]

    def side(self, name: str) -> list[list[str]]:
        rows = self.sides[name].values()
        return sorted(rows, key=lambda row: Decimal(row[0]), reverse=name == "bids")

    def checksum(self) -> int:
        return okx_checksum(self.side("bids"), self.side("asks"))


def test_checksum_follows_okx_documented_example() -> None:
    # OKX's example: one bid, three asks -> "3366.1:7:3366.8:9:3368:8:3372:8"
    bids, asks = [["3366.1", "7", "0", "1"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]]
    expected = zlib.crc32(b"3366.1:7:3366.8:9:3368:8:3372:8")
    assert checksum(bids, asks) == (expected - 2**32 if expected >= 2**31 else expected)
    deep = [[str(1000 - i), "1"] for i in range(30)]
    assert checksum(deep, []) == okx_checksum(deep[:25], [])  # levels past 25 do not count
    assert checksum(deep, []) < 0  # signed, as OKX sends it


def test_an_update_carries_only_the_levels_that_changed() -> None:
    rng = random.Random(1)  # noqa: S311 -- a seeded synthetic book, not cryptography
    market = InstrumentMarket.open(DEFAULT_INSTRUMENTS[0], rng, 20, EPOCH)
    feed = DepthFeed()
    assert feed.update(market) is not None  # the state a snapshot would show
    best = market.book.asks[0]
    taken = best.sz + market.book.asks[1].sz / 2
    market.book.take("buy", taken, None)  # the best ask goes, the next one shrinks
    update = feed.update(market)
    assert update is not None
    assert update["bids"] == []
    assert update["asks"] == [wire_level(market.book.asks[0]), [num(best.px), "0", "0", "0"]]
    assert feed.update(market) is None  # nothing changed since


async def books_messages(okx: OkxClient, ws: ClientConnection) -> list[dict[str, Any]]:
    return [m for m in await pending(ws) if m.get("arg", {}).get("channel") == "books"]


async def test_books_snapshot_then_updates_rebuild_the_book_with_matching_checksums(
    okx: OkxClient,
) -> None:
    ws = await okx.connect("public")
    await okx.subscribe(ws, {"channel": "books", "instId": BTC})
    snapshot = await recv_until(ws, channel("books"))
    assert (snapshot["action"], snapshot["data"][0]["prevSeqId"]) == ("snapshot", -1)
    local = LocalBook(snapshot["data"][0])
    assert local.checksum() == snapshot["data"][0]["checksum"]
    book = okx.sim.engine.markets[BTC].book
    assert len(local.side("bids")) == len(book.bids)  # the whole synthetic book, not 5 levels

    await okx.order(instId=BTC, side="buy", ordType="market", sz="30")  # eats into the asks
    await okx.sim.advance(timedelta(seconds=3))
    updates = await books_messages(okx, ws)
    assert len(updates) > 3
    for message in updates:
        assert message["action"] == "update"
        update = message["data"][0]
        local.apply(update)
        assert local.checksum() == update["checksum"]
    assert local.seq == book.seq_id
    assert [row[:2] for row in local.side("asks")] == [
        [num(level.px), num(level.sz)] for level in book.asks
    ]


async def test_a_late_subscriber_gets_a_snapshot_its_updates_follow_on(okx: OkxClient) -> None:
    early = await okx.connect("public")
    await okx.subscribe(early, {"channel": "books", "instId": BTC})
    await okx.sim.advance(timedelta(seconds=1))
    await okx.order(instId=BTC, side="sell", ordType="market", sz="5")  # book moved, not pushed
    late = await okx.connect("public")
    await okx.subscribe(late, {"channel": "books", "instId": BTC})
    await okx.sim.advance(timedelta(seconds=2))
    for ws in (early, late):
        messages = [m for m in await pending(ws) if m.get("arg", {}).get("channel") == "books"]
        local = LocalBook(messages[0]["data"][0])
        for message in messages[1:]:
            local.apply(message["data"][0])  # asserts the prevSeqId chain
            assert local.checksum() == message["data"][0]["checksum"]


async def test_balance_and_position_snapshot_then_a_push_per_fill(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    await okx.login(ws)
    await okx.subscribe(ws, {"channel": "orders", "instType": "SWAP"})
    await okx.subscribe(ws, {"channel": "balance_and_position"})
    first = await recv_until(ws, channel("balance_and_position"))
    assert first["arg"]["uid"] == okx.key.uid
    item = first["data"][0]
    assert (item["eventType"], item["posData"], item["trades"]) == ("snapshot", [], [])
    assert item["balData"][0]["cashBal"] == "10000"

    await okx.order(instId=BTC, side="buy", ordType="market", sz="2")
    await okx.sim.advance(timedelta(milliseconds=200))
    messages = await pending(ws)
    fills = [
        (m["data"][0]["instId"], m["data"][0]["tradeId"])
        for m in messages
        if channel("orders")(m) and m["data"][0]["fillSz"] != "0"
    ]
    pushes = [m["data"][0] for m in messages if channel("balance_and_position")(m)]
    assert len(pushes) == 1  # aggregated: one push for the order's fills
    push = pushes[0]
    assert push["eventType"] == "filled"
    assert sorted((t["instId"], t["tradeId"]) for t in push["trades"]) == sorted(fills)
    position = push["posData"][0]
    assert (position["instId"], position["pos"], position["posSide"]) == (BTC, "2", "net")
    cash = okx.sim.engine.accounts[okx.key.uid].cash
    assert Decimal(push["balData"][0]["cashBal"]) == cash < 10000  # the taker fee was paid


async def test_funding_is_a_balance_and_position_push_without_trades() -> None:
    async with running(SimConfig(funding_interval=timedelta(minutes=1))) as okx:
        await okx.order(instId=BTC, side="buy", ordType="market", sz="2")
        ws = await okx.connect("private")
        await okx.login(ws)
        await okx.subscribe(ws, {"channel": "positions", "instType": "SWAP"})  # keeps it alive
        await okx.subscribe(ws, {"channel": "balance_and_position"})
        await recv_until(ws, channel("balance_and_position"))  # the snapshot
        await okx.sim.advance(timedelta(seconds=61))  # one settlement on the minute grid
        pushes = [m["data"][0] for m in await pending(ws) if channel("balance_and_position")(m)]
        assert [(p["eventType"], p["trades"]) for p in pushes] == [("funding_fee", [])]
        assert pushes[0]["posData"][0]["pos"] == "2"


async def test_vip_channels_are_refused_for_the_fee_tier_as_on_okx(okx: OkxClient) -> None:
    for kind, name, code in (
        ("private", "fills", "64003"),
        ("public", "books-l2-tbt", "60029"),
        ("public", "books50-l2-tbt", "60030"),
    ):
        ws = await okx.connect(kind)
        arg = {"channel": name, "instId": BTC}
        assert (await okx.subscribe(ws, arg))[0]["code"] == "60011"
        await okx.login(ws)
        assert (await okx.subscribe(ws, arg))[0]["code"] == code


async def op(ws: ClientConnection, name: str, *args: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps({"id": "r1", "op": name, "args": list(args)}))
    return await recv_until(ws, lambda m: m.get("op") == name)


async def test_batch_ops_place_amend_and_cancel_each_item_on_its_own(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    await okx.login(ws)
    bid = okx.sim.engine.markets[BTC].book.best_bid
    order = {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1"}
    placed = await op(
        ws,
        "batch-orders",
        {**order, "px": str(bid - 10), "clOrdId": "a1"},
        {**order, "px": str(bid - 20), "clOrdId": "a2"},
        {**order, "px": "-1", "clOrdId": "a3"},
    )
    assert (placed["id"], placed["code"]) == ("r1", "2")  # partly succeeded
    assert [item["sCode"] for item in placed["data"]] == ["0", "0", "51000"]
    ids = [item["ordId"] for item in placed["data"][:2]]
    amended = await op(
        ws,
        "batch-amend-orders",
        {"instId": BTC, "ordId": ids[0], "newSz": "3"},
        {"instId": BTC, "ordId": ids[1], "newPx": str(bid - 30)},
    )
    assert amended["code"] == "0"
    assert okx.sim.engine.orders[ids[0]].sz == 3
    canceled = await op(
        ws, "batch-cancel-orders", *({"instId": BTC, "ordId": ord_id} for ord_id in ids)
    )
    assert (canceled["code"], [i["ordId"] for i in canceled["data"]]) == ("0", ids)
    assert {okx.sim.engine.orders[i].state for i in ids} == {"canceled"}


async def test_mass_cancel_is_for_options_only(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    await okx.login(ws)
    done = await op(ws, "mass-cancel", {"instType": "OPTION", "instFamily": "BTC-USD"})
    assert (done["code"], done["data"]) == ("0", [{"result": True}])
    refused = await op(ws, "mass-cancel", {"instType": "SWAP", "instFamily": "BTC-USDT"})
    assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "51000")


async def test_order_ops_name_the_instrument_by_inst_id_code(okx: OkxClient) -> None:
    ws = await okx.connect("private")
    await okx.login(ws)
    code = okx.sim.engine.markets[BTC].inst.inst_id_code
    order = {"tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1"}
    placed = await op(ws, "order", {**order, "instIdCode": code})
    assert (placed["code"], placed["data"][0]["sCode"]) == ("0", "0")
    assert okx.sim.engine.orders[placed["data"][0]["ordId"]].inst_id == BTC
    unknown = await op(ws, "batch-orders", {**order, "instIdCode": 999999999})
    assert unknown["data"][0]["sCode"] == "51001"
