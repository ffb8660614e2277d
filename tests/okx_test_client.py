"""A small real OKX v5 client for the simulator's tests: aiohttp REST and websockets WS.

It signs with :mod:`host.exchange.signing` (the host's own signing) and takes its time from the
simulator's clock, like a client that synchronised with ``/public/time``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from host.clock import EPOCH, to_okx_iso
from host.exchange.signing import (
    HEADER_KEY,
    HEADER_PASSPHRASE,
    HEADER_SIGN,
    HEADER_TIMESTAMP,
    rest_signature,
    ws_login_signature,
)
from host.sim import TEST_KEY, ApiKey, SimConfig, Simulator

RESTING_BUY = {
    "instId": "BTC-USDT-SWAP",
    "tdMode": "cross",
    "side": "buy",
    "ordType": "limit",
    "px": "1000",
    "sz": "1",
}
"""An order body that rests far below the market (BTC starts at 65000)."""

WAIT = 5.0
"""Upper bound on waiting for a message that must come (a failure bound, never a sleep)."""


class OkxClient:
    """Signed REST calls and WebSocket helpers against one simulator."""

    def __init__(
        self, sim: Simulator, session: aiohttp.ClientSession, key: ApiKey = TEST_KEY
    ) -> None:
        self.sim = sim
        self.http = session
        self.key = key
        self.clock: Callable[[], datetime] = sim.clock.now

    def _headers(self, method: str, path: str, body: str) -> dict[str, str]:
        timestamp = to_okx_iso(self.clock())
        return {
            HEADER_KEY: self.key.api_key,
            HEADER_PASSPHRASE: self.key.passphrase,
            HEADER_TIMESTAMP: timestamp,
            HEADER_SIGN: rest_signature(self.key.secret_key, timestamp, method, path, body),
            "Content-Type": "application/json",
        }

    async def get(self, path: str, params: dict[str, str] | None = None) -> tuple[int, Any]:
        query = urlencode(params or {})
        target = path + (f"?{query}" if query else "")
        async with self.http.get(
            self.sim.urls.rest + target, headers=self._headers("GET", target, "")
        ) as response:
            return response.status, await response.json()

    async def post(
        self, path: str, body: Any, extra_headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        text = json.dumps(body, separators=(",", ":"))
        headers = self._headers("POST", path, text) | (extra_headers or {})
        async with self.http.post(
            self.sim.urls.rest + path, data=text, headers=headers
        ) as response:
            return response.status, await response.json()

    async def order(self, **fields: Any) -> dict[str, Any]:
        body = {"tdMode": "cross", **fields}
        _, payload = await self.post("/api/v5/trade/order", body)
        return payload

    async def algo(self, **fields: Any) -> dict[str, Any]:
        """``POST /trade/order-algo`` on BTC-USDT-SWAP, cross margin, unless told otherwise."""
        body = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", **fields}
        _, payload = await self.post("/api/v5/trade/order-algo", body)
        return payload

    async def private(self, *channels: str) -> ClientConnection:
        """A logged-in connection subscribed to SWAP ``channels`` (``orders-algo`` on business)."""
        business = {"orders-algo", "algo-advance"}.issuperset(channels)
        ws = await self.connect("business" if business else "private")
        await self.login(ws)
        await self.subscribe(ws, *({"channel": name, "instType": "SWAP"} for name in channels))
        return ws

    async def connect(self, kind: str) -> ClientConnection:
        url = getattr(self.sim.urls, kind) + "?brokerId=9999"
        return await connect(url, ping_interval=None)

    def login_args(self, timestamp: str | int | None = None) -> dict[str, Any]:
        seconds = (
            timestamp if timestamp is not None else str(int((self.clock() - EPOCH).total_seconds()))
        )
        return {
            "apiKey": self.key.api_key,
            "passphrase": self.key.passphrase,
            "timestamp": seconds,
            "sign": ws_login_signature(self.key.secret_key, str(seconds)),
        }

    async def login(self, ws: ClientConnection) -> dict[str, Any]:
        await ws.send(json.dumps({"op": "login", "args": [self.login_args()]}))
        return await recv_json(ws)

    async def subscribe(self, ws: ClientConnection, *args: dict[str, str]) -> list[dict[str, Any]]:
        await ws.send(json.dumps({"op": "subscribe", "args": list(args)}))
        return [
            await recv_until(ws, lambda m: m.get("event") in ("subscribe", "error")) for _ in args
        ]


async def recv_json(ws: ClientConnection) -> dict[str, Any]:
    text = await asyncio.wait_for(ws.recv(), WAIT)
    message: dict[str, Any] = json.loads(text)
    return message


async def recv_until(
    ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Read messages until one satisfies ``wanted`` (others are skipped)."""
    while True:
        message = await recv_json(ws)
        if wanted(message):
            return message


async def pending(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every message already delivered and waiting (the simulator drained before returning)."""
    out = []
    while True:
        try:
            text = await asyncio.wait_for(ws.recv(), 0.05)
        except TimeoutError:
            return out
        out.append(json.loads(text))


def channel(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("arg", {}).get("channel") == name and "data" in m


@asynccontextmanager
async def running(
    config: SimConfig | None = None, start: datetime | None = None
) -> AsyncIterator[OkxClient]:
    """A started simulator and a client for it, torn down afterwards."""
    async with Simulator(config, start=start) as sim, aiohttp.ClientSession() as http:
        yield OkxClient(sim, http)
