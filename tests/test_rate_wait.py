"""A request waiting for its rate budget in a simulated session waits on the simulated clock.

The limiter measures its windows on the injected clock. It used to wait with the event loop's
sleep: in a fast replay that time is virtual and the simulated clock stood still meanwhile, so
the budget never freed, the request waited again, and the replay spun on for ever (issue 13).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from rate_budgets import limiters_with

from host.exchange.ratelimit import OKX_BUDGETS, Budget
from host.faults import harness
from host.sessions.fast import run_fast
from host.sessions.replay_loop import ReplayLoop
from host.settings import JournalSettings, Settings, load_settings
from host.sim.config import SimConfig
from host.sim.limits import DEFAULT_LIMITS
from host.sim.server import DEFAULT_START, Simulator

REPO = Path(__file__).resolve().parents[1]

TIGHT: Mapping[str, Budget] = {
    **OKX_BUDGETS,
    "/api/v5/trade/order-algo": Budget(1, 600.0),
}
"""One exchange-side stop every ten minutes: the second entry of a session must wait."""

VIRTUAL_DAY = 86_400.0
"""A bound on the replay loop's virtual time: a wedged replay spins it forward without end."""


class WedgedError(RuntimeError):
    """The replay loop's virtual time ran past a day: the replay waits and nothing moves."""


class BoundedReplayLoop(ReplayLoop):
    """A replay loop that ends the run once its virtual time passes :data:`VIRTUAL_DAY`."""

    def time(self) -> float:
        """Virtual seconds, refused past a day."""
        now = super().time()
        if now > VIRTUAL_DAY:
            raise WedgedError(f"virtual time at {now:.0f} s: the replay is wedged")
        return now


def test_a_fast_replay_whose_orders_wait_for_their_budget_runs_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiters = limiters_with(monkeypatch, TIGHT)
    settings = load_settings(REPO / "config" / "paper.yaml")
    settings = settings.model_copy(update={"journal": JournalSettings(directory=tmp_path)})

    with asyncio.Runner(loop_factory=BoundedReplayLoop) as runner:
        result = runner.run(run_fast(settings, duration=timedelta(minutes=2), seed=1))

    assert sum(limiter.waited_seconds for limiter in limiters) > 0  # the budget did bind
    assert result.stats.entries_filled > 0


async def test_a_start_up_refused_for_the_rate_limit_waits_it_out_in_the_venue_s_time(
    tmp_path: Path,
) -> None:
    """One positions read per 30 s at the exchange: the restore's second read must wait 30 s.

    In OKX's time: waited in real seconds, a simulated venue's clock barely moved meanwhile
    and the window never freed (the host "never got ready").
    """
    base = SimConfig(seed=7)
    sim = Simulator(
        SimConfig(
            seed=7,
            instruments=tuple(i for i in base.instruments if i.inst_id == harness.INSTRUMENT),
            keys=(harness.canary_key(),),
            rate_limits={**DEFAULT_LIMITS, "/api/v5/account/positions": (1, 30.0)},
        ),
        start=DEFAULT_START,
    )
    host = harness.HostUnderTest(harness.fault_settings(Settings(), tmp_path), sim)
    await sim.start()
    try:
        await host.start()
        await host.stop()
    finally:
        await sim.stop()

    assert sim.clock.now() - DEFAULT_START >= timedelta(seconds=30)
