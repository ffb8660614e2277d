"""The simulated exchange as a real server on 127.0.0.1: REST, WebSockets and the admin endpoint.

:class:`Simulator` owns a :class:`~host.clock.ManualClock`; nothing moves until :meth:`advance`
steps it (tests, as fast as the clients read) or :meth:`run_realtime` follows the wall clock at
×``speed`` (``scalphost sim``). Each step applies the market's trades, fires stops and deadlines,
publishes market data, sends periodic snapshots and closes idle sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from host.clock import LiveClock, ManualClock, from_okx_ms
from host.sim.accounts import Account
from host.sim.admin import AdminApi, new_token
from host.sim.algos import AlgoDesk
from host.sim.auth import Verifier
from host.sim.config import SimConfig
from host.sim.engine import SimEngine
from host.sim.faults import AFTER_EXECUTION, HTML_503, REST_FAILURES, Faults
from host.sim.generator import SeededGenerator
from host.sim.ledger import Ledger
from host.sim.limits import SimRateLimiter
from host.sim.lookups import Lookups
from host.sim.params import Params
from host.sim.push import Hub
from host.sim.rest import Call, RestApi, Route
from host.sim.source import MarketSource
from host.sim.wire import (
    RATE_LIMITED,
    SERVICE_UNAVAILABLE,
    SYSTEM_ERROR,
    JsonDict,
    SimOkxError,
    failure,
    micros,
    param_error,
)
from host.sim.ws import WsGateway, WsOperation

if TYPE_CHECKING:  # the certificate maker imports cryptography, needed only with TLS
    from host.sim.tls import SelfSigned

DEFAULT_START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
"""Where a simulator's clock starts unless told otherwise (fixed, so runs replay)."""

_log = logging.getLogger(__name__)
INVALID_JSON = SimOkxError("50002", "JSON syntax error", 400)


