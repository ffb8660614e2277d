"""Acting on a positions push only once OKX confirms it over REST (issue 13).

A positions push is one message; the exchange's word is its REST answer. Adopting a position the
host does not know, re-protecting a known one whose side flipped, and closing a known one pushed
flat (unless the host is closing it itself) wait for it; a flood of such pushes must not keep
the instrument's exits waiting; an impossible ``uTime`` must not hold back later pushes. These
run the real host against the simulator over loopback and push, besides the simulator's own
pushes, made-up ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from engine_harness import BTC, CloseAfterTen, Session, journal_rows, run_session
from samples import sample

from host.clock import to_okx_ms
from host.domain import Position, PositionOrigin, PositionSide
from host.faults.invariants import orders_sent
from host.settings import ExchangeSettings
from host.sim.config import SimConfig
from host.sim.server import Simulator

PHANTOM_POS_ID = "999000111222333444"

POSITIONS_PATH = "/api/v5/account/positions"

RARE_SNAPSHOTS = SimConfig(rate_limits={}, snapshot_interval=timedelta(seconds=300))
"""OKX's periodic positions snapshot, which would repair a held-back update, kept out of a test."""

QUICK_RETRIES = ExchangeSettings(retry_backoff_seconds=0.01, max_retries=1)
"""A REST read that fails gives up after one quick retry."""


def phantom_push(sim: Simulator) -> str:
    """A well-formed positions push (OKX's own sample) for a BTC long OKX does not have."""
    return position_push(sim, PHANTOM_POS_ID, "1")


def position_push(sim: Simulator, pos_id: str, pos: str, **fields: str) -> str:
    """A well-formed net-mode positions push (OKX's own sample) claiming BTC ``pos`` now.

    ``fields`` override the sample's (``uTime``, ``avgPx``, ...).
    """
    frame = sample("ws_positions_push_swap_net_real_ccxt.json")
    now = to_okx_ms(sim.clock.now())
    mark = str(sim.engine.market(BTC).mark)
    frame["arg"]["instId"] = BTC
    frame["data"][0] |= {
        "instId": BTC,
        "posId": pos_id,
        "pos": pos,
        "avgPx": mark,
        "markPx": mark,
        "cTime": now,
        "uTime": now,
        "pTime": now,
    } | fields
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


async def test_a_push_flipping_a_held_long_that_okx_does_not_confirm_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[object] = []

    async def script(session: Session) -> None:
        await session.advance(3)
        session.sim.faults.external_order(BTC, "buy", "0.5")
        await session.until(lambda: bool(session.engine.protection.protected()), 5)
        (held,) = session.engine.registry.positions()
        stops = resting_stops(session.sim)
        before = orders_sent(session.sim)
        push_private(session.sim, position_push(session.sim, held.pos_id, "-0.5"))
        await session.advance(5)
        seen.extend([orders_sent(session.sim) - before, resting_stops(session.sim) == stops])

    engine = await run_session(tmp_path, script, reconcile_interval_seconds=30)

    assert seen == [0, True]  # no stop placed on the short side, the long's stop left where it was
    (position,) = engine.registry.positions()
    assert position.side is PositionSide.LONG
    assert "which OKX does not confirm; ignored" in caplog.text


