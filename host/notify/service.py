"""The notifier service: events in with one call, messages out from its own tasks.

:meth:`Notifier.emit` is all the engine does: it appends the event's builder and facts to a
bounded inbox and wakes the notifier's task — no event text, no hook call, no I/O, no await, so
a fill is never slowed by a notifier or its receiver.
The task asks the plugins (``notification_for``) in event order and puts each answer in its
plugin's lane. Each lane is one task that sends its messages strictly in order: the head is
tried until it is delivered, refused or out of attempts (waiting the back-off between attempts
and the rate limit before each), and only then the next. So a receiver sees a plugin's messages
in the order of the events, a receiver that hangs holds back only its own lane (each attempt is
bounded by the notification's time-out), and nothing here ever blocks the event loop.

Delivery is at least once: a reply lost after the receiver took the message makes the host try
again, with the same ``Idempotency-Key`` (the event's id), and the receiver drops the repeat.
Nothing is emitted before :meth:`Notifier.run` starts, nor at all when no plugin implements the
hook (a session without notifiers builds no event past the check).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TypeVarTuple

import aiohttp

from host.clock import Clock
from host.decisions import Notification
from host.dispatch import HookDispatch
from host.domain import HostEvent
from host.exchange.backoff import Backoff
from host.exchange.ratelimit import Budget, RateLimiter, Sleep
from host.notify.transport import Transport, Verdict, WebhookTransport
from host.settings import NotifySettings

_log = logging.getLogger(__name__)

Ts = TypeVarTuple("Ts")

RATE_KEY = "notify"
"""The rate limiter's budget name; it counts per plugin."""


@dataclass(slots=True)
class Delivery:
    """One plugin's message about one event, and how often it was tried."""

    plugin: str
    event: HostEvent
    notification: Notification
    attempts: int = 0


@dataclass(slots=True)
class NotifyFigures:
    """What became of the messages: for the log at shutdown and for tests."""

    delivered: int = 0
    given_up: int = 0
    dropped: int = 0
    """Events or messages refused because their queue was full."""


class Notifier:
    """Takes events from the engine and delivers the plugins' messages about them."""

    def __init__(
        self,
        dispatch: HookDispatch,
        settings: NotifySettings,
        clock: Clock,
        mode: str,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._dispatch = dispatch
        self._settings = settings
        self._mode = mode
        self._sleep = sleep
        self._limiter = RateLimiter(
            clock, {RATE_KEY: Budget(settings.max_per_minute, 60.0, per_instrument=True)}, sleep
        )
        self._backoff = Backoff(
            settings.retry_first_seconds, ceiling_seconds=settings.retry_max_seconds
        )
        self._inbox: deque[Callable[[], HostEvent]] = deque()
        self._wake = asyncio.Event()
        self._lanes: dict[str, deque[Delivery]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._listening = False
        self.figures = NotifyFigures()

    def emit(self, build: Callable[[*Ts], HostEvent], *facts: *Ts) -> None:
        """Queue the event ``build(*facts)`` for the notifiers; O(1), never waits or raises.

        The event is built later, in the notifier's task (the facts are frozen values), so the
        caller pays for neither its text nor, with no notifier listening, anything at all.
        """
        if not self._listening:
            return
        if len(self._inbox) >= self._settings.queue_size:
            self._drop(build.__name__, "the event queue")
            return
        self._inbox.append(functools.partial(build, *facts))
        self._wake.set()

    async def run(self, transport: Transport) -> None:
        """Ask the plugins about each event and deliver their answers, until cancelled.

        Returns at once when no plugin implements ``notification_for``: then nothing listens.
        """
        if not self._dispatch.has_notifiers():
            return
        self._listening = True
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._inbox:
                    self._ask(self._inbox.popleft()(), transport)
                    await asyncio.sleep(0)  # one event's hook call at a time, trading between
        finally:
            self._listening = False
            for sender in self._sending():
                sender.cancel()

    async def drain(self, seconds: float) -> None:
        """Give the queued events and messages up to ``seconds`` to go out (at shutdown)."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while self._inbox or self._sending():
                    if self._inbox:  # the run task asks about them as soon as it runs
                        await asyncio.sleep(0)
                    else:
                        await asyncio.wait(self._sending())

    def _sending(self) -> set[asyncio.Task[None]]:
        return {sender for sender in self._senders.values() if not sender.done()}

    def _ask(self, event: HostEvent, transport: Transport) -> None:
        for plugin, notification in self._dispatch.notification_for(event, self._mode):
            lane = self._lanes.setdefault(plugin, deque())
            if len(lane) >= self._settings.queue_size:
                self._drop(event.event_id, f"{plugin}'s queue")
                continue
            lane.append(Delivery(plugin, event, notification))
            sender = self._senders.get(plugin)
            if sender is None or sender.done():
                self._senders[plugin] = asyncio.get_running_loop().create_task(
                    self._send(lane, transport)
                )

    async def _send(self, lane: deque[Delivery], transport: Transport) -> None:
        """Deliver a lane's messages in order, each until it is delivered or given up."""
        while lane:
            delivery = lane[0]
            await self._limiter.acquire(RATE_KEY, delivery.plugin)
            attempt = await transport(delivery.notification, delivery.event.event_id)
            delivery.attempts += 1
            if attempt.verdict is Verdict.DELIVERED:
                lane.popleft()
                self.figures.delivered += 1
            elif (
                attempt.verdict is Verdict.REFUSED
                or delivery.attempts >= self._settings.max_attempts
            ):
                lane.popleft()
                self.figures.given_up += 1
                _log.warning(
                    "notifier %r gave up on %s after %d attempt(s): %s",
                    delivery.plugin,
                    delivery.event.event_id,
                    delivery.attempts,
                    attempt.detail,
                )
            else:
                await self._sleep(self._backoff.delay(delivery.attempts - 1))

    def _drop(self, what: str, queue: str) -> None:
        self.figures.dropped += 1
        log = _log.warning if self.figures.dropped == 1 else _log.debug
        log("notification (%s) dropped: %s is full", what, queue)


@asynccontextmanager
async def delivering(notifier: Notifier, drain_seconds: float) -> AsyncIterator[Notifier]:
    """Run ``notifier`` over its own HTTP session for the block; drain it on the way out.

    Its own session, not the exchange's: a slow receiver never shares a connection pool with an
    order. Listening starts before the block does, so no event of the block is missed.
    """
    async with aiohttp.ClientSession() as session:
        running = asyncio.get_running_loop().create_task(notifier.run(WebhookTransport(session)))
        await asyncio.sleep(0)  # the task starts listening before the first event can come
        try:
            yield notifier
        finally:
            await notifier.drain(drain_seconds)
            running.cancel()
            with suppress(asyncio.CancelledError):
                await running
            figures = notifier.figures
            if figures.given_up or figures.dropped:
                _log.warning(
                    "notifications: %d delivered, %d given up, %d dropped",
                    figures.delivered,
                    figures.given_up,
                    figures.dropped,
                )
