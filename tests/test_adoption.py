"""Adopting a position the host does not know: only what OKX confirms over REST (issue 13).

A positions push is one message; the exchange's word is its REST answer. These run the real host
against the simulator over loopback and push, besides the simulator's own pushes, a made-up one.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from engine_harness import BTC, Session, run_session
from samples import sample

from host.clock import to_okx_ms
from host.domain import PositionOrigin
from host.faults.invariants import orders_sent
from host.settings import ExchangeSettings
from host.sim.server import Simulator

PHANTOM_POS_ID = "999000111222333444"

QUICK_RETRIES = ExchangeSettings(retry_backoff_seconds=0.01, max_retries=1)
"""A REST read that fails gives up after one quick retry."""


def phantom_push(sim: Simulator) -> str:
    """A well-formed positions push (OKX's own sample) for a BTC long OKX does not have."""
    frame = sample("ws_positions_push_swap_net_real_ccxt.json")
    now = to_okx_ms(sim.clock.now())
    mark = str(sim.engine.market(BTC).mark)
    frame["arg"]["instId"] = BTC
    frame["data"][0] |= {
        "instId": BTC,
        "posId": PHANTOM_POS_ID,
        "pos": "1",
        "avgPx": mark,
        "markPx": mark,
        "cTime": now,
        "uTime": now,
        "pTime": now,
    }
    return json.dumps(frame)


def push_private(sim: Simulator, text: str) -> None:
    for session in sim.hub.matching("private"):
        session.send(text, sim.clock.now())


async def test_a_pushed_position_okx_does_not_list_is_neither_adopted_nor_protected(
    tmp_path: Path,
) -> None:
    sent: list[int] = []

    async def script(session: Session) -> None:
        await session.advance(3)
        session.sim.faults.external_order(BTC, "buy", "0.5")  # the real BTC position
        await session.until(lambda: bool(session.engine.protection.protected()), 5)
        before = orders_sent(session.sim)
        push_private(session.sim, phantom_push(session.sim))
        await session.advance(5)
        sent.append(orders_sent(session.sim) - before)

    engine = await run_session(tmp_path, script)

    assert sent == [0]  # no second stop, which would close the real position when it triggers
    assert engine.stats.adopted == 1
    (held,) = engine.registry.positions()
    assert held.pos_id != PHANTOM_POS_ID


async def test_an_outside_position_is_adopted_from_okx_record_within_seconds(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        await session.advance(3)
        session.sim.faults.external_order(BTC, "buy", "0.5")
        seconds = await session.until(lambda: bool(session.engine.protection.protected()), 5)
        assert seconds <= 2  # the push, then one REST confirmation: no reconciliation needed

    engine = await run_session(tmp_path, script, reconcile_interval_seconds=30)

    (position,) = engine.registry.positions()
    assert position.origin is PositionOrigin.ADOPTED
    assert position.size == Decimal("0.5")  # as OKX's record says
    assert position.stop is not None
    assert position.stop < position.entry_price


async def test_a_push_is_not_adopted_while_rest_fails_and_is_adopted_once_rest_answers(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        await session.advance(3)
        sim, engine = session.sim, session.engine
        engine.positions.reconcile_at(sim.clock.monotonic() + 10)  # none due while REST fails
        sim.faults.fail_rest("unavailable", "/api/v5/account/positions", count=10_000)
        sim.faults.external_order(BTC, "buy", "0.5")
        await session.advance(4)
        assert engine.registry.positions() == ()  # the pushes alone adopt nothing
        assert not engine.protection.protected()
        sim.faults.rest.clear()
        # The next push's confirmation, or at the latest the reconciliation, adopts it.
        await session.until(lambda: bool(engine.protection.protected()), 10)

    engine = await run_session(
        tmp_path, script, exchange_settings=QUICK_RETRIES, reconcile_interval_seconds=30
    )

    (position,) = engine.registry.positions()
    assert position.origin is PositionOrigin.ADOPTED
    assert engine.registry.unprotected() == ()
