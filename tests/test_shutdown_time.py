"""A simulated session's start-up and shutdown never wait on simulated time that nobody moves.

In a socket paper session the simulator's clock moves only when the driver steps it, and the
driver steps only while the session trades. A REST call during start-up or shutdown that waits
for its rate budget (on that clock) waited for ever: the graceful stop of the fault suite's
host hung for 14 minutes with nothing scheduled (issue 13). Here the budget to cancel an entry
is spent before the stop, so the shutdown's cancel must wait for it: the venue's time passes
meanwhile, and where it cannot (a venue nobody moves) the shutdown's own bound ends the wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from rate_budgets import limiters_with

from host.clock import Clock
from host.exchange import rest
from host.exchange.ratelimit import OKX_BUDGETS, Budget, RateLimiter
from host.faults import harness
from host.faults.harness import INSTRUMENT, HostUnderTest, fault_settings, fault_simulator
from host.faults.invariants import account_uid
from host.sessions import runner
from host.sessions.runner import Venue
from host.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
CANCEL = "/api/v5/trade/cancel-order"
CLOCK_SYNC = "/api/v5/public/time"
SCARCE_CANCELS = {**OKX_BUDGETS, CANCEL: Budget(1, 10.0, per_instrument=True)}
"""One cancel every ten seconds: the shutdown's cancel waits for its budget."""

RESTING = {
    "enabled": True,
    "offset_ticks": 500,
    "max_wait_seconds": 3600.0,
    "by_regime": {"trending": 3600.0, "ranging": 3600.0, "choppy": 3600.0},
}
"""Entries (frequent ones) far behind the touch that rest for an hour: one rests at the stop."""


@pytest.fixture
def limiters(monkeypatch: pytest.MonkeyPatch) -> list[RateLimiter]:
    """Every rate limiter the host builds, with :data:`SCARCE_CANCELS`; a wedge fails quickly."""
    built = limiters_with(monkeypatch, SCARCE_CANCELS)
    monkeypatch.setattr(harness, "STUCK_WALL_SECONDS", 15.0)
    return built


def resting_settings(directory: Path) -> Settings:
    settings = fault_settings(load_settings(REPO / "config" / "paper.yaml"), directory)
    plugins = {
        **settings.plugins,
        "limit_order_policy": RESTING,
        "momentum_demo": {**settings.plugins["momentum_demo"], "threshold": "0.00002"},
    }
    return settings.model_copy(update={"plugins": plugins})


class TimelessHost(HostUnderTest):
    """The host against a venue whose time nobody moves (as before the fix): waits never end."""

    @property
    def venue(self) -> Venue:
        """The simulator, without its way to move on."""
        return dataclasses.replace(super().venue, advance=None)


def stop_with_a_spent_cancel_budget(host: HostUnderTest, limiters: list[RateLimiter]) -> None:
    """Trade until an entry rests, spend the cancel budget, stop gracefully (the runner's way)."""
    sim = host.sim

    async def scenario() -> None:
        await sim.start()
        try:
            await host.start()
            for _ in range(600):
                await host.advance(1)
                if sim.engine.live_orders(account_uid(sim), INSTRUMENT):
                    break
            assert sim.engine.live_orders(account_uid(sim), INSTRUMENT), "no entry rested"
            for limiter in limiters:  # the budget is spent: the next cancel waits 10 s
                await limiter.acquire(CANCEL, INSTRUMENT)
            await host.stop()
        finally:
            await sim.stop()

    asyncio.run(scenario())


def test_a_graceful_stop_cancels_a_resting_entry_whose_cancel_waits_for_budget(
    tmp_path: Path, limiters: list[RateLimiter]
) -> None:
    sim = fault_simulator(seed=7)
    stop_with_a_spent_cancel_budget(HostUnderTest(resting_settings(tmp_path), sim), limiters)

    assert sum(limiter.waited_seconds for limiter in limiters) > 0  # the budget did bind
    assert not sim.engine.live_orders(account_uid(sim), INSTRUMENT)  # the entry was canceled


def test_a_shutdown_whose_cancel_can_never_go_out_still_ends_and_says_so(
    tmp_path: Path,
    limiters: list[RateLimiter],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(runner, "SHUTDOWN_CANCEL_SECONDS", 1.0)
    sim = fault_simulator(seed=7)
    stop_with_a_spent_cancel_budget(TimelessHost(resting_settings(tmp_path), sim), limiters)

    assert "1 resting entry order(s) not canceled in time" in caplog.text
    assert sim.engine.live_orders(account_uid(sim), INSTRUMENT)  # left for the restart to see


def test_a_start_up_whose_requests_wait_for_budget_gets_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scarce = {**OKX_BUDGETS, CLOCK_SYNC: Budget(1, 10.0)}  # a start-up syncs the clock twice
    limiters: list[RateLimiter] = []

    def limited(clock: Clock, **options: Any) -> RateLimiter:
        limiters.append(RateLimiter(clock, scarce, **options))
        return limiters[-1]

    monkeypatch.setattr(rest, "RateLimiter", limited)
    monkeypatch.setattr(harness, "STUCK_WALL_SECONDS", 15.0)
    sim = fault_simulator(seed=7)
    host = HostUnderTest(fault_settings(Settings(), tmp_path), sim)

    async def scenario() -> None:
        await sim.start()
        try:
            await host.start()
            await host.advance(1)
            await host.stop()
        finally:
            await sim.stop()

    asyncio.run(scenario())

    assert sum(limiter.waited_seconds for limiter in limiters) > 0  # the budget did bind
    assert host.sessions == 1
