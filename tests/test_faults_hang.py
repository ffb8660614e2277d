"""The fault suite never hangs: a host that stops keeping up is a crash in the figures.

Every wait on the host is bounded in real time and does not depend on the host honouring its
cancellation: ``asyncio.timeout`` cancels and then waits for the work to end, and a session
whose shutdown never ends kept ``scalphost faults`` waiting for 14 minutes (issue 13).
Here the host's shutdown ignores cancellation and never ends, the worst case there is.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest

from host.engine.engine import Engine
from host.faults import harness
from host.faults.harness import SessionEndedError, unless_stuck
from host.sessions import runner
from host.settings import Settings
from tests.test_faults import RESTART, drive, outside, wait

STUCK_SECONDS = 0.5
"""The suite's bound on a host that stopped keeping up, made short for the test."""


async def never_ending() -> None:
    """Work that ignores every cancellation and waits for what never comes."""
    while True:
        with suppress(asyncio.CancelledError):
            await asyncio.Event().wait()


@pytest.fixture
def quickly_stuck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "STUCK_WALL_SECONDS", STUCK_SECONDS)


@pytest.mark.usefixtures("quickly_stuck")
def test_work_that_ignores_its_cancellation_is_a_crash_naming_what_it_waits_for() -> None:
    async def stuck() -> None:
        await never_ending()

    async def attempt() -> str:
        try:
            await unless_stuck(stuck())
        except SessionEndedError as ended:
            return str(ended)
        return "it returned"

    loop = asyncio.new_event_loop()
    try:
        said = loop.run_until_complete(attempt())
    finally:
        loop.close()  # the stuck task is left behind, as the suite leaves it

    assert said.startswith("the host stopped keeping up: ")


@pytest.mark.usefixtures("quickly_stuck")
def test_a_host_whose_shutdown_never_ends_is_counted_as_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def hanging_shutdown(engine: Engine, settings: Settings) -> None:
        await never_ending()

    monkeypatch.setattr(runner, "shutdown", hanging_shutdown)

    figures = drive([outside(), wait(3), RESTART, wait(3)])

    assert figures.violated["host alive"] >= 1
    assert any("the host stopped keeping up" in line for line in figures.evidence)
    assert not figures.passed
