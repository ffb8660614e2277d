"""A WebSocket server on 127.0.0.1, in a process of its own, pushing OKX frames on a schedule.

It speaks just enough of OKX's v5 WebSocket protocol for the host's real client: logins and
subscriptions are acknowledged (the private and business sockets then stay quiet), ``ping`` is
answered, and the public socket gets a mark per instrument, then — on command — the scenario's
frames at a steady pace. Each frame's send time is read just before it is written, on the same
monotonic clock the host reads (``CLOCK_MONOTONIC`` is system-wide), and handed back, so the
host can tell how long a frame took from the server's write to its decision.

A process of its own so the pushing does not share the host's event loop or interpreter lock.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

import orjson
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from host.bench import frames
from host.clock import monotonic_ns

READY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Schedule:
    """What to push, and how fast.

    ``kind`` ``tickers``: ``count`` frames, every ``crossing_every``-th crossing; ``quotes``:
    ``count`` rounds of one bbo-tbt per instrument. ``batch`` frames every ``interval_ns``, the
    last stamped just before ``end_ms`` (stamps only ever rise).
    """

    kind: str
    count: int
    batch: int
    interval_ns: int
    end_ms: int
    crossing_every: int = 0
    inst_ids: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """How many frames it pushes."""
        return self.count * (len(self.inst_ids) if self.kind == "quotes" else 1)

    def frames(self) -> list[str]:
        """The frames, in sending order."""
        if self.kind == "tickers":
            return frames.ticker_run(self.count, self.crossing_every, self.end_ms)[0]
        return frames.quote_rounds(list(self.inst_ids), self.count, self.end_ms)


class _Server:
    """The connections' handler: acknowledges, answers pings, keeps the public connection."""

    def __init__(self) -> None:
        self.public: ServerConnection | None = None
        self.public_ready = threading.Event()

    def handle(self, connection: ServerConnection) -> None:
        public = connection.request is not None and connection.request.path.endswith("/public")
        try:
            for message in connection:
                if message == "ping":
                    connection.send("pong")
                    continue
                request = orjson.loads(message)
                if request.get("op") == "login":
                    connection.send(orjson.dumps({"event": "login", "code": "0", "msg": "",
                                                  "connId": "bench"}).decode())  # fmt: skip
                elif request.get("op") == "subscribe":
                    self._subscribed(connection, request["args"], public=public)
        except ConnectionClosed:
            return

    def _subscribed(self, connection: ServerConnection, args: list[dict[str, str]], *,
                    public: bool) -> None:  # fmt: skip
        for arg in args:
            connection.send(orjson.dumps({"event": "subscribe", "arg": arg,
                                          "connId": "bench"}).decode())  # fmt: skip
        if public:
            inst_ids = sorted({arg["instId"] for arg in args if "instId" in arg})
            for mark in frames.marks(inst_ids):
                connection.send(mark)
            self.public = connection
            self.public_ready.set()

    def push(self, schedule: Schedule) -> list[int]:
        """Push ``schedule`` on the public connection; the send time of each frame."""
        if not self.public_ready.wait(READY_TIMEOUT_SECONDS) or self.public is None:
            raise TimeoutError("the host's public socket never subscribed")
        connection = self.public
        batch = schedule.batch
        pending = schedule.frames()
        sent = []
        started = monotonic_ns()
        for index in range(0, len(pending), batch):
            due = started + (index // batch) * schedule.interval_ns
            wait = due - monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            for frame in pending[index : index + batch]:
                sent.append(monotonic_ns())
                connection.send(frame)
        return sent


def serve_frames(commands: Connection) -> None:
    """The pusher process: report the port, then push each :class:`Schedule` it is sent."""
    server = _Server()
    # OKX sends no WebSocket pings (its clients send a text "ping"); a host far behind must
    # not be cut off for a pong queued behind its backlog
    with serve(server.handle, "127.0.0.1", 0, ping_interval=None) as listener:
        threading.Thread(target=listener.serve_forever, daemon=True).start()
        commands.send(listener.socket.getsockname()[1])
        while True:
            schedule = commands.recv()
            if schedule is None:
                listener.shutdown()
                return
            commands.send(server.push(schedule))


class Pusher:
    """The host's side of the pusher process: its URL, and pushes on command."""

    def __init__(self, commands: Connection, port: int) -> None:
        self._commands = commands
        self.ws_url = f"ws://127.0.0.1:{port}"

    def push(self, schedule: Schedule) -> list[int]:
        """Push ``schedule`` and return each frame's send time (blocks: run it in a thread)."""
        self._commands.send(schedule)
        sent: list[int] = self._commands.recv()
        return sent


@contextmanager
def pusher_process() -> Iterator[Pusher]:
    """Start the pusher in a fresh process (spawned: no copy of this one's event loop)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve_frames, args=(theirs,), daemon=True)
    process.start()
    try:
        if not ours.poll(READY_TIMEOUT_SECONDS):
            raise TimeoutError("the bench's WebSocket server did not start")
        yield Pusher(ours, ours.recv())
        ours.send(None)
        process.join(5)
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
