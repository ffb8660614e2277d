"""One WebSocket connection: its subscriptions, login, idle timer and an ordered outbox.

Every message to a client goes through the outbox and one writer task, so pushes keep the order
the exchange produced them in (unless a fault reorders them on purpose), a slow client slows only
itself, and :meth:`Session.drain` lets a test wait until everything produced has been written.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from aiohttp import web


class PushTarget(Protocol):
    """What the push fan-out needs of a client connection: a socket, or the in-process link."""

    kind: str
    conn_id: str
    uid: str | None
    subscriptions: list[dict[str, Any]]
    silenced: bool
    close_at: datetime | None
    last_activity: datetime

    def send(self, message: dict[str, Any] | str, now: datetime) -> None:
        """Queue a message for the client."""

    def close(self, code: int, message: str) -> None:
        """Close after what is queued."""

    def abort(self) -> None:
        """Cut the connection without a close frame."""

    def abort_after_queued(self) -> None:
        """Cut the connection once what is queued has been written."""

    async def drain(self) -> None:
        """Wait until everything queued so far is written."""


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Ask the writer to close the connection with an OKX close frame."""

    code: int
    message: str


ABORT = CloseConnection(1006, "")
"""Ask the writer to cut the connection (no close frame) after what is queued before it."""


@dataclass(eq=False, slots=True)
class Session:
    """State of one ``/ws/v5/{public,private,business}`` connection."""

    ws: web.WebSocketResponse
    request: web.Request
    kind: str
    conn_id: str
    last_activity: datetime
    uid: str | None = None
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    silenced: bool = False
    close_at: datetime | None = None
    outbox: asyncio.Queue[str | CloseConnection] = field(default_factory=asyncio.Queue)

    def abort_after_queued(self) -> None:
        """Cut the connection once what is already queued (e.g. a notice) has been written."""
        self.outbox.put_nowait(ABORT)

    def send(self, message: dict[str, Any] | str, now: datetime) -> None:
        """Queue a message (a dict is sent as JSON, a str as is, e.g. ``pong``)."""
        if self.silenced:
            return
        self.last_activity = now
        text = message if isinstance(message, str) else orjson.dumps(message).decode()
        self.outbox.put_nowait(text)

    def close(self, code: int, message: str) -> None:
        """Close after what is queued, with ``code`` (e.g. 4004) and ``message``."""
        self.outbox.put_nowait(CloseConnection(code, message))

    def abort(self) -> None:
        """Cut the TCP connection without a close frame (the client sees 1006)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def drain(self) -> None:
        """Wait until everything queued so far is written (or the connection is gone)."""
        if not self.ws.closed:
            await self.outbox.join()

    async def write_loop(self) -> None:
        """Write queued messages in order, until a :class:`CloseConnection` or the end."""
        while True:
            item = await self.outbox.get()
            try:
                if item is ABORT:
                    self.abort()
                    return
                if isinstance(item, CloseConnection):
                    await self.ws.close(code=item.code, message=item.message.encode())
                    return
                if not self.ws.closed:
                    with contextlib.suppress(ConnectionResetError):
                        await self.ws.send_str(item)
            finally:
                self.outbox.task_done()

    def finish(self) -> None:
        """Release anyone waiting in :meth:`drain` once the connection has ended."""
        while not self.outbox.empty():
            self.outbox.get_nowait()
            self.outbox.task_done()
