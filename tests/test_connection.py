"""The whole link (REST + three sockets) against local OKX-like servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from okx_stub import API_KEY, PASSPHRASE, SECRET_KEY, OkxStub, serve
from okx_ws_stub import SocketStub, serve_sockets
from pydantic import SecretStr
from samples import UNI_MARK, sample
from test_ws import FAST, eventually

from host.clock import LiveClock
from host.exchange.connection import ExchangeSnapshot, OkxConnection
from host.exchange.events import ExchangeEvent, TickerPush
from host.settings import Credentials, Settings


class Link:
    def __init__(self, rest: OkxStub, ws: SocketStub, connection: OkxConnection) -> None:
        self.rest, self.ws, self.connection = rest, ws, connection
        self.events: list[ExchangeEvent] = []
        self.snapshots: list[ExchangeSnapshot] = []


@pytest.fixture
async def link() -> AsyncIterator[Link]:
    rest, ws = OkxStub(), SocketStub()
    settings = Settings(
        instruments=("BTC-USDT-SWAP",),
        exchange=FAST,
        credentials=Credentials(
            api_key=SecretStr(API_KEY),
            secret_key=SecretStr(SECRET_KEY),
            passphrase=SecretStr(PASSPHRASE),
        ),
    )
    async with (
        serve(rest) as rest_url,
        serve_sockets(ws) as ws_url,
        aiohttp.ClientSession() as session,
    ):
        events: list[ExchangeEvent] = []
        snapshots: list[ExchangeSnapshot] = []

        async def on_resync(snapshot: ExchangeSnapshot) -> None:
            snapshots.append(snapshot)

        connection = OkxConnection(
            session,
            settings,
            LiveClock(),
            events.append,
            on_resync,
            rest_url=rest_url,
            ws_url=ws_url,
        )
        result = Link(rest, ws, connection)
        result.events, result.snapshots = events, snapshots
        running = asyncio.create_task(connection.run())
        await asyncio.wait_for(connection.wait_ready(), 5)
        yield result
        await connection.stop()
        await asyncio.wait_for(running, 5)


async def test_three_sockets_with_their_subscriptions(link: Link) -> None:
    paths = sorted(link.ws.paths.values())
    assert paths == ["/ws/v5/business", "/ws/v5/private", "/ws/v5/public"]
    assert link.ws.events("login-ok") == sorted(
        number for number, path in link.ws.paths.items() if not path.endswith("public")
    )
    assert link.rest.count("GET", "/api/v5/public/time") == 1  # the clock offset, measured once


async def test_a_push_seen_on_two_connections_reaches_the_engine_once(link: Link) -> None:
    ticker = sample("ws_tickers_push_swap_real_cryptofeed.json")
    for number in link.ws.open_connections():
        await link.ws.push(UNI_MARK, connection=number)
        await link.ws.push(ticker, connection=number)
    await link.ws.push(sample("ws_mark_price_push_docs.json"))
    await eventually(lambda: len(link.events) == 3)
    assert [type(event) for event in link.events].count(TickerPush) == 1


async def test_a_private_reconnect_resyncs_positions_and_orders_over_rest(link: Link) -> None:
    assert link.snapshots == []
    (private,) = link.ws.open_connections("/ws/v5/private")
    await link.ws.drop(private)
    await eventually(lambda: len(link.snapshots) == 1)
    (report,) = link.snapshots[0].positions
    assert report.position.size == Decimal("0.5")
    assert link.snapshots[0].orders == ()
