"""The WebSocket client against a real local server that behaves like OKX's (okx_ws_stub.py).

Timings are shortened (pings after 0.2 s of silence) so the suite stays fast; nothing asserts on
how long anything took, only on what happened and in which order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from okx_ws_stub import SocketStub, serve_sockets
from samples import UNI_MARK, sample
from test_rest import credentials

from host.clock import LiveClock
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.exchange.credibility import PriceCredibility
from host.exchange.errors import OkxAuthError, OkxRateLimited, OkxRejected, OkxUnavailable
from host.exchange.events import (
    ExchangeEvent,
    MarkPricePush,
    OrderPush,
    PositionsPush,
    TickerPush,
)
from host.exchange.feed import ExchangeFeed
from host.exchange.health import ExchangeHealth
from host.exchange.ws import OkxSocket, Subscription
from host.settings import CredibilitySettings, ExchangeSettings

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
    on_link: Callable[[str, str | None], None] | None = None,
    filtered: bool = False,
    stale_seconds: float = 30.0,
    ping_interval_seconds: float = FAST.ping_interval_seconds,
    measure_clock: Callable[[], Awaitable[object]] | None = None,
) -> tuple[Client, asyncio.Task[None]]:
    received: list[ExchangeEvent] = []
    clock = LiveClock()
    sink: Callable[[tuple[ExchangeEvent, ...]], None] = received.extend
    if filtered:
        sink = ExchangeFeed(
            received.append,
            PrivateEventDedup(100, 60, clock),
            MarketDataWatermark(),
            PriceCredibility(CredibilitySettings(), clock),
        )
    socket = OkxSocket(
        url,
        subscriptions,
        sink,
        FAST.model_copy(
            update={
                "stream_stale_seconds": stale_seconds,
                "ping_interval_seconds": ping_interval_seconds,
            }
        ),
        clock,
        ExchangeHealth(clock),
        credentials=credentials() if private else None,
        on_reconnected=on_reconnected,
        on_link=on_link,
        measure_clock=measure_clock,
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
    # The server reads on while a login is pending, so an early subscribe would show here.
    assert server.events("refused-before-login") == []
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


async def test_a_login_refused_for_the_clock_is_retried(stub: tuple[SocketStub, str]) -> None:
    server, url = stub
    server.refuse_logins = ["60006", "63999"]  # timestamp expired, then an OKX internal error
    client, task = await running(f"{url}/ws/v5/private", PRIVATE, private=True)
    assert [e for _, e in server.log if e.startswith("login-")] == [
        "login-refused-60006",
        "login-refused-63999",
        "login-ok",
    ]
    await stopped(client, task)


async def test_a_login_refused_for_the_clock_waits_out_a_clock_it_cannot_measure_yet(
    stub: tuple[SocketStub, str],
) -> None:
    """OKX's time endpoint rate-limited just then: log in again later, do not give up."""
    server, url = stub
    server.refuse_logins = ["60006", "60006"]
    measured: list[str] = []

    async def measure_clock() -> None:
        measured.append("asked")
        if len(measured) == 1:
            raise OkxRateLimited("50011", "Rate limit reached.", path="/api/v5/public/time")

    client, task = await running(
        f"{url}/ws/v5/private", PRIVATE, private=True, measure_clock=measure_clock
    )
    assert measured == ["asked", "asked"]
    assert [e for _, e in server.log if e.startswith("login-")] == [
        "login-refused-60006",
        "login-refused-60006",
        "login-ok",
    ]
    await stopped(client, task)


async def test_a_refused_subscription_stops_the_socket(stub: tuple[SocketStub, str]) -> None:
    server, url = stub
    server.unknown_channels = {"tickers"}
    clock = LiveClock()
    socket = OkxSocket(
        f"{url}/ws/v5/public", (TICKERS,), lambda _: None, FAST, clock, ExchangeHealth(clock)
    )
    with pytest.raises(OkxRejected) as refused:
        await asyncio.wait_for(socket.run(), 5)
    assert refused.value.code == "60018"
    assert server.open_connections() == []


