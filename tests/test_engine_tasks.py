"""The engine's task keeper: failures reported, and an idle wait that always ends.

The idle test runs its event loop on a thread so that a wait which never yields (it would spin
the loop at full CPU, as ``idle()`` did on Python 3.12 and 3.13 before issue 11) fails the test
after a time limit instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from plugin_factory import NOW

from host.clock import ManualClock
from host.engine.tasks import EngineTasks

LIMIT_SECONDS = 10.0


def ends_within_limit(scenario: object) -> bool:
    """Run the coroutine function ``scenario`` on a loop of its own; whether it ended in time."""
    ended = threading.Event()

    def run() -> None:
        asyncio.run(scenario())  # type: ignore[operator]
        ended.set()

    threading.Thread(target=run, name="idle-scenario", daemon=True).start()
    return ended.wait(LIMIT_SECONDS)


def test_idle_ends_while_a_finished_tasks_done_callback_is_still_pending() -> None:
    async def scenario() -> None:
        tasks = EngineTasks(on_failure=lambda error: None)

        async def finish_at_once() -> None:
            """Ends in its first step, never yielding."""

        tasks.spawn(finish_at_once())
        # One turn of the loop: the task runs and finishes; its done callback is queued behind
        # this coroutine's own resumption, so it has not run when idle() is called.
        await asyncio.sleep(0)
        await tasks.idle()

    assert ends_within_limit(scenario), "idle() did not return: it waits without yielding"


def test_idle_waits_for_tasks_spawned_by_running_tasks() -> None:
    order: list[str] = []

    async def scenario() -> None:
        tasks = EngineTasks(on_failure=lambda error: None)

        async def second() -> None:
            await asyncio.sleep(0.01)
            order.append("second")

        async def first() -> None:
            await asyncio.sleep(0.01)
            tasks.spawn(second())
            order.append("first")

        tasks.spawn(first())
        await tasks.idle()
        order.append("idle")

    assert ends_within_limit(scenario)
    assert order == ["first", "second", "idle"]


async def test_a_failing_task_is_reported_and_a_canceled_one_is_not() -> None:
    failures: list[BaseException] = []
    tasks = EngineTasks(on_failure=failures.append)

    async def fail() -> None:
        raise ValueError("boom")

    tasks.spawn(fail())
    tasks.spawn(asyncio.sleep(60)).cancel()
    await tasks.idle()
    assert [repr(error) for error in failures] == ["ValueError('boom')"]


def test_a_task_asleep_on_the_simulated_clock_leaves_the_engine_idle_until_time_moves() -> None:
    """A request waiting for its rate budget sleeps on the session's clock; counted as busy, it
    would keep the session from moving that clock, and so from ever waking it (issue 13)."""
    woke: list[float] = []

    async def scenario() -> None:
        clock = ManualClock(NOW)
        tasks = EngineTasks(on_failure=lambda error: None, clock=clock)

        async def wait_for_budget() -> None:
            await clock.sleep(2.0)
            woke.append(clock.monotonic())

        tasks.spawn(wait_for_budget())
        await tasks.idle()  # the session may step now
        assert tasks.running == 0
        clock.advance(timedelta(seconds=1))
        await tasks.idle()
        assert woke == []
        clock.advance(timedelta(seconds=1))
        assert tasks.running == 1  # awake again at once: the session waits for it
        await tasks.idle()

    assert ends_within_limit(scenario)
    assert woke == [2.0]
