"""The engine's background tasks: none fails unnoticed, and a replay can wait for all of them.

Waiting for "no task running" is done on an event that the last task's done callback sets, never
by polling the set of tasks. Polling spins on Python 3.12 and later: a finished task leaves the
set only when its done callback runs, and gathering finished tasks returns without yielding to
the loop that would run that callback (issue 11: a paper session hung at full CPU).

A task asleep on a simulated clock (:meth:`host.clock.ManualClock.sleep`, a request waiting for
its rate budget) counts as idle: it waits for simulated time, which the session moves only once
the engine is idle — counted as running, it would wedge the session for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from host.clock import Clock, ManualClock


class EngineTasks:
    """Spawns the engine's tasks, reports each failure, and tells when none is running."""

    def __init__(
        self, on_failure: Callable[[BaseException], None], clock: Clock | None = None
    ) -> None:
        self._on_failure = on_failure
        self._running: set[asyncio.Task[object]] = set()
        self._changed = asyncio.Event()
        """Set when a task ends or falls asleep on the simulated clock: idle() looks again."""
        self._simulated = clock if isinstance(clock, ManualClock) else None
        if self._simulated is not None:
            self._simulated.on_doze(self._changed.set)

    def spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        """Run ``work`` as a task; a failure is handed to ``on_failure``, never lost silently."""
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    @property
    def running(self) -> int:
        """How many tasks are neither finished nor asleep on the simulated clock.

        A replay settles a step until none is left.
        """
        clock = self._simulated
        if clock is None:
            return len(self._running)
        return sum(1 for task in self._running if not clock.asleep(task))

    async def idle(self) -> None:
        """Return once no task is running (a replay waits for this before moving time)."""
        while self.running:
            self._changed.clear()
            await self._changed.wait()

    def _done(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        self._changed.set()
        if not task.cancelled() and (error := task.exception()) is not None:
            self._on_failure(error)
