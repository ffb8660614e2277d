"""The notifier's delivery queue on an injected clock: order, back-off, give-up, rate, bounds.

The transport is a scripted receiver (each call answers the next verdict of its script) and
every wait advances a :class:`~host.clock.ManualClock` instead of sleeping, so the instants of
the attempts are exact. The plugins are real plugins through the real dispatch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from plugin_factory import NOW, make_host

from host import HostEvent, Notification, hookimpl
from host.clock import ManualClock
from host.notify.events import breaker_trip_event
from host.notify.service import Notifier
from host.notify.transport import Attempt, Verdict
from host.settings import NotifySettings

DELIVERED = Attempt(Verdict.DELIVERED, "HTTP 200")
FAILED = Attempt(Verdict.RETRY, "HTTP 500")
REFUSED = Attempt(Verdict.REFUSED, "HTTP 404")


class Everything:
    """A notifier plugin that wants every event sent to its receiver."""

    @hookimpl
    def notification_for(self, event: HostEvent) -> Notification:
        return Notification("http://everything.invalid/", {"id": event.event_id})


class Others:
    """A second notifier with its own receiver."""

    @hookimpl
    def notification_for(self, event: HostEvent) -> Notification:
        return Notification("http://others.invalid/", {"id": event.event_id})


class Receiver:
    """Answers each attempt from a script (then delivers); notes what came when."""

    def __init__(self, clock: ManualClock, script: Iterable[Attempt] = ()) -> None:
        self.clock = clock
        self.script = list(script)
        self.attempts: list[tuple[str, str, float]] = []
        self.hang: dict[str, asyncio.Event] = {}
        """Receivers (by URL) that do not answer until their event is set."""

    async def __call__(self, notification: Notification, event_id: str) -> Attempt:
        self.attempts.append((notification.url, event_id, self.clock.monotonic()))
        if notification.url in self.hang:
            await self.hang[notification.url].wait()
        return self.script.pop(0) if self.script else DELIVERED

    def ids(self, url: str = "http://everything.invalid/") -> list[str]:
        return [event_id for to, event_id, _ in self.attempts if to == url]

    def times(self) -> list[float]:
        return [at for _, _, at in self.attempts]


def event(n: int) -> HostEvent:
    return breaker_trip_event(NOW + timedelta(seconds=n), f"p{n}", "test")


@asynccontextmanager
async def running(
    receiver: Receiver, *plugins: type, **settings: object
) -> AsyncIterator[Notifier]:
    """A notifier over ``plugins`` whose waits advance ``receiver.clock``; drained at the end."""
    clock = receiver.clock

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    host = make_host(*(plugins or (Everything,)))
    notifier = Notifier(host.dispatch, NotifySettings(**settings), clock, "paper", sleep=sleep)
    task = asyncio.get_running_loop().create_task(notifier.run(receiver))
    await asyncio.sleep(0)
    try:
        yield notifier
        await notifier.drain(5.0)
    finally:
        task.cancel()


async def test_a_failing_receiver_is_retried_with_doubling_waits_and_the_order_kept(
    manual_clock: ManualClock,
) -> None:
    receiver = Receiver(manual_clock, [FAILED, FAILED, FAILED])
    async with running(receiver, retry_first_seconds=1.0, retry_max_seconds=60.0) as notifier:
        notifier.emit(event, 1)
        notifier.emit(event, 2)
    assert receiver.ids() == [event(1).event_id] * 4 + [event(2).event_id]
    assert receiver.times() == [0.0, 1.0, 3.0, 7.0, 7.0]
    assert notifier.figures.delivered == 2


async def test_the_wait_between_attempts_stops_growing_at_its_ceiling(
    manual_clock: ManualClock,
) -> None:
    receiver = Receiver(manual_clock, [FAILED] * 5)
    async with running(receiver, retry_first_seconds=1.0, retry_max_seconds=3.0) as notifier:
        notifier.emit(event, 1)
    assert receiver.times() == [0.0, 1.0, 3.0, 6.0, 9.0, 12.0]


async def test_a_message_out_of_attempts_is_given_up_and_the_next_one_goes(
    manual_clock: ManualClock,
) -> None:
    receiver = Receiver(manual_clock, [FAILED, FAILED, FAILED])
    async with running(receiver, max_attempts=3) as notifier:
        notifier.emit(event, 1)
        notifier.emit(event, 2)
    assert receiver.ids() == [event(1).event_id] * 3 + [event(2).event_id]
    assert (notifier.figures.given_up, notifier.figures.delivered) == (1, 1)


async def test_a_refused_message_is_not_tried_again(manual_clock: ManualClock) -> None:
    receiver = Receiver(manual_clock, [REFUSED])
    async with running(receiver) as notifier:
        notifier.emit(event, 1)
        notifier.emit(event, 2)
    assert receiver.ids() == [event(1).event_id, event(2).event_id]
    assert notifier.figures.given_up == 1


async def test_the_rate_limit_spaces_a_burst_per_minute(manual_clock: ManualClock) -> None:
    receiver = Receiver(manual_clock)
    async with running(receiver, max_per_minute=2) as notifier:
        for n in range(5):
            notifier.emit(event, n)
    assert receiver.times() == [0.0, 0.0, 60.0, 60.0, 120.0]
    assert receiver.ids() == [event(n).event_id for n in range(5)]


async def test_a_full_inbox_drops_new_events_once_for_all_notifiers(
    manual_clock: ManualClock,
) -> None:
    receiver = Receiver(manual_clock)
    async with running(receiver, Everything, Others, queue_size=2) as notifier:
        for n in range(5):  # no await between: the notifier's task has not taken any yet
            notifier.emit(event, n)
    first_two = [event(0).event_id, event(1).event_id]
    assert receiver.ids() == receiver.ids("http://others.invalid/") == first_two
    assert notifier.figures.dropped == 3  # three events, not three messages per notifier


async def test_a_full_lane_drops_new_messages_while_its_receiver_hangs(
    manual_clock: ManualClock,
) -> None:
    receiver = Receiver(manual_clock)
    release = receiver.hang["http://everything.invalid/"] = asyncio.Event()
    async with running(receiver, queue_size=2) as notifier:
        for n in range(5):
            notifier.emit(event, n)
            await asyncio.sleep(0)  # each event leaves the inbox for the lane before the next
        release.set()
    assert receiver.ids() == [event(0).event_id, event(1).event_id]
    assert notifier.figures.dropped == 3


async def test_a_hanging_receiver_holds_back_only_its_own_plugins_messages(
    manual_clock: ManualClock,
) -> None:
    receiver = Receiver(manual_clock)
    release = receiver.hang["http://everything.invalid/"] = asyncio.Event()
    async with running(receiver, Everything, Others) as notifier:
        for n in range(3):
            notifier.emit(event, n)
        for _ in range(10):
            await asyncio.sleep(0)
        assert receiver.ids("http://others.invalid/") == [event(n).event_id for n in range(3)]
        assert receiver.ids() == [event(0).event_id]  # still waiting for its first answer
        release.set()
    assert receiver.ids() == [event(n).event_id for n in range(3)]


async def test_nothing_is_built_or_kept_without_a_notifier_plugin(
    manual_clock: ManualClock,
) -> None:
    host = make_host()
    notifier = Notifier(host.dispatch, NotifySettings(), manual_clock, "paper")
    await asyncio.wait_for(notifier.run(Receiver(manual_clock)), 1.0)  # returns at once
    notifier.emit(event, 1)
    assert notifier.figures == type(notifier.figures)()


@pytest.mark.parametrize(
    "answer",
    [
        Notification("ftp://x.invalid/", {}),
        Notification("http://x.invalid/", {}, timeout_seconds=0),
        Notification("http://x.invalid/", {}, timeout_seconds=float("nan")),
        "http://x.invalid/",
    ],
)
def test_an_invalid_notification_is_counted_and_not_sent(answer: object) -> None:
    class Invalid:
        @hookimpl
        def notification_for(self) -> object:
            return answer

    host = make_host(Invalid)
    assert host.dispatch.notification_for(event(1), "paper") == ()
    assert host.faults.counts[("invalid", "notification_for")] == 1


def test_hook_notification_for_collects_every_plugins_answer_even_after_a_failure() -> None:
    class Broken:
        @hookimpl
        def notification_for(self) -> Notification:
            raise RuntimeError("boom")

    class LiveOnly:
        @hookimpl
        def notification_for(self, mode: str) -> Notification | None:
            return Notification("https://live.invalid/", {}) if mode == "live" else None

    host = make_host(Everything, Broken, LiveOnly)
    answered = host.dispatch.notification_for(event(1), "live")
    assert sorted(plugin for plugin, _ in answered) == ["everything", "liveonly"]
    assert host.dispatch.notification_for(event(1), "paper")[0][0] == "everything"
    assert host.faults.counts[("broken", "notification_for")] == 2
