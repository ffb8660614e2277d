"""The engine's background tasks: none fails unnoticed, and a replay can wait for all of them.

Waiting for "no task running" is done on an event that the last task's done callback sets, never
by polling the set of tasks. Polling spins on Python 3.12 and later: a finished task leaves the
set only when its done callback runs, and gathering finished tasks returns without yielding to
the loop that would run that callback (issue 11: a paper session hung at full CPU).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class EngineTasks:
    """Spawns the engine's tasks, reports each failure, and tells when none is running."""

    def __init__(self, on_failure: Callable[[BaseException], None]) -> None:
        self._on_failure = on_failure
        self._running: set[asyncio.Task[object]] = set()
        self._quiet = asyncio.Event()
        self._quiet.set()

    def spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        """Run ``work`` as a task; a failure is handed to ``on_failure``, never lost silently."""
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        self._quiet.clear()
        task.add_done_callback(self._done)
        return task

    @property
    def running(self) -> int:
        """How many tasks are not finished yet (a replay settles a step until none is left)."""
        return len(self._running)

    async def idle(self) -> None:
        """Return once no task is running (a replay waits for this before moving time)."""
        await self._quiet.wait()

    def _done(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        if not self._running:
            self._quiet.set()
        if not task.cancelled() and (error := task.exception()) is not None:
            self._on_failure(error)
