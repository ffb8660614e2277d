"""Time: one injected clock, and every timestamp timezone-aware UTC.

The bot scalphost replaces called ``datetime.now()`` in 103 places and got holding times wrong
whenever the server was not on UTC. Here the only module that reads the wall clock is
:class:`LiveClock`; everything else asks a :class:`Clock` it was given, so tests and the simulator
control time. Ruff's ``DTZ`` rules make a naive datetime a lint error.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable


class NaiveDatetimeError(ValueError):
    """A datetime without a UTC offset reached a place that needs an absolute instant."""


@runtime_checkable
class Clock(Protocol):
    """Where the host and its plugins learn the time."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes backwards (for timeouts and latency)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until :meth:`monotonic` has moved ``seconds`` on: a wait measured on this clock."""
        ...


class LiveClock:
    """The real clock. The only place in scalphost allowed to read the system time."""

    def now(self) -> datetime:
        """Return the system time as an aware UTC datetime."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time (:func:`asyncio.sleep`)."""
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to: for tests, replays and the simulator.

    A wait on it (:meth:`sleep`) ends when whoever drives the clock has advanced it far enough,
    never by the wall clock or the event loop's: in a simulated session the exchange stands
    still while the host waits, so only the session's next step can end the wait. A session
    therefore counts a task asleep here as done for its step (:meth:`asleep`), or the step
    that would wake it never comes.
    """

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)
        self._monotonic = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None], asyncio.Task[Any] | None]] = []
        """Pending :meth:`sleep` calls: (monotonic deadline, order of arrival, wake-up, task)."""
        self._order = itertools.count()
        self._asleep: set[asyncio.Task[Any] | None] = set()
        self._on_doze: list[Callable[[], None]] = []

    def now(self) -> datetime:
        """Return the instant the clock was last set or advanced to."""
        return self._now

    def monotonic(self) -> float:
        """Return the seconds advanced since construction."""
        return self._monotonic

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward by ``delta`` (never backwards) and return the new instant."""
        if delta < timedelta(0):
            raise ValueError("a clock never runs backwards")
        self._now += delta
        self._monotonic += delta.total_seconds()
        while self._sleepers and self._sleepers[0][0] <= self._monotonic:
            _, _, wake, task = heapq.heappop(self._sleepers)
            self._asleep.discard(task)  # awake from now on, though it resumes a moment later
            if not wake.done():
                wake.set_result(None)
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds`` (a non-positive wait yields)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        task = asyncio.current_task()
        deadline = self._monotonic + seconds
        heapq.heappush(self._sleepers, (deadline, next(self._order), wake, task))
        self._asleep.add(task)
        for listener in self._on_doze:
            listener()
        try:
            await wake
        finally:
            self._asleep.discard(task)

    def next_wake(self) -> float | None:
        """The :meth:`monotonic` time the earliest pending :meth:`sleep` ends at, if any."""
        while self._sleepers and self._sleepers[0][2].done():  # canceled meanwhile
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def asleep(self, task: asyncio.Task[Any]) -> bool:
        """Whether ``task`` waits in :meth:`sleep` (only advancing the clock wakes it)."""
        return task in self._asleep

    def on_doze(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever a task starts a :meth:`sleep`."""
        self._on_doze.append(listener)


monotonic_ns = time.perf_counter_ns
"""Nanoseconds on the finest clock that never goes backwards: for measuring how long a call took.

Real time even in a simulated session (a plugin's cost is real), and cheap enough for the hot
path: the guard around every hook call reads it twice (bench/bench_guard.py measures the cost).
Only differences between two readings mean anything.
"""


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` converted to UTC; refuse a naive datetime instead of guessing its zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(f"naive datetime {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def is_aware_utc(moment: object) -> bool:
    """Tell whether ``moment`` is a datetime in UTC (offset zero), as the host requires."""
    return isinstance(moment, datetime) and moment.utcoffset() == timedelta(0)


MAX_OKX_MS_DIGITS = 15
"""Digits of the largest millisecond time a datetime can hold (year 9999 is 2.5e14 ms)."""


def from_okx_ms(text: str) -> datetime:
    """Turn an OKX millisecond timestamp string (``ts``, ``cTime``, ``uTime``) into aware UTC.

    Integer arithmetic keeps the milliseconds exact (no float round-trip). A time past the year
    9999 (``"300000000000000"``, thirty 9s) is a :class:`ValueError` like any other malformed
    field, so the decoder drops its frame instead of dying of an ``OverflowError``.
    """
    if not text.isdigit() or len(text) > MAX_OKX_MS_DIGITS:
        raise ValueError(f"not an OKX millisecond timestamp: {text[:40]!r}")
    try:
        return EPOCH + timedelta(milliseconds=int(text))
    except OverflowError as error:
        raise ValueError(f"OKX timestamp out of range: {text!r}") from error


def to_okx_ms(moment: datetime) -> str:
    """Turn an aware datetime into OKX's millisecond string (truncating sub-millisecond parts)."""
    delta = ensure_utc(moment) - EPOCH
    return str(delta // timedelta(milliseconds=1))


def to_okx_iso(moment: datetime) -> str:
    """Format an instant as OKX's REST signing timestamp, e.g. ``2020-12-08T09:08:57.715Z``."""
    utc = ensure_utc(moment)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
