"""An event loop on virtual time, for replays: it never sleeps and it never races the clock.

The engine waits on the event loop's clock in a few places (a position that should show within
``position_visible_delay_seconds``, a close order given a moment to finish). In a replay the
simulated exchange stands still while the host waits, so waiting on the wall clock changes
nothing but the run time — and it lets the machine's speed decide whether a push or a timeout
comes first. On this loop, time passes only when nothing else can run: the wait is free, and
its outcome is the same on every machine.

A replay's driver also asks the loop when everything that can run has run
(:meth:`ReplayLoop.quiescent`), which is when it hands over the next push.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _IdleAwareSelector(selectors.DefaultSelector):
    """Tells the loop when it would block, and lets it decide how long (on virtual time)."""

    def __init__(self, on_idle: Callable[[float | None], float | None]) -> None:
        super().__init__()
        self._on_idle = on_idle

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Poll; when nothing is ready to run (a wait coming), the loop chooses the wait."""
        if timeout is None or timeout > 0:
            timeout = self._on_idle(timeout)
        return super().select(timeout)


class ReplayLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose clock jumps to the next timer when nothing else can run."""

    def __init__(self) -> None:
        super().__init__(_IdleAwareSelector(self._idle))
        self._virtual_time = 0.0
        self._waiters: list[tuple[asyncio.Future[bool], bool]] = []

    def time(self) -> float:
        """Virtual seconds: they pass only when the loop has nothing to run."""
        return self._virtual_time

    async def quiescent(self, *, let_time_pass: bool = False) -> bool:
        """Return once nothing can run but timers; with ``let_time_pass``, the next one fires.

        Returns whether time passed: ``False`` with ``let_time_pass`` means no timer is left,
        so whatever still waits can only be woken by something the caller does.
        """
        waiter: asyncio.Future[bool] = self.create_future()
        self._waiters.append((waiter, let_time_pass))
        return await waiter

    def _idle(self, timeout: float | None) -> float | None:
        """Called instead of blocking for ``timeout`` (``None``: no timer at all)."""
        waiters, self._waiters = self._waiters, []
        jump = timeout is not None and (not waiters or any(let for _, let in waiters))
        if jump:
            assert timeout is not None  # noqa: S101 -- implied by jump
            self._virtual_time += timeout
        for waiter, _ in waiters:
            if not waiter.done():
                waiter.set_result(jump)
        if waiters or jump:
            return 0
        return None  # nothing to run, no timer: only I/O (a signal) can wake the loop


def run_on_replay_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to completion on a new :class:`ReplayLoop` (as :func:`asyncio.run` does)."""
    with asyncio.Runner(loop_factory=ReplayLoop) as runner:
        result = runner.run(work)
        # The runner's own shutdown of the default executor waits at most 300 s of *loop* time
        # (Python 3.12+), which this loop jumps past at once while a thread is still joining:
        # shut it down here without a limit, so the wait is in real time.
        loop = runner.get_loop()
        loop.run_until_complete(loop.shutdown_default_executor())
        return result