async def test_a_failed_resync_is_another_lost_connection_not_a_crash(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    attempts: list[int] = []

    async def flaky_resync() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OkxUnavailable("50001", "Service temporarily unavailable")

    client, task = await running(
        f"{url}/ws/v5/private", PRIVATE, private=True, on_reconnected=flaky_resync
    )
    await server.drop()
    await eventually(lambda: len(attempts) == 2 and client.socket.ready.is_set())
    assert client.socket.connections_opened == 3
    assert not task.done()
    await stopped(client, task)


async def test_stop_ends_run_at_once_even_during_a_long_back_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)  # the back-off's warning is what the test waits for
    clock = LiveClock()
    slow = FAST.model_copy(
        update={"reconnect_backoff_seconds": 60, "reconnect_backoff_max_seconds": 60}
    )
    socket = OkxSocket(
        "ws://127.0.0.1:9/ws/v5/public",
        (TICKERS,),
        lambda _: None,
        slow,
        clock,
        ExchangeHealth(clock),
    )
    task = asyncio.create_task(socket.run())
    await eventually(lambda: any("retry in" in r.getMessage() for r in caplog.records))
    await socket.stop()
    await asyncio.wait_for(task, 1)


def test_the_back_off_is_capped_and_never_overflows() -> None:
    clock = LiveClock()
    socket = OkxSocket("ws://x", (), lambda _: None, FAST, clock, ExchangeHealth(clock))
    delays = [socket._backoff.delay(failures) for failures in (0, 1, 2, 10, 5000)]
    assert all(0 < delay <= FAST.reconnect_backoff_max_seconds for delay in delays)
    assert delays[0] <= FAST.reconnect_backoff_seconds


