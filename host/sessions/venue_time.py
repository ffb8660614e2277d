"""A simulated venue's time keeps moving while the host starts up and shuts down.

In a socket paper session the exchange's clock (a :class:`~host.clock.ManualClock`) moves only
when the driver steps the simulator, and the driver steps only while the session trades. A
request that waits for its rate budget waits on that clock (:mod:`host.exchange.ratelimit`), so
one made during start-up (the restore) or shutdown (canceling a resting entry) waited for a step
that never came: the fault suite's graceful stop hung for 14 minutes with nothing scheduled
(issue 13). On a real exchange time passes on its own while the host waits; here
:class:`VenueTime` lets it pass the same way: whenever a task sleeps on the venue's clock and no
driver is stepping it, it advances the venue to the end of the earliest wait, as the fast replay
does when only waits on the exchange's clock are left (``host.sessions.fast.Pump``).

This keeps a simulated shutdown *correct* (the entry is canceled, after the budget frees), not
merely finite; the runner's real-time bounds on each REST step of shutdown
(``host.sessions.runner.shutdown``) are the second line, for a venue that never answers.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from types import TracebackType

from host.clock import Clock, ManualClock

Advance = Callable[[timedelta], Awaitable[object]]
"""Moves a simulated venue on by a duration (``Simulator.advance``): its clock and its market."""

STOP_WALL_SECONDS = 1.0
"""Real time :meth:`VenueTime.stop` waits for the keeper to end."""

SMALLEST_STEP = timedelta(microseconds=1)
LARGEST_STEP = timedelta(seconds=1)
"""The furthest the venue moves in one go, as a driver's step (the host takes each step in)."""


class VenueTime:
    """Advances a simulated venue to the next wake of its clock whenever no driver steps it.

    Used as an async context manager around a whole session; :meth:`driven` marks the part in
    which a driver owns the venue's time (then nothing here moves it). For a real venue (no
    ``advance``, or a clock that is not a :class:`~host.clock.ManualClock`) it does nothing.
    """

    def __init__(self, clock: Clock, advance: Advance | None) -> None:
        self._clock = clock if isinstance(clock, ManualClock) and advance is not None else None
        self._advance = advance
        self._dozed = asyncio.Event()
        self._driven = False
        self._keeper: asyncio.Task[None] | None = None
        self._caught_up: Callable[[], Awaitable[object]] | None = None

    def taken_in_by(self, caught_up: Callable[[], Awaitable[object]]) -> None:
        """After each move, wait for ``caught_up()``: the host has taken in its pushes.

        As a driver does between steps. Unread, a burst of pushes fills the socket's receive
        queue, and closing it then waits out its time-out for a close frame stuck behind them.
        """
        self._caught_up = caught_up

    async def __aenter__(self) -> VenueTime:
        """Start keeping time (a simulated venue only)."""
        if self._clock is not None:
            self._clock.on_doze(self._dozed.set)
            self._keeper = asyncio.create_task(self._keep(self._clock))
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop keeping time (if :meth:`stop` has not)."""
        await self.stop()

    async def stop(self) -> None:
        """Stop keeping time: the session is over, only its sockets are still to close.

        The venue must stand still from here on: its pushes would pile up unread in a socket
        that is closing, in front of the close frame the closing waits for.
        """
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            self._driven = True  # from now on the keeper moves nothing, even if it runs on
            keeper.cancel()
            # Bounded: the keeper may be in the venue's advance, waiting for a socket to take
            # its pushes; it moves nothing more (driven) and ends at its next look.
            await asyncio.wait({keeper}, timeout=STOP_WALL_SECONDS)

    @asynccontextmanager
    async def driven(self) -> AsyncIterator[None]:
        """While inside, a driver steps the venue: its waits end with its steps, not here."""
        self._driven = True
        try:
            yield
        finally:
            self._driven = False
            self._dozed.set()  # a wait begun while driven may be left: look again

    async def _keep(self, clock: ManualClock) -> None:
        assert self._advance is not None  # noqa: S101 -- implied by a clock being kept
        while self._keeper is not None:
            wake = None if self._driven else clock.next_wake()
            if wake is None:
                self._dozed.clear()
                await self._dozed.wait()
                continue
            await self._advance(min(LARGEST_STEP, _at_least(wake - clock.monotonic())))
            if self._caught_up is not None:
                await self._caught_up()


def _at_least(seconds: float) -> timedelta:
    """``seconds`` rounded *up* to whole microseconds, and never zero.

    Rounded to the nearest, a wait could fall short of its deadline by a fraction of a
    microsecond, and a zero advance would never end it: the keeper would spin.
    """
    return max(SMALLEST_STEP, timedelta(microseconds=math.ceil(seconds * 1e6)))
