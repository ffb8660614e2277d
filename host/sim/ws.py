"""The WebSocket endpoints ``/ws/v5/public``, ``/ws/v5/private`` and ``/ws/v5/business``.

Speaks OKX's protocol: text ``ping`` → ``pong``; ``login`` (private and business, each connection
logs in on its own) with the 30 s window; ``subscribe``/``unsubscribe`` acknowledged per arg with
``connId``; ``60011`` for a private channel before login, ``60018`` for a channel that does not
live on this path, ``60012`` for a malformed request, and OKX's fee-tier refusals for the
VIP-only channels (``fills`` 64003, ``books-l2-tbt`` 60029, ``books50-l2-tbt`` 60030): the
simulated account is on the lowest tier, as most OKX accounts are.

Trading ops on ``/private`` (``order``, ``batch-orders``, ``cancel-order``, ``mass-cancel``, …)
are served by the REST handlers; an arg naming its instrument by ``instIdCode`` (OKX's newer
numeric id, which ccxt sends instead of ``instId``) is read as that instrument.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from host.sim.auth import WS_LOGIN_FAILED, WS_REPEATED_LOGIN, Verifier
from host.sim.limits import SimRateLimiter
from host.sim.params import Params
from host.sim.push import CHANNELS_BY_PATH, LOGIN_CHANNELS, Hub
from host.sim.rest import Call, Handler
from host.sim.session import Session
from host.sim.wire import SimOkxError, item_status, items, micros, ms

PLEASE_LOG_IN = SimOkxError("60011", "Please log in")
TOO_FREQUENT = SimOkxError("60014", "Requests too frequent.")
WS_OP_LIMIT = (480, 3600.0)
"""OKX: login + subscribe + unsubscribe, 480 per connection per hour."""
INVALID_REQUEST = "60012"
WRONG_CHANNEL = "60018"
FEE_TIER_TOO_LOW = SimOkxError(
    "64003", "Your trading fee tier doesn't meet the requirement to access this channel"
)
VIP_CHANNELS = {
    ("private", "fills"): FEE_TIER_TOO_LOW,
    ("public", "books-l2-tbt"): SimOkxError(
        "60029",
        "Only users who are VIP5 and above in trading fee tier are allowed to subscribe to "
        "books-l2-tbt channel",
    ),
    ("public", "books50-l2-tbt"): SimOkxError(
        "60030",
        "Only users who are VIP4 and above in trading fee tier are allowed to subscribe to "
        "books50-l2-tbt channel",
    ),
}
"""Channels OKX serves to VIP fee tiers only (after a login); the simulated account is Lv1."""


@dataclass(frozen=True, slots=True)
class WsOperation:
    """A trading op: its REST handler, given the first arg or (``batch``) the list of args."""

    handler: Handler
    batch: bool = False


@dataclass(slots=True)
class WsFaults:
    """Pending WebSocket request faults: failed logins, rejected channels, refused connections."""

    fail_logins: int = 0
    login_delay: timedelta = timedelta(0)
    rejected_channels: frozenset[str] = frozenset()
    refuse_connections: bool = False


class WsGateway:
    """Accepts connections and answers client operations; pushes go through the :class:`Hub`."""

    def __init__(
        self,
        hub: Hub,
        verifier: Verifier,
        now: Callable[[], datetime],
        conn_ids: Callable[[], str],
        operations: dict[str, WsOperation],
        op_limit: tuple[int, float] = WS_OP_LIMIT,
        exchange_now: Callable[[], datetime] | None = None,
    ) -> None:
        self.hub = hub
        self.verifier = verifier
        self.now = now
        self.exchange_now = exchange_now or now
        """The exchange's clock, skew included: a login's timestamp is checked against it, as
        OKX checks REST and WebSocket alike against one clock (``60006`` with a skewed clock)."""
        self.conn_ids = conn_ids
        self.operations = operations
        """WebSocket trading ops (``order``, ``batch-orders``, …), served by REST handlers."""
        self.faults = WsFaults()
        self._late_logins: list[tuple[datetime, Session, str]] = []
        self._op_budget = SimRateLimiter({"ops": op_limit})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one connection on the path kind named in the route (query string ignored)."""
        kind = request.match_info["kind"]
        if kind not in CHANNELS_BY_PATH:
            raise web.HTTPNotFound
        if self.faults.refuse_connections:
            raise web.HTTPServiceUnavailable
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = Session(ws, request, kind, self.conn_ids(), self.now())
        self.hub.sessions.add(session)
        writer = asyncio.create_task(session.write_loop())
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                session.last_activity = self.now()
                self.on_text(session, message.data)
        finally:
            self.hub.sessions.discard(session)
            session.finish()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def on_text(self, session: Session, text: str) -> None:
        """Answer one client frame."""
        if text == "ping":
            session.send("pong", self.now())
            return
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            request = None
        op = request.get("op") if isinstance(request, dict) else None
        args = request.get("args") if isinstance(request, dict) else None
        if op in self.operations and session.kind == "private" and isinstance(args, list) and args:
            assert isinstance(request, dict)  # noqa: S101 -- op came from it
            self._operation(session, str(op), args, request.get("id"))
            return
        if (
            op not in ("login", "subscribe", "unsubscribe")
            or not isinstance(args, list)
            or not args
        ):
            self._error(session, SimOkxError(INVALID_REQUEST, f"Invalid request: {text}"))
            return
        assert isinstance(request, dict)  # noqa: S101 -- checked above
        if not self._op_budget.allow("ops", session.conn_id, self.now()):
            self._error(session, TOO_FREQUENT)
            return
        if op == "login":
            self._login(session, args[0])
        else:
            for arg in args:
                self._subscription(session, str(op), arg, request.get("id"), text)

    def _login(self, session: Session, arg: object) -> None:
        try:
            if session.uid is not None:
                raise WS_REPEATED_LOGIN
            if self.faults.fail_logins > 0:
                self.faults.fail_logins -= 1
                raise WS_LOGIN_FAILED
            key = self.verifier.ws_login(arg, self.exchange_now())
        except SimOkxError as error:
            self._error(session, error)
            return
        if self.faults.login_delay > timedelta(0):
            self._late_logins.append((self.now() + self.faults.login_delay, session, key.uid))
            return
        self._logged_in(session, key.uid)

    def _logged_in(self, session: Session, uid: str) -> None:
        session.uid = uid
        session.send(
            {"event": "login", "code": "0", "msg": "", "connId": session.conn_id}, self.now()
        )

    def release_logins(self) -> None:
        """Acknowledge the delayed logins whose time has come (until then: not logged in)."""
        due = [late for late in self._late_logins if late[0] <= self.now()]
        self._late_logins = [late for late in self._late_logins if late[0] > self.now()]
        for _, session, uid in due:
            self._logged_in(session, uid)

    def _subscription(
        self, session: Session, op: str, arg: Any, request_id: Any, text: str
    ) -> None:
        if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str):
            self._error(session, SimOkxError(INVALID_REQUEST, f"Invalid request: {text}"))
            return
        channel = arg["channel"]
        inst_id = arg.get("instId", "")
        refusal = VIP_CHANNELS.get((session.kind, channel))
        if refusal is not None:
            self._error(session, PLEASE_LOG_IN if session.uid is None else refusal)
            return
        exists = (
            channel in CHANNELS_BY_PATH[session.kind]
            and channel not in self.faults.rejected_channels
        )
        if exists and channel not in LOGIN_CHANNELS:
            exists = inst_id in self.hub.engine.markets
        if not exists:
            self._error(
                session,
                SimOkxError(
                    WRONG_CHANNEL,
                    f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. "
                    "Please use the correct URL, channel and parameters referring to API document.",
                ),
            )
            return
        if channel in LOGIN_CHANNELS and session.uid is None:
            self._error(session, PLEASE_LOG_IN)
            return
        clean = {key: value for key, value in arg.items() if isinstance(value, str)}
        if op == "subscribe" and clean not in session.subscriptions:
            session.subscriptions.append(clean)
        elif op == "unsubscribe" and clean in session.subscriptions:
            session.subscriptions.remove(clean)
        ack: dict[str, Any] = {"event": op, "arg": clean, "connId": session.conn_id}
        if isinstance(request_id, str):
            ack = {"id": request_id, **ack}
        session.send(ack, self.now())
        if op == "subscribe":
            self.hub.subscribed(session, clean)

    def _operation(self, session: Session, op: str, args: list[Any], request_id: Any) -> None:
        """Place or cancel orders over the socket; the answer has OKX's ``op`` envelope."""
        if session.uid is None:
            self._error(session, PLEASE_LOG_IN)
            return
        received = self.now()
        account = self.hub.engine.accounts[session.uid]
        operation = self.operations[op]
        named = [self._by_inst_id(arg) for arg in args]
        body: Any = named if operation.batch else named[0]
        params = Params(body if isinstance(body, dict) else {})
        try:
            result = operation.handler(Call(params, body, account))
        except SimOkxError as error:
            result = items(
                [{"clOrdId": "", "ordId": "", "tag": "", "ts": ms(received), **item_status(error)}]
            )
        self.hub.flush()
        reply: dict[str, Any] = {"id": request_id if isinstance(request_id, str) else "", "op": op}
        reply.update(
            data=result["data"],
            code=result["code"],
            msg="",
            inTime=micros(received),
            outTime=micros(self.now()),
        )
        session.send(reply, self.now())

    def _by_inst_id(self, arg: Any) -> Any:
        """``arg`` with the ``instId`` its ``instIdCode`` stands for (unknown code: ``51001``)."""
        if not isinstance(arg, dict) or "instIdCode" not in arg or arg.get("instId"):
            return arg
        code = str(arg["instIdCode"])
        inst_id = next(
            (
                inst_id
                for inst_id, market in self.hub.engine.markets.items()
                if str(market.inst.inst_id_code) == code
            ),
            f"instIdCode {code}",  # no such instrument: the handler answers 51001
        )
        return {**arg, "instId": inst_id}

    def _error(self, session: Session, error: SimOkxError) -> None:
        session.send(
            {"event": "error", "code": error.code, "msg": error.msg, "connId": session.conn_id},
            self.now(),
        )