async def test_no_secret_or_signature_is_logged_even_at_debug(
    stub: tuple[SocketStub, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, url = stub
    caplog.set_level(logging.DEBUG)
    client, task = await running(f"{url}/ws/v5/private", PRIVATE, private=True)
    await server.drop()
    await eventually(lambda: client.socket.connections_opened == 2 and client.socket.ready.is_set())
    await stopped(client, task)
    creds = credentials()
    secrets = [value.get_secret_value() for _, value in creds if value is not None]
    assert caplog.text  # the reconnect was logged
    for secret in secrets:
        assert secret not in caplog.text
    assert '"sign"' not in caplog.text
    assert '"op"' not in caplog.text  # no frame we sent was logged


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


async def test_each_outage_is_announced_once_lost_and_once_restored(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    changes: list[tuple[str, bool]] = []
    client, task = await running(
        f"{url}/ws/v5/public",
        (TICKERS,),
        on_link=lambda where, lost: changes.append((where, lost is not None)),
    )
    assert changes == []  # the first connection is no restoration
    for outage in (1, 2):
        await server.drop()
        await eventually(lambda n=outage: len(changes) == 2 * n and client.socket.ready.is_set())
    public = f"{url}/ws/v5/public"
    assert changes == [(public, True), (public, False), (public, True), (public, False)]
    await stopped(client, task)
    assert len(changes) == 4  # stopping is no outage


async def test_service_upgrade_notice_hands_over_without_a_gap(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    client, task = await running(f"{url}/ws/v5/public", (TICKERS,))
    server.login_delay_seconds = 0  # public: no login; the replacement subscribes at once
    await server.push(sample("ws_notice_64008_docs.json"), connection=1)
    await server.push(sample("ws_tickers_push_swap_real_cryptofeed.json"), connection=1)
    await eventually(lambda: server.events("subscribe") == [1, 2])
    await eventually(lambda: 1 not in server.open_connections())
    # The old connection closed only after the new one subscribed, and what it sent meanwhile
    # was delivered.
    assert server.log.index((2, "subscribe")) < server.log.index((1, "closed"))
    assert len(client.of(TickerPush)) == 1
    await stopped(client, task)


async def test_a_failed_replacement_keeps_the_old_connection(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    client, task = await running(f"{url}/ws/v5/private", PRIVATE, private=True)
    server.refuse_logins = ["63999"]  # the replacement's login fails
    await server.push(sample("ws_notice_64008_docs.json"), connection=1)
    await eventually(lambda: "login-refused-63999" in [e for _, e in server.log])
    assert 1 in server.open_connections()  # still serving until OKX closes it: a push proves it
    await server.push(sample("ws_orders_push_swap_market_filled_nautilus.json"), connection=1)
    await eventually(lambda: bool(client.of(OrderPush)))
    await stopped(client, task)


async def test_silence_sends_a_ping_and_a_missing_pong_reconnects(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    client, task = await running(f"{url}/ws/v5/public", (TICKERS,))
    await eventually(lambda: 1 in server.events("ping"))  # idle: a text ping went out
    assert client.socket.connections_opened == 1  # and its pong kept the connection
    server.answer_pings = False
    # the second connection counts as opened before it subscribes: wait for the subscription
    await eventually(lambda: server.events("subscribe") == [1, 2])
    assert client.socket.connections_opened == 2
    await stopped(client, task)


async def test_a_round_trip_whose_pong_never_came_leaves_the_next_pong_to_the_next_one(
    stub: tuple[SocketStub, str],
) -> None:
    """A lost pong costs one round trip its time-out, not every round trip after it."""
    server, url = stub
    client, task = await running(f"{url}/ws/v5/public", (TICKERS,), ping_interval_seconds=30.0)
    server.answer_pings = False
    assert not await client.socket.round_trip()  # no pong within pong_timeout_seconds
    server.answer_pings = True
    assert await client.socket.round_trip()
    assert await client.socket.round_trip()
    assert client.socket.connections_opened == 1
    await stopped(client, task)


async def test_a_silent_mark_price_on_a_busy_connection_reconnects(
    stub: tuple[SocketStub, str],
) -> None:
    server, url = stub
    marks = (
        Subscription("mark-price", inst_id="BTC-USDT-SWAP"),
        Subscription("mark-price", inst_id="ETH-USDT-SWAP"),
    )
    client, task = await running(f"{url}/ws/v5/public", marks, stale_seconds=0.5)
    mark = sample("ws_mark_price_push_docs.json")
    mark["data"][0]["instId"] = "BTC-USDT-SWAP"
    stamp = int(mark["data"][0]["ts"])
    async with asyncio.timeout(5):
        while client.socket.connections_opened == 1:  # BTC keeps flowing, ETH never comes
            stamp += 1
            mark["data"][0]["ts"] = str(stamp)
            await server.push(mark, connection=1)
            await asyncio.sleep(0.05)
    assert client.socket._health.message_age("mark-price:BTC-USDT-SWAP") is not None
    assert client.socket._health.message_age("mark-price:ETH-USDT-SWAP") is None
    await stopped(client, task)


async def test_quiet_channels_other_than_the_mark_price_never_force_a_reconnect(
    stub: tuple[SocketStub, str],
) -> None:
    _, url = stub
    client, task = await running(f"{url}/ws/v5/public", (TICKERS,), stale_seconds=0.3)
    await asyncio.sleep(1.2)  # no ticker at all: an illiquid pair is quiet, not dead
    assert client.socket.connections_opened == 1
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
    for message in (UNI_MARK, order, resent, order, position, position, newer, older, newer):
        await server.push(message)
    marker = sample("ws_mark_price_push_docs.json")
    await server.push(marker)  # pushed last on the same connection: once here, all above are
    await eventually(lambda: any(m.inst_id == "LTC-USD-190628" for m in client.of(MarkPricePush)))
    assert len(client.of(OrderPush)) == 1
    assert len(client.of(PositionsPush)) == 1
    (ticker,) = client.of(TickerPush)
    assert ticker.tick.last == Decimal("5.123")  # the older ticker, arriving late, was dropped
    await stopped(client, task)
