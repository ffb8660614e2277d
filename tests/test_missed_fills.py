"""A fill whose orders push is lost reaches the journal within one reconciliation (issue 13).

The real host against the simulator over loopback: the simulator drops the push, and only the
periodic reconciliation's read of ``trade/fills`` can bring the fill.
"""

from __future__ import annotations

from pathlib import Path

from engine_harness import BTC, Session, run_session

from host.faults.invariants import account_uid
from host.sim.server import Simulator

RECONCILE_SECONDS = 10


def exchange_trades(sim: Simulator) -> set[tuple[str, str]]:
    uid = account_uid(sim)
    return {(f["instId"], f["tradeId"]) for f in sim.ledger.fills() if f["uid"] == uid}


async def test_an_outside_fill_whose_push_is_lost_is_journaled_by_the_reconciliation(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        await session.advance(3)
        sim, journal = session.sim, session.engine.journal
        session.engine.positions.reconcile_at(sim.clock.monotonic() + RECONCILE_SECONDS)
        sim.faults.drop_pushes(count=1, channel="orders")
        sim.faults.external_order(BTC, "buy", "0.5")
        await session.advance(2)
        (trade,) = exchange_trades(sim)
        assert trade not in await journal.seen_trade_ids()  # the push is lost
        for _ in range(RECONCILE_SECONDS):
            await session.advance(1)
            if trade in await journal.seen_trade_ids():
                return
        raise AssertionError(f"fill {trade} not journaled within one reconciliation interval")

    await run_session(tmp_path, script, reconcile_interval_seconds=RECONCILE_SECONDS)
