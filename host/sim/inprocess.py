"""The simulator in the host's own process: requests answered by a call, pushes handed over.

The fast replay (``scalphost run --fast``) uses this instead of sockets. Nothing about the
exchange changes: a request goes through :meth:`Simulator.respond` exactly as one that came
over HTTP (signature, rate limit, faults, handler), and a push is the message the simulator
would have written to a socket, decoded by the host's own :class:`FrameDecoder`. What goes away
is the transport: no TCP, no JSON text for the pushes, and no waiting — so the pushes reach the
host in the order the exchange produced them, and the same seed replays the same session.

Pushes are held in one queue for all three "connections", in the order the simulator made
them — those a request caused behind those already queued, as on a socket — and handed to the
host's sink one message at a time by :meth:`InProcessExchange.deliver_next`: the driver decides
when (:mod:`host.sessions.fast`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from host.exchange.decode import FrameDecoder
from host.exchange.events import ExchangeEvent
from host.exchange.rest import NoReply
from host.sim.server import RestRequest, Simulator

EventSink = Callable[[tuple[ExchangeEvent, ...]], None]
LOCAL_ADDRESS = "in-process"
"""The ``remote`` public requests are rate-limited under (one client, as over loopback)."""


class LocalSession:
    """One in-process "connection" (public, private or business) the simulator pushes to."""

    def __init__(
        self, kind: str, conn_id: str, uid: str | None, now: datetime, take: EventSink
    ) -> None:
        self.kind = kind
        self.conn_id = conn_id
        self.uid = uid
        self.subscriptions: list[dict[str, Any]] = []
        self.silenced = False
        self.close_at: datetime | None = None
        self.last_activity = now
        self._take = take
        self.decoder = FrameDecoder()

    def send(self, message: dict[str, Any] | str, now: datetime) -> None:
        """Decode what the simulator would write to the socket and queue its events."""
        if self.silenced or message == "pong":
            return
        self.last_activity = now
        if isinstance(message, str):  # a push damaged on purpose (a fault) comes as text
            events = self.decoder.decode(message)
        else:
            events = self.decoder.decode_message(message)
        if events:
            self._take(events)

    def close(self, code: int, message: str) -> None:
        """Nothing to close: an in-process link does not drop (its driver keeps it alive)."""

    def abort(self) -> None:
        """Nothing to cut (see :meth:`close`)."""

    def abort_after_queued(self) -> None:
        """Nothing to cut (see :meth:`close`)."""

    async def drain(self) -> None:
        """Everything is delivered through :meth:`InProcessExchange.deliver`, not written."""


class InProcessExchange:
    """One account's link to a simulator in the same process and event loop."""

    def __init__(self, sim: Simulator, uid: str) -> None:
        self.sim = sim
        self.uid = uid
        self.sink: EventSink | None = None
        self.sessions: list[LocalSession] = []
        self._queued: deque[tuple[ExchangeEvent, ...]] = deque()

    def connect(
        self,
        sink: EventSink,
        subscriptions: Mapping[str, Iterable[dict[str, str]]],
    ) -> None:
        """Open the ``public``/``private``/``business`` sessions with their subscriptions.

        The simulator answers each subscription as it would a socket's (a positions snapshot,
        the current ticker...); those pushes are queued like any other.
        """
        self.sink = sink
        for kind, args in subscriptions.items():
            uid = None if kind == "public" else self.uid
            session = LocalSession(kind, f"local-{kind}", uid, self.sim.now(), self._queue)
            self.sim.hub.sessions.add(session)
            self.sessions.append(session)
            for arg in args:
                session.subscriptions.append(arg)
                self.sim.hub.subscribed(session, arg)

    def close(self) -> None:
        """Take the sessions off the simulator's fan-out; nothing more is pushed."""
        for session in self.sessions:
            self.sim.hub.sessions.discard(session)
        self.sessions.clear()

    def keep_alive(self) -> None:
        """What a client's ping does: the simulator does not close the sessions as idle."""
        now = self.sim.now()
        for session in self.sessions:
            session.last_activity = now

    def deliver_next(self) -> bool:
        """Hand the oldest queued message's events to the sink; ``False`` if none was queued."""
        if not self._queued or self.sink is None:
            return False
        self.sink(self._queued.popleft())
        return True

    @property
    def pending(self) -> bool:
        """Whether pushes wait for :meth:`deliver_next`."""
        return bool(self._queued)

    async def send(
        self, method: str, request_path: str, body: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """Answer a request (a :class:`~host.exchange.rest.Transport`); its pushes are queued."""
        split = urlsplit(request_path)
        request = RestRequest(
            method=method,
            path=split.path,
            raw_path=request_path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            remote=LOCAL_ADDRESS,
        )
        reply = self.sim.respond(request)
        if reply.lost:
            raise NoReply("the simulator lost the reply (a fault)")
        return reply.status, reply.body

    def _queue(self, events: tuple[ExchangeEvent, ...]) -> None:
        self._queued.append(events)