async def test_a_real_flip_is_protected_on_its_new_side_within_seconds(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        await session.advance(3)
        sim, engine = session.sim, session.engine
        sim.faults.external_order(BTC, "buy", "0.5")
        await session.until(lambda: bool(engine.protection.protected()), 5)
        sim.faults.external_order(BTC, "sell", "1")  # the account really is short 0.5 now

        def short_and_protected() -> bool:
            held = engine.registry.positions()
            return (
                len(held) == 1
                and held[0].side is PositionSide.SHORT
                and resting_stops(sim) == [("buy", held[0].stop)]
            )

        seconds = await session.until(short_and_protected, 5)
        assert seconds <= 2  # the push, one REST confirmation: no reconciliation needed

    engine = await run_session(tmp_path, script, reconcile_interval_seconds=30)

    (position,) = engine.registry.positions()
    assert position.stop is not None
    assert position.stop > position.entry_price


def resting_stops(sim: Simulator) -> list[tuple[str, Decimal | None]]:
    """The (side, trigger price) of every stop resting on the simulated exchange."""
    return sorted(
        (algo.side, algo.sl_trigger_px) for algo in sim.engine.algos.values() if algo.is_live
    )


async def adopt_outside_long(session: Session) -> Position:
    """Open a BTC long "from the app" and wait until the host holds it; return it."""
    await session.advance(3)
    session.sim.faults.external_order(BTC, "buy", "0.5")
    await session.until(lambda: bool(session.engine.registry.positions()), 5)
    (held,) = session.engine.registry.positions()
    return held


async def test_a_pushed_flat_okx_does_not_confirm_closes_nothing_and_keeps_the_stop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[object] = []

    async def script(session: Session) -> None:
        held = await adopt_outside_long(session)
        await session.until(lambda: bool(session.engine.protection.protected()), 5)
        stops = resting_stops(session.sim)
        push_private(session.sim, position_push(session.sim, held.pos_id, "0"))
        await session.advance(5)
        seen.extend([resting_stops(session.sim) == stops, session.engine.registry.positions()])

    engine = await run_session(tmp_path, script, reconcile_interval_seconds=30)

    (position,) = engine.registry.positions()
    assert seen == [True, (position,)]  # held throughout, its exchange-side stop never canceled
    assert journal_rows(tmp_path, "SELECT COUNT(*) FROM closes") == [(0,)]
    assert "flat, which OKX does not confirm; ignored" in caplog.text


async def test_a_real_outside_close_is_settled_within_seconds(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        await adopt_outside_long(session)
        await session.until(lambda: bool(session.engine.protection.protected()), 5)
        session.sim.faults.external_order(BTC, "sell", "0.5")  # closed "from the app"
        seconds = await session.until(lambda: not session.engine.registry.positions(), 5)
        assert seconds <= 2  # the push, one REST confirmation: no reconciliation needed
        await session.until(lambda: not resting_stops(session.sim), 3)  # its stop canceled

    await run_session(tmp_path, script, reconcile_interval_seconds=30)

    assert journal_rows(tmp_path, "SELECT reason FROM closes") == [("closed on the exchange",)]


async def test_the_host_s_own_close_is_settled_by_its_flat_push_without_asking_okx(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        await adopt_outside_long(session)
        session.sim.faults.fail_rest("unavailable", POSITIONS_PATH, count=10_000)
        await session.until(lambda: not session.engine.registry.positions(), 15)

    await run_session(tmp_path, script, CloseAfterTen, reconcile_interval_seconds=300)

    assert journal_rows(tmp_path, "SELECT reason FROM closes") == [
        ("closeafterten: held ten seconds",)
    ]


async def test_a_far_future_utime_does_not_hold_back_later_pushes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def script(session: Session) -> None:
        sim, engine = session.sim, session.engine
        held = await adopt_outside_long(session)
        year_2100 = to_okx_ms(datetime(2100, 1, 1, tzinfo=UTC))
        same = position_push(sim, held.pos_id, "0.5", avgPx=str(held.entry_price), uTime=year_2100)
        push_private(sim, same)
        await session.advance(1)
        sim.faults.external_order(BTC, "buy", "0.25")  # OKX pushes the real 0.75 now
        seconds = await session.until(
            lambda: engine.registry.positions()[0].size == Decimal("0.75"), 5
        )
        assert seconds <= 2  # the push itself, not a snapshot nor a reconciliation
        assert session.connection.feed.credibility.dropped["position time from the future"] == 1

    engine = await run_session(
        tmp_path, script, sim_config=RARE_SNAPSHOTS, reconcile_interval_seconds=30
    )

    (position,) = engine.registry.positions()
    assert position.updated_at.year < 2100
    assert "far ahead of the host's clock; time ignored" in caplog.text


SLOW_ANSWERS = 10_000
"""Position requests answered late (``slow_positions``): far more than any test sends."""


def slow_positions(sim: Simulator) -> Callable[[], int]:
    """Have OKX answer every positions request half a second late (wall time, as OKX would).

    Returns how many positions requests were made since.
    """
    sim.faults.fail_rest("delay_reply", POSITIONS_PATH, count=SLOW_ANSWERS, seconds=0.5)
    (fault,) = sim.faults.rest
    return lambda: SLOW_ANSWERS - fault.count


async def flood_flips(session: Session, held: Position) -> None:
    """Push five made-up flips of ``held`` (each a different state), then let a second pass."""
    for size in range(1, 6):
        push_private(session.sim, position_push(session.sim, held.pos_id, f"-0.{size}"))
    await session.advance(1)


async def test_a_flood_of_made_up_flips_asks_okx_once_at_a_time(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        held = await adopt_outside_long(session)
        asked = slow_positions(session.sim)
        for _ in range(4):
            await flood_flips(session, held)
        assert asked() <= 4  # one confirmation a second, not one per push

    engine = await run_session(tmp_path, script, reconcile_interval_seconds=300)

    (position,) = engine.registry.positions()
    assert position.side is PositionSide.LONG


async def test_a_flood_of_made_up_flips_does_not_hold_back_a_crossed_stop(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        engine = session.engine
        held = await adopt_outside_long(session)
        slow_positions(session.sim)
        session.sim.faults.shock_market(BTC, -1.5)  # through the client-side stop (0.5 % below)
        for second in range(10):
            if not engine.registry.positions():
                assert second <= 3
                return
            await flood_flips(session, held)
        raise AssertionError("the crossed stop was not acted on within 10 s of made-up flips")

    await run_session(
        tmp_path,
        script,
        sections={"drift_guard": {"stop_distance": "0.005"}},
        exchange_stops=False,  # only the client-side stop protects: the one the pause holds
        reconcile_interval_seconds=300,
    )

    (reason,) = journal_rows(tmp_path, "SELECT reason FROM closes")
    assert reason[0].startswith("stop: ")
