"""A webhook receiver that misbehaves on purpose: slow, failing, refusing, losing replies.

A real aiohttp server on 127.0.0.1. Its misbehaviour follows the request count, not chance, so
a run is the same every time: every other request is answered 500; every fifth is taken (its
event recorded) and then not answered in time, so the sender never learns it arrived and tries
again (the "lost reply" that makes at-least-once delivery deliver twice); and after the third
request the server stops listening for a while, so connections are refused. It de-duplicates
by the ``Idempotency-Key`` header, as a receiver of an at-least-once sender must.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from aiohttp import web

LOST_REPLY_SECONDS = 30.0
"""How long a "lost" reply is held back: far past any sender's time-out in these tests."""


@dataclass
class FlakyReceiver:
    """The receiver's state: what it was sent, what it kept, and when it misbehaves."""

    fail_every: int = 2
    lose_reply_every: int = 5
    refuse_after: int | None = 3
    refuse_seconds: float = 0.3
    requests: int = 0
    taken: list[str] = field(default_factory=list)
    """Every event id it processed, repeats included, in arrival order."""
    bodies: dict[str, dict[str, object]] = field(default_factory=dict)
    answered_500: int = 0
    hold: asyncio.Event | None = None
    """While set to an unset event, every request waits for it before anything else."""
    url: str = ""
    refusing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when ``refuse_after`` requests have come: the server then stops listening."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by the first request."""

    @property
    def unique(self) -> list[str]:
        """The event ids in first-seen order: what the receiver acts on after de-duplication."""
        return list(dict.fromkeys(self.taken))

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        number = self.requests
        self.arrived.set()
        if number == self.refuse_after:
            self.refusing.set()
        if self.hold is not None:
            await self.hold.wait()
        if number % self.fail_every == 1:
            self.answered_500 += 1
            return web.Response(status=500)
        event_id = request.headers["Idempotency-Key"]
        self.taken.append(event_id)
        self.bodies[event_id] = json.loads(await request.read())
        if number % self.lose_reply_every == 0:
            await asyncio.sleep(LOST_REPLY_SECONDS)
        return web.Response(status=204)


@asynccontextmanager
async def flaky_receiver(receiver: FlakyReceiver | None = None) -> AsyncIterator[FlakyReceiver]:
    """Serve ``receiver`` on a free port of 127.0.0.1 (refusing connections when it says so)."""
    receiver = receiver or FlakyReceiver()
    app = web.Application()
    app.router.add_post("/hook/{token}", receiver.handle)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)  # not ours to log
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hook/secret-token-123"
    refusing = asyncio.get_running_loop().create_task(_refuse_a_while(receiver, runner, port))
    try:
        yield receiver
    finally:
        refusing.cancel()
        with suppress(asyncio.CancelledError):
            await refusing
        await runner.cleanup()


async def _refuse_a_while(receiver: FlakyReceiver, runner: web.AppRunner, port: int) -> None:
    """Once ``refuse_after`` requests came, stop listening for ``refuse_seconds``, then resume."""
    if receiver.refuse_after is None:
        return
    await receiver.refusing.wait()
    for site in list(runner.sites):
        await site.stop()
    await asyncio.sleep(receiver.refuse_seconds)
    await web.TCPSite(runner, "127.0.0.1", port, reuse_address=True).start()
