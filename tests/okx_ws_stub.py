"""A small WebSocket server that behaves like OKX's, for testing the client's connection rules.

It checks the login signature and its 30 s window, refuses private subscriptions before a login
(``60011``), acknowledges each subscription, answers the text ``ping`` with ``pong``, and records
every operation in order (``log``) so tests can assert sequences across reconnects. Tests push
frames, announce a service upgrade (``64008``), drop connections or stop answering pings.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from okx_stub import API_KEY, PASSPHRASE, SECRET_KEY

from host.clock import LiveClock
from host.exchange.signing import signatures_match, ws_login_signature

LOGIN_WINDOW_SECONDS = 30


@dataclass
class SocketStub:
    """State and switches; ``log`` holds ``(connection number, what happened)`` in order."""

    login_delay_seconds: float = 0.0
    skew_seconds: float = 0.0
    refuse_logins: list[str] = field(default_factory=list)
    unknown_channels: set[str] = field(default_factory=set)
    answer_pings: bool = True
    log: list[tuple[int, str]] = field(default_factory=list)
    sockets: dict[int, web.WebSocketResponse] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        for path in ("/ws/v5/public", "/ws/v5/private", "/ws/v5/business"):
            app.router.add_get(path, self._serve)
        return app

    def events(self, what: str) -> list[int]:
        """The connection numbers on which ``what`` happened, in order."""
        return [number for number, happened in self.log if happened == what]

    async def push(self, message: Any, connection: int | None = None) -> None:
        """Send a frame to one connection (default: the newest open one)."""
        number = connection or max(self.open_connections())
        text = message if isinstance(message, str) else orjson.dumps(message).decode()
        await self.sockets[number].send_str(text)

    def open_connections(self, path: str = "") -> list[int]:
        """Open connections, of one path (e.g. ``/ws/v5/private``) if given."""
        return [
            number
            for number, ws in self.sockets.items()
            if not ws.closed and self.paths[number].endswith(path)
        ]

    async def drop(self, connection: int | None = None) -> None:
        """Close a connection abruptly, as a network failure would."""
        number = connection or max(self.open_connections())
        await self.sockets[number].close(code=1006)

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        number = next(self._numbers)
        self.sockets[number] = ws
        self.paths[number] = request.path
        self.log.append((number, "open"))
        private = not request.path.endswith("/public")
        logged_in = asyncio.Event()
        pending: set[asyncio.Task[None]] = set()
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            if message.data == "ping":
                self.log.append((number, "ping"))
                if self.answer_pings:
                    await ws.send_str("pong")
                continue
            request_op = orjson.loads(message.data)
            op = request_op["op"]
            self.log.append((number, op))
            if op == "login":  # answered in the background, as OKX may: reading goes on
                task = asyncio.create_task(
                    self._login(ws, number, request_op["args"][0], logged_in)
                )
                pending.add(task)
                task.add_done_callback(pending.discard)
            elif op == "subscribe":
                await self._subscribe(
                    ws, number, request_op["args"], private and not logged_in.is_set()
                )
        self.log.append((number, "closed"))
        return ws

    async def _login(
        self, ws: web.WebSocketResponse, number: int, args: dict[str, Any], done: asyncio.Event
    ) -> None:
        await asyncio.sleep(self.login_delay_seconds)
        timestamp = str(args["timestamp"])  # OKX accepts a string or a number
        server_now = LiveClock().now().timestamp() + self.skew_seconds
        fresh = abs(server_now - int(timestamp)) <= LOGIN_WINDOW_SECONDS
        expected = ws_login_signature(SECRET_KEY, timestamp)
        ok = (
            args["apiKey"] == API_KEY
            and args["passphrase"] == PASSPHRASE
            and signatures_match(expected, args["sign"])
        )
        code = "0" if ok and fresh else "60009" if not ok else "60006"
        if self.refuse_logins:
            code = self.refuse_logins.pop(0)
        reply = {"event": "login", "code": "0", "msg": "", "connId": f"c{number}"}
        if code != "0":
            reply = {"event": "error", "code": code, "msg": "Login failed.", "connId": "c"}
        self.log.append((number, "login-ok" if code == "0" else f"login-refused-{code}"))
        if not ws.closed:
            await ws.send_str(orjson.dumps(reply).decode())
        if code == "0":
            done.set()

    async def _subscribe(
        self, ws: web.WebSocketResponse, number: int, args: list[dict[str, str]], refuse: bool
    ) -> None:
        for arg in args:
            if refuse:
                self.log.append((number, "refused-before-login"))
                reply = {"event": "error", "code": "60011", "msg": "Please log in"}
            elif arg["channel"] in self.unknown_channels:
                reply = {"event": "error", "code": "60018", "msg": f"Wrong URL or {arg} not exist"}
            else:
                reply = {"event": "subscribe", "arg": arg, "connId": "c"}
            await ws.send_str(orjson.dumps(reply).decode())


@asynccontextmanager
async def serve_sockets(stub: SocketStub) -> AsyncIterator[str]:
    """Run ``stub`` on 127.0.0.1 and yield its ``ws://`` base URL."""
    runner = web.AppRunner(stub.app(), shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        for ws in stub.sockets.values():
            await ws.close()
        await runner.cleanup()