@dataclass(frozen=True, slots=True)
class Urls:
    """Where clients connect."""

    rest: str
    public: str
    private: str
    business: str
    admin: str
    ws_base: str
    """The base the three WebSocket paths live under (the host's ``exchange.ws_url``)."""


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One REST request as it reached the exchange, whatever carried it."""

    method: str
    path: str
    raw_path: str
    """The path with its query string, as signed."""
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: str
    remote: str
    """Who sent it (public requests are rate-limited per IP)."""


@dataclass(frozen=True, slots=True)
class RestReply:
    """What the exchange answers, and what a fault does to the answer on its way back."""

    body: bytes
    status: int
    content_type: str = "application/json"
    lost: bool = False
    """The reply never reaches the client (the connection is cut after the execution)."""
    delay_seconds: float = 0.0


class Simulator:
    """One simulated OKX exchange."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        start: datetime | None = None,
        source: MarketSource | None = None,
        admin_token: str | None = None,
        tls: SelfSigned | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.tls = tls
        """Serve ``https://``/``wss://`` with this certificate instead of plain HTTP."""
        self.clock = ManualClock(start or DEFAULT_START)
        self.skew = timedelta(0)
        self.engine = SimEngine(self.config, self.clock.now())
        self.ledger: Ledger = self.engine.ledger
        self.source: MarketSource = source or SeededGenerator(
            self.config.instruments, self.config.seed, self.clock.now(), self.config.step
        )
        self.hub = Hub(
            self.engine,
            self.clock.now,
            snapshot_interval=self.config.snapshot_interval,
            idle_timeout=self.config.idle_timeout,
        )
        self.engine.listener = self.hub
        self.algos = AlgoDesk(self.engine)
        self.api = RestApi(self.engine, self.algos, self.now)
        self.verifier = Verifier(self.config.keys, self.config.max_skew, self.config.login_window)
        operations = {
            "order": WsOperation(self.api.place_order),
            "cancel-order": WsOperation(self.api.cancel_order),
            "amend-order": WsOperation(self.api.amend_order),
            "mass-cancel": WsOperation(self.api.mass_cancel),
            "batch-orders": WsOperation(self.api.batch_orders, batch=True),
            "batch-cancel-orders": WsOperation(self.api.cancel_batch_orders, batch=True),
            "batch-amend-orders": WsOperation(self.api.amend_batch_orders, batch=True),
        }
        self.gateway = WsGateway(
            self.hub,
            self.verifier,
            self.clock.now,
            self._conn_id,
            operations,
            exchange_now=self.now,
        )
        self.faults = Faults(self)
        self._routes: dict[tuple[str, str], Route] = {
            **self.api.routes(),
            **Lookups(self.engine, self.now).routes(),
        }
        self._conn_counter = itertools.count(1)
        self._limiter = SimRateLimiter(dict(self.config.rate_limits))
        self._runner: web.AppRunner | None = None
        self.admin = AdminApi(self, admin_token or new_token())
        self.port = 0

    def now(self) -> datetime:
        """The exchange's clock: simulated time plus any injected skew."""
        return self.clock.now() + self.skew

    @property
    def urls(self) -> Urls:
        """REST base URL, the three WebSocket URLs and the admin URL."""
        base = f"127.0.0.1:{self.port}"
        http, ws = ("https", "wss") if self.tls else ("http", "ws")
        return Urls(
            f"{http}://{base}",
            f"{ws}://{base}/ws/v5/public",
            f"{ws}://{base}/ws/v5/private",
            f"{ws}://{base}/ws/v5/business",
            f"{http}://{base}/sim/admin",
            f"{ws}://{base}",
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, port: int = 0) -> Urls:
        """Listen on 127.0.0.1:``port`` (0 = any free port) and return the URLs."""
        app = web.Application()
        app.router.add_route("*", "/api/v5/{tail:.*}", self._rest)
        app.router.add_get("/ws/v5/{kind}", self.gateway.handle)
        self.admin.install(app)
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            # a connection that has not completed a request by then is closed: slow-header
            # (slowloris) clients cannot hold sockets open; idle keep-alive ones reconnect
            keepalive_timeout=self.config.http_idle_timeout.total_seconds(),
        )
        await self._runner.setup()
        context = self.tls.server_context() if self.tls else None
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.urls

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for session in list(self.hub.sessions):
            session.abort()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- time --------------------------------------------------------------------------------

    async def advance(self, delta: timedelta) -> None:
        """Run the exchange for ``delta`` of simulated time, then wait until clients have it all."""
        end = self.clock.now() + delta
        while self.clock.now() < end:
            self.clock.advance(min(self.config.step, end - self.clock.now()))
            self.step()
        await self.drain()

    def step(self) -> None:
        """One simulation step at the clock's current time."""
        now = self.clock.now()
        self.faults.run_due(now)
        self.engine.advance_to(now, self.source.trades_until(now))
        self.algos.check()
        self.gateway.release_logins()
        self.hub.flush()
        self.hub.publish_market()
        self.hub.periodic()

    async def drain(self) -> None:
        """Send aggregated events, then wait until every queued push is written to its socket."""
        self.hub.flush()
        await asyncio.gather(*(session.drain() for session in list(self.hub.sessions)))

    async def run_realtime(self, speed: float = 1.0) -> None:
        """Follow the wall clock at ×``speed`` until cancelled (``scalphost sim``)."""
        wall = LiveClock()
        previous = wall.monotonic()
        while True:
            await asyncio.sleep(self.config.step.total_seconds())
            current = wall.monotonic()
            await self.advance(timedelta(seconds=(current - previous) * speed))
            previous = current

    # -- HTTP --------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        call = RestRequest(
            method=request.method,
            path=request.path,
            raw_path=request.raw_path,
            query=dict(request.query),
            headers=request.headers,
            body=await request.text(),
            remote=request.remote or "",
        )
        reply = self.respond(call)
        if reply.lost:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=200)
        if reply.delay_seconds:
            await asyncio.sleep(reply.delay_seconds)
        return web.Response(body=reply.body, status=reply.status, content_type=reply.content_type)

    def respond(self, request: RestRequest) -> RestReply:
        """Answer one REST request: faults, authentication, rate limit, handler, pushes.

        Everything but the transport: the HTTP server and the in-process link of the fast
        replay (:mod:`host.sim.inprocess`) both answer through here, so they cannot differ.
        """
        route = self._routes.get((request.method, request.path))
        if route is None:
            return _reply({"code": "50000", "msg": "Not Found", "data": []}, 404)
        if self.faults.in_maintenance:
            return _reply(failure(SERVICE_UNAVAILABLE), SERVICE_UNAVAILABLE.http_status)
        fault = self.faults.take_rest(request.path)  # an outage strikes before any check
        if fault is not None and fault.kind in REST_FAILURES:
            injected = REST_FAILURES[fault.kind]
            return _reply(failure(injected), injected.http_status)
        if fault is not None and fault.kind == HTML_503:
            html = b"<html><body>503 Service Unavailable</body></html>"
            return RestReply(html, 503, "text/html")
        try:
            account = self._admit(request, route)
        except SimOkxError as refused:
            return _reply(failure(refused), refused.http_status)
        in_time = self.now()
        try:
            payload = self._handle(request, route, account)
            status = 200
        except SimOkxError as error:
            payload, status = failure(error), error.http_status
        except Exception:  # a simulator bug: logged, and answered as OKX answers its own
            _log.exception("REST %s %s failed", request.method, request.path)
            payload, status = failure(SYSTEM_ERROR), SYSTEM_ERROR.http_status
        self.faults.run_due(self.clock.now())
        self.hub.flush()
        if route.stamped:
            payload["inTime"], payload["outTime"] = micros(in_time), micros(self.now())
        reply = _reply(payload, status)
        if fault is not None and fault.kind in AFTER_EXECUTION:
            if fault.kind == "lose_reply":
                return replace(reply, lost=True)
            return replace(reply, delay_seconds=fault.seconds)
        return reply

    def _admit(self, request: RestRequest, route: Route) -> Account | None:
        """Authentication, then the rate limit; the caller's account if private.

        A request refused for its credentials is answered before it counts against any rate
        limit, so requests with a known key but a bad signature cannot use up its quota.
        """
        account = self._authenticate(request, route)
        scope = self._scope(request, account, route.stamped)
        # Counted on the unskewed clock: a skew models the client's clock drifting against
        # OKX's, whose own time never jumps; counted on the skewed one, taking a skew back held
        # every window shut for the skew's length (a restart refused 50011 for a minute).
        if not self._limiter.allow(request.path, scope, self.clock.now()):
            raise RATE_LIMITED
        return account

    def _authenticate(self, request: RestRequest, route: Route) -> Account | None:
        """The signing account of a private request (:class:`SimOkxError` if refused)."""
        if not route.private:
            return None
        key = self.verifier.rest(
            request.headers, request.method, request.raw_path, request.body, self.now()
        )
        return self.engine.accounts[key.uid]

    def _handle(self, request: RestRequest, route: Route, account: Account | None) -> JsonDict:
        if request.method == "GET":
            body: Any = dict(request.query)
        else:
            try:
                body = orjson.loads(request.body) if request.body else {}
            except orjson.JSONDecodeError:
                raise INVALID_JSON from None
        params = Params(body if isinstance(body, dict) else {})
        return route.handler(Call(params, body, account, _expiry(request)))

    def _scope(self, request: RestRequest, account: Account | None, per_instrument: bool) -> str:
        """Who a request counts against: the IP (public), the account, or account + instrument."""
        if account is None:
            return request.remote
        key = account.uid
        if not per_instrument:
            return key
        inst_id = request.query.get("instId", "")
        with contextlib.suppress(orjson.JSONDecodeError):
            body = orjson.loads(request.body or "{}")
            if isinstance(body, dict):
                inst_id = str(body.get("instId", inst_id))
        return f"{key}:{inst_id}"

    def _conn_id(self) -> str:
        text = f"{self.config.seed}:{next(self._conn_counter)}"
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def _expiry(request: RestRequest) -> datetime | None:
    """The ``expTime`` header (epoch ms) as an instant; a malformed one is ``51000``."""
    text = request.headers.get("expTime")
    if text is None:
        return None
    try:
        return from_okx_ms(text)
    except ValueError:
        raise param_error("expTime") from None


def _reply(payload: Any, status: int) -> RestReply:
    return RestReply(orjson.dumps(payload), status)
