"""The WebSocket client against a real local server that behaves like OKX's (okx_ws_stub.py).

Timings are shortened (pings after 0.2 s of silence) so the suite stays fast; nothing asserts on
how long anything took, only on what happened and in which order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from okx_ws_stub import SocketStub, serve_sockets
from samples import sample
from test_rest import credentials

from host.clock import LiveClock
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.exchange.errors import OkxAuthError
from host.exchange.events import ExchangeEvent, OrderPush, PositionsPush, TickerPush
from host.exchange.feed import ExchangeFeed
from host.exchange.health import ExchangeHealth
from host.exchange.ws import OkxSocket, Subscription
from host.settings import ExchangeSettings

FAST = ExchangeSettings(
    ping_interval_seconds=0.2,
    pong_timeout_seconds=0.2,
    reconnect_backoff_seconds=0.01,
    reconnect_backoff_max_seconds=0.05,
    login_timeout_seconds=2.0,
)
TICKERS = Subscription("tickers", inst_id="BTC-USDT-SWAP")
PRIVATE = (Subscription("orders", inst_type="SWAP"), Subscription("positions", inst_type="SWAP"))


class Client:
    """One socket running in the background, with what it delivered."""

    def __init__(self, socket: OkxSocket, received: list[ExchangeEvent]) -> None:
        self.socket = socket
        self.received = received

    def of(self, kind: type) -> list[ExchangeEvent]:
        return [event for event in self.received if isinstance(event, kind)]


@pytest.fixture
async def stub() -> AsyncIterator[tuple[SocketStub, str]]:
    server = SocketStub()
    async with serve_sockets(server) as url:
        yield server, url


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (at most 5 s) until ``condition`` holds: it reads state of the server or client."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 -- the conditions span two programs; no one Event
            await asyncio.sleep(0.01)


async def running(
    url: str,
    subscriptions: tuple[Subscription, ...],
    *,
    private: bool = False,
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
    filtered: bool = False,
    stale_seconds: float = 30.0,
) -> tuple[Client, asyncio.Task[None]]:
    received: list[ExchangeEvent] = []
    clock = LiveClock()
    sink: Callable[[tuple[ExchangeEvent, ...]], None] = received.extend
    if filtered:
        sink = ExchangeFeed(
            received.append, PrivateEventDedup(100, 60, clock), MarketDataWatermark()
        )
    socket = OkxSocket(
        url,
        subscriptions,
        sink,
        FAST.model_copy(update={"market_data_stale_seconds": stale_seconds}),
        clock,
        ExchangeHealth(clock),
        credentials=credentials() if private else None,
        on_reconnected=on_reconnected,
    )
    task = asyncio.create_task(socket.run())
    await asyncio.wait_for(socket.ready.wait(), 5)
    return Client(socket, received), task


async def stopped(client: Client, task: asyncio.Task[None]) -> None:
    await client.socket.stop()
    await asyncio.wait_for(task, 5)


async def test_public_pushes_are_decoded_and_delivered(stub: tuple[SocketStub, str]) -> None:
    server, url = stub
    client, task = await running(f"{url}/ws/v5/public", (TICKERS,))
    await server.push(sample("ws_tickers_push_swap_real_cryptofeed.json"))
    await eventually(lambda: bool(client.of(TickerPush)))
    assert client.of(TickerPush)[0].tick.last == Decimal("5.123")
    assert client.socket.decoder.malformed == 0
    await stopped(client, task)
    assert server.events("closed") == [1]


async def test_private_subscriptions_wait_for_the_login_acknowledgement(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    server.login_delay_seconds = 0.3
    client, task = await running(f"{url}/ws/v5/private", PRIVATE, private=True)
    steps = [happened for _, happened in server.log if happened != "ping"]
    assert steps == ["open", "login", "login-ok", "subscribe"]
    await stopped(client, task)


async def test_a_refused_login_stops_with_the_cause(stub: tuple[SocketStub, str]) -> None:
    server, url = stub
    clock = LiveClock()
    bad = credentials("wrong")
    socket = OkxSocket(
        f"{url}/ws/v5/private",
        PRIVATE,
        lambda _: None,
        FAST,
        clock,
        ExchangeHealth(clock),
        credentials=bad,
    )
    with pytest.raises(OkxAuthError) as refused:
        await asyncio.wait_for(socket.run(), 5)
    assert refused.value.code == "60009"
    assert server.events("subscribe") == []


async def test_reconnect_logs_in_then_resubscribes_then_resyncs(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    order: list[str] = []

    async def resync() -> None:
        order.append("resync")
        server.log.append((0, "resync"))

    client, task = await running(
        f"{url}/ws/v5/private", PRIVATE, private=True, on_reconnected=resync
    )
    assert order == []  # the first connection needs no resync
    await server.drop()
    await eventually(lambda: order == ["resync"])
    second = [happened for number, happened in server.log if number in (2, 0)]
    assert second == ["open", "login", "login-ok", "subscribe", "resync"]
    assert client.socket._health.reconnects == 1
    await stopped(client, task)


async def test_service_upgrade_notice_hands_over_without_a_gap(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    client, task = await running(f"{url}/ws/v5/public", (TICKERS,))
    await server.push(sample("ws_notice_64008_docs.json"), connection=1)
    await eventually(lambda: server.events("subscribe") == [1, 2])
    await eventually(lambda: 1 not in server.open_connections())
    # The old connection closed only after the new one subscribed.
    assert server.log.index((2, "subscribe")) < server.log.index((1, "closed"))
    await server.push(sample("ws_tickers_push_swap_real_cryptofeed.json"), connection=2)
    await eventually(lambda: bool(client.of(TickerPush)))
    await stopped(client, task)


async def test_silence_sends_a_ping_and_a_missing_pong_reconnects(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    client, task = await running(f"{url}/ws/v5/public", (TICKERS,))
    await eventually(lambda: 1 in server.events("ping"))  # idle: a text ping went out
    assert client.socket.connections_opened == 1  # and its pong kept the connection
    server.answer_pings = False
    await eventually(lambda: client.socket.connections_opened == 2)
    assert server.events("subscribe") == [1, 2]
    await stopped(client, task)


async def test_a_silent_market_stream_on_a_busy_connection_reconnects(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    eth = Subscription("tickers", inst_id="ETH-USDT-SWAP")
    client, task = await running(f"{url}/ws/v5/public", (TICKERS, eth), stale_seconds=0.5)
    ticker = sample("ws_tickers_push_swap_real_cryptofeed.json")
    ticker["data"][0]["instId"] = "BTC-USDT-SWAP"
    stamp = int(ticker["data"][0]["ts"])
    async with asyncio.timeout(5):
        while client.socket.connections_opened == 1:  # BTC keeps flowing, ETH never comes
            stamp += 1
            ticker["data"][0]["ts"] = str(stamp)
            await server.push(ticker, connection=1)
            await asyncio.sleep(0.05)
    assert client.socket._health.message_age("tickers:BTC-USDT-SWAP") is not None
    assert client.socket._health.message_age("tickers:ETH-USDT-SWAP") is None
    await stopped(client, task)


async def test_duplicated_and_reordered_pushes_reach_the_engine_once(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    client, task = await running(f"{url}/ws/v5/private", PRIVATE, private=True, filtered=True)
    order = sample("ws_orders_push_swap_market_filled_nautilus.json")
    resent = sample("ws_orders_push_swap_market_filled_nautilus.json")
    resent["data"][0]["uTime"] = "1746947317999"  # OKX's re-sends may carry another uTime
    position = sample("ws_positions_push_swap_net_real_ccxt.json")
    newer = sample("ws_tickers_push_swap_real_cryptofeed.json")
    older = sample("ws_tickers_push_swap_real_cryptofeed.json")
    older["data"][0]["ts"] = str(int(newer["data"][0]["ts"]) - 100)
    older["data"][0]["last"] = "5.000"
    for message in (order, resent, order, position, position, newer, older, newer):
        await server.push(message)
    await server.push(sample("ws_mark_price_push_docs.json"))  # a marker: all above arrived
    await eventually(lambda: len(client.received) >= 4)
    await asyncio.sleep(0.05)
    assert len(client.of(OrderPush)) == 1
    assert len(client.of(PositionsPush)) == 1
    (ticker,) = client.of(TickerPush)
    assert ticker.tick.last == Decimal("5.123")  # the older ticker, arriving late, was dropped
    await stopped(client, task)
