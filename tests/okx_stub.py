"""A small aiohttp server that answers like OKX, for testing the client's edge cases.

It verifies signatures over the raw request target and body exactly as OKX does (with the same
signing module the client uses, checked against OKX's documented examples in test_signing), keeps
orders by ``clOrdId``, and can be told to misbehave: refuse with ``50011``, lose a reply after
acting, answer 5xx, run its clock ahead. It is deliberately small; the full simulated exchange
lives in ``host/sim``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import web
from samples import sample

from host.clock import LiveClock, to_okx_ms
from host.exchange.signing import (
    HEADER_DEMO,
    HEADER_KEY,
    HEADER_PASSPHRASE,
    HEADER_SIGN,
    HEADER_TIMESTAMP,
    rest_signature,
    signatures_match,
)

API_KEY = "test-key-0001"
SECRET_KEY = "test-secret-NOT-REAL-1234567890"  # noqa: S105 -- a test account of the stub
PASSPHRASE = "Test-Passphrase-1"  # noqa: S105 -- a test account of the stub
TIMESTAMP_WINDOW = timedelta(seconds=30)


def envelope(data: list[dict[str, Any]], code: str = "0", msg: str = "") -> web.Response:
    return web.json_response({"code": code, "msg": msg, "data": data})


@dataclass
class OkxStub:
    """State and fault switches of the stub; tests flip the switches and read the counters."""

    skew: timedelta = timedelta(0)
    rate_limit_next: int = 0
    rate_limit_http_429: bool = False
    fail_5xx_next: int = 0
    lose_reply_after_place: bool = False
    fail_before_place: bool = False
    reply_delay_seconds: float = 1.0
    position_mode: str = "net_mode"
    slow_gateway_seconds: float = 0.0
    reject_next_place: tuple[str, str] | None = None
    fail_lookups: bool = False
    stops: set[str] = field(default_factory=set)
    discarded: list[str] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    demo_headers: list[str | None] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)

    def now(self) -> datetime:
        return LiveClock().now() + self.skew

    def count(self, method: str, path: str) -> int:
        return sum(1 for request in self.requests if request == (method, path))

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/api/v5/public/time", self._time)
        app.router.add_get("/api/v5/public/instruments", self._sample("instruments"))
        app.router.add_get("/api/v5/account/balance", self._balance)
        app.router.add_get("/api/v5/account/positions", self._positions)
        app.router.add_get("/api/v5/account/config", self._account_config)
        app.router.add_get("/api/v5/trade/orders-pending", self._pending)
        app.router.add_post("/api/v5/trade/order", self._place)
        app.router.add_get("/api/v5/trade/order", self._get_order)
        app.router.add_post("/api/v5/trade/cancel-order", self._cancel)
        app.router.add_post("/api/v5/trade/cancel-algos", self._cancel_algos)
        app.router.add_get("/api/v5/trade/orders-algo-pending", self._nothing)
        app.router.add_get("/api/v5/trade/fills", self._nothing)
        return app

    # --- middleware: bookkeeping, faults, authentication --------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        self.demo_headers.append(request.headers.get(HEADER_DEMO))
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            status = 429 if self.rate_limit_http_429 else 200
            return web.json_response(
                {"code": "50011", "msg": "Rate limit reached.", "data": []}, status=status
            )
        if self.fail_5xx_next:
            self.fail_5xx_next -= 1
            return web.Response(status=502, text="<html>bad gateway</html>")
        if not request.path.startswith("/api/v5/public/"):
            refused = await self._authenticate(request)
            if refused is not None:
                return refused
        response: web.StreamResponse = await handler(request)
        return response

    async def _authenticate(self, request: web.Request) -> web.Response | None:
        headers = request.headers
        if headers.get(HEADER_KEY) != API_KEY:
            return self._auth_error("50111", "Invalid OK-ACCESS-KEY")
        if headers.get(HEADER_PASSPHRASE) != PASSPHRASE:
            return self._auth_error("50105", "OK-ACCESS-PASSPHRASE incorrect")
        timestamp = headers.get(HEADER_TIMESTAMP, "")
        try:
            sent = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return self._auth_error("50112", "Invalid OK-ACCESS-TIMESTAMP")
        if abs(self.now() - sent) > TIMESTAMP_WINDOW:
            return self._auth_error("50102", "Timestamp request expired")
        body = await request.text()
        expected = rest_signature(SECRET_KEY, timestamp, request.method, request.raw_path, body)
        received = headers.get(HEADER_SIGN, "")
        self.signatures.append(received)
        if not signatures_match(expected, received):
            return self._auth_error("50113", "Invalid Sign")
        return None

    @staticmethod
    def _auth_error(code: str, msg: str) -> web.Response:
        return web.json_response({"code": code, "msg": msg, "data": []}, status=401)

    # --- endpoints ------------------------------------------------------------------------------

    async def _time(self, _: web.Request) -> web.Response:
        return envelope([{"ts": to_okx_ms(self.now())}])

    def _sample(self, name: str) -> Callable[[web.Request], Any]:
        async def handler(_: web.Request) -> web.Response:
            return web.json_response(sample(f"rest_public_{name}_swap_nautilus.json"))

        return handler

    async def _balance(self, _: web.Request) -> web.Response:
        return web.json_response(sample("rest_get_balance_nautilus.json"))

    async def _positions(self, _: web.Request) -> web.Response:
        return web.json_response(sample("rest_get_positions_swap_nautilus.json"))

    async def _nothing(self, _: web.Request) -> web.Response:
        return envelope([])

    async def _account_config(self, _: web.Request) -> web.Response:
        config = sample("rest_get_account_config_docs.json")
        config["data"][0]["posMode"] = self.position_mode
        return web.json_response(config)

    async def _pending(self, _: web.Request) -> web.Response:
        return envelope([order for order in self.orders.values() if order["state"] == "live"])

    async def _place(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        if self.fail_before_place:
            return web.Response(status=500, text="internal error")
        cl_ord_id = body["clOrdId"]
        if self.reject_next_place is not None:
            code, msg = self.reject_next_place
            self.reject_next_place = None
            return self._item_error(cl_ord_id, code, msg)
        if self.slow_gateway_seconds:  # the request reaches the matching engine late...
            await asyncio.sleep(self.slow_gateway_seconds)
            expires = request.headers.get("expTime")
            if expires is not None and int(to_okx_ms(self.now())) > int(expires):
                self.discarded.append(cl_ord_id)  # ...after its expTime: OKX discards it
                return self._item_error(cl_ord_id, "50037", "Order expired")
        if cl_ord_id in self.orders:
            return self._item_error(cl_ord_id, "51016", "Client order ID already exists")
        now = to_okx_ms(self.now())
        ord_id = str(1000 + len(self.orders))
        self.orders[cl_ord_id] = {
            **_ORDER_TEMPLATE,
            "instId": body["instId"],
            "clOrdId": cl_ord_id,
            "ordId": ord_id,
            "side": body["side"],
            "ordType": body["ordType"],
            "sz": body["sz"],
            "px": body.get("px", ""),
            "cTime": now,
            "uTime": now,
        }
        if self.lose_reply_after_place:
            await asyncio.sleep(self.reply_delay_seconds)  # the client gives up first
        item = {"clOrdId": cl_ord_id, "ordId": ord_id, "tag": "", "ts": now}
        return envelope([item | {"sCode": "0", "sMsg": ""}])

    async def _get_order(self, request: web.Request) -> web.Response:
        if self.fail_lookups:
            return web.Response(status=502, text="bad gateway")
        wanted = request.query.get("clOrdId") or request.query.get("ordId")
        for order in self.orders.values():
            if wanted in (order["clOrdId"], order["ordId"]):
                return envelope([order])
        return envelope([], code="51603", msg="Order does not exist")

    async def _cancel(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        wanted = body.get("clOrdId") or body.get("ordId")
        order = next(
            (o for o in self.orders.values() if wanted in (o["clOrdId"], o["ordId"])), None
        )
        if order is None or order["state"] in ("filled", "canceled"):
            return self._item_error(
                wanted,
                "51400",
                "Order cancellation failed as the order has been filled, canceled or does not "
                "exist.",
            )
        order["state"] = "canceled"
        return envelope([{"clOrdId": order["clOrdId"], "ordId": order["ordId"], "sCode": "0"}])

    async def _cancel_algos(self, request: web.Request) -> web.Response:
        items = orjson.loads(await request.read())
        if len(items) > 10:
            return envelope([], code="51000", msg="Parameter algoId error")  # OKX's batch limit
        results = []
        for item in items:
            known = item["algoId"] in self.stops
            self.stops.discard(item["algoId"])
            code = "0" if known else "51000"
            results.append({"algoId": item["algoId"], "sCode": code, "sMsg": ""})
        failed = sum(result["sCode"] != "0" for result in results)
        top = "0" if not failed else "1" if failed == len(results) else "2"
        return envelope(results, code=top)

    @staticmethod
    def _item_error(cl_ord_id: str, code: str, msg: str) -> web.Response:
        item = {"clOrdId": cl_ord_id, "ordId": "", "sCode": code, "sMsg": msg, "tag": ""}
        return envelope([item], code="1", msg="All operations failed")


_ORDER_TEMPLATE: dict[str, Any] = {
    "instType": "SWAP",
    "accFillSz": "0",
    "avgPx": "",
    "fee": "0",
    "pnl": "0",
    "state": "live",
    "category": "normal",
    "cancelSource": "",
    "reduceOnly": "false",
    "fillPx": "",
    "fillSz": "0",
    "tradeId": "",
    "fillTime": "",
}


@asynccontextmanager
async def serve(stub: OkxStub) -> AsyncIterator[str]:
    """Run ``stub`` on 127.0.0.1 (a free port) and yield its base URL."""
    runner = web.AppRunner(stub.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
