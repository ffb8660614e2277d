"""The engine end to end: real client, real journal, the simulated exchange over loopback."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from engine_harness import (
    BTC,
    BuyOnce,
    CloseAfterTen,
    HearsHistory,
    Recorder,
    RestFarBelow,
    Session,
    SignalEveryTick,
    VetoEverything,
    journal_rows,
    run_session,
    start_simulator,
)

from host.clock import LiveClock
from host.context import HostLoad
from host.domain import Position, PositionOrigin
from host.engine.load import monitor_load
from host.exchange.errors import OkxRateLimited
from host.exchange.health import ExchangeHealth
from host.journal.records import StopMove


async def test_entry_fill_protection_and_exit(tmp_path: Path) -> None:
    protected: list[bool] = []

    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        (position,) = engine.registry.positions()
        assert position.origin is PositionOrigin.OWN
        assert position.stop is not None
        assert position.stop < position.entry_price
        protected.append(position.pos_id in engine.protection.protected())
        await session.until(lambda: not engine.registry.positions(), 30)

    engine = await run_session(tmp_path, script, BuyOnce, CloseAfterTen)
    assert protected == [True]  # an exchange-side stop backed the position while it was open
    (trade,) = engine.stats.trades
    assert trade.closed.reason == "closeafterten: held ten seconds"
    assert trade.closed.pnl.fees < 0
    # Entry price is the exchange's average, unrounded; PnL is OKX's formula on it.
    entry = trade.closed.position.entry_price
    expected = Decimal("0.01") * trade.closed.position.size * (trade.closed.exit_price - entry)
    assert trade.closed.pnl.gross == expected
    purposes = journal_rows(tmp_path, "SELECT purpose FROM order_intents ORDER BY rowid")
    assert purposes == [("entry",), ("close",)]
    assert journal_rows(tmp_path, "SELECT count(*) FROM closes") == [(1,)]
    fills = journal_rows(tmp_path, "SELECT count(*), count(DISTINCT trade_id) FROM fills")
    assert fills[0][0] == fills[0][1] >= 2


@pytest.mark.parametrize(
    "policy",
    [
        {"on_timeout": "cancel"},
        # The original bot's bug, configured into the policy: the host's choppy maximum (30 s)
        # still ends the wait.
        {"on_timeout": "cancel", "max_wait_seconds": 120, "by_regime": {"choppy": 120}},
    ],
    ids=["policy-wait", "host-maximum"],
)
async def test_a_resting_entry_is_canceled_when_its_regime_limit_runs_out(
    tmp_path: Path, policy: dict[str, object]
) -> None:
    waited: list[float] = []

    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.orders.open()), 5)
        waited.append(await session.until(lambda: not engine.orders.open(), 120))

    # The limit-order policy's default and the host's maximum for the fallback regime (choppy)
    # are both 30 s.
    engine = await run_session(
        tmp_path,
        script,
        RestFarBelow,
        builtins=("limit_order_policy",),
        sections={"limit_order_policy": policy},
    )
    assert engine.stats.entries_expired == 1
    assert 29 <= waited[0] <= 32
    assert not engine.registry.positions()
    outcomes = journal_rows(tmp_path, "SELECT outcome FROM intent_outcomes")
    assert outcomes == [("acked",)]


async def test_a_position_opened_outside_the_host_is_adopted_and_protected(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        await session.advance(2)
        # No positions push reaches the host: only the periodic REST reconciliation can find it.
        session.sim.faults.drop_pushes(count=10_000, channel="positions")
        session.sim.faults.external_order(BTC, "buy", "0.5")
        seconds = await session.until(lambda: bool(session.engine.protection.protected()), 31)
        assert seconds <= 31  # within one reconciliation interval (30 s)

    engine = await run_session(tmp_path, script, reconcile_interval_seconds=30)
    (position,) = engine.registry.positions()
    assert position.origin is PositionOrigin.ADOPTED
    assert position.stop is not None
    assert engine.stats.adopted == 1
    assert engine.registry.unprotected() == ()
    origins = journal_rows(tmp_path, "SELECT origin FROM positions")
    assert origins == [("adopted",)]


async def test_duplicated_pushes_give_one_close_and_one_row_per_fill(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        session.sim.faults.duplicate_pushes(count=1000)
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await session.until(lambda: not engine.registry.positions(), 30)
        await session.advance(3)

    engine = await run_session(tmp_path, script, BuyOnce, CloseAfterTen, Recorder)
    assert len(engine.stats.trades) == 1
    fill_count = len(session_fills(tmp_path))
    assert Recorder.calls.count("on_fill") == fill_count  # each fill applied once, not per copy
    assert Recorder.calls.count("on_position_closed") == 1
    assert journal_rows(tmp_path, "SELECT count(*) FROM closes") == [(1,)]
    assert journal_rows(tmp_path, "SELECT count(*) FROM order_intents WHERE purpose='close'") == [
        (1,)
    ]
    fills = journal_rows(tmp_path, "SELECT count(*), count(DISTINCT trade_id) FROM fills")
    assert fills[0][0] == fills[0][1]


async def test_a_forced_reconnect_loses_no_fill(tmp_path: Path) -> None:
    ledger: list[set[str]] = []

    async def script(session: Session) -> None:
        engine = session.engine
        session.sim.faults.drop_pushes(count=2, channel="orders")  # the entry's pushes are lost
        await session.until(lambda: engine.stats.entries_sent > 0, 5)
        before = session.connection.health.reconnects
        session.sim.faults.drop_sockets("private")  # and the socket cut: only a resync finds it
        await session.reconnected(before)
        await session.until(lambda: bool(engine.registry.positions()), 15)
        await session.until(lambda: not engine.registry.positions(), 40)
        ledger.append({fill["tradeId"] for fill in session.sim.ledger.fills(BTC)})

    engine = await run_session(tmp_path, script, BuyOnce, CloseAfterTen)
    assert len(engine.stats.trades) == 1
    assert set(session_fills(tmp_path)) == ledger[0]  # every fill of the ledger, once


def session_fills(tmp_path: Path) -> list[str]:
    """The trade ids the journal holds (the fills table keeps each once)."""
    return [trade_id for (trade_id,) in journal_rows(tmp_path, "SELECT trade_id FROM fills")]


async def test_a_restart_restores_positions_with_their_stops_never_looser(tmp_path: Path) -> None:
    sim = await start_simulator()
    before: list[Position] = []
    try:

        async def first_run(session: Session) -> None:
            engine = session.engine
            await session.until(lambda: bool(engine.registry.positions()), 10)
            (position,) = engine.registry.positions()
            tighter = position.stop + Decimal("10.0")  # as if a trailing stop had moved it
            engine.registry.set_stop(position.pos_id, tighter)
            engine.journal.write(
                StopMove(position.pos_id, tighter, "test", "tightened", session.sim.clock.now())
            )
            before.extend(engine.registry.positions())
            await session.advance(1)

        first = await run_session(tmp_path, first_run, BuyOnce, sim=sim)
        assert first.registry.positions()  # kept at shutdown (close_on_shutdown is off)

        async def second_run(session: Session) -> None:
            await session.advance(3)  # ticks move the resting exchange stop to the journaled one

        second = await run_session(tmp_path, second_run, sim=sim)
    finally:
        await sim.stop()
    (restored,) = second.registry.positions()
    (original,) = before
    assert restored.pos_id == original.pos_id
    assert restored.origin is PositionOrigin.OWN  # not taken for a stranger and adopted
    assert restored.stop == original.stop  # the journaled stop, never a looser one
    assert second.stats.adopted == 0
    assert restored.pos_id in second.protection.protected()  # the resting exchange stop was reused
    (backstop,) = sim.engine.all_live_algos(BTC)  # reused, not doubled
    assert backstop.sl_trigger_px == restored.stop


async def test_a_cancel_that_loses_the_race_to_a_fill_keeps_the_fill(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.orders.open()), 5)
        session.sim.faults.race_cancel_with_fill()  # the time-out's cancel finds it filled
        # ... and its fill is never pushed: only asking OKX by clOrdId can reveal it.
        session.sim.faults.drop_pushes(count=10_000, channel="orders")
        await session.until(lambda: bool(engine.registry.positions()), 60)

    engine = await run_session(
        tmp_path,
        script,
        RestFarBelow,
        builtins=("limit_order_policy",),
        sections={"limit_order_policy": {"on_timeout": "cancel"}},
    )
    (position,) = engine.registry.positions()
    assert position.origin is PositionOrigin.OWN
    assert position.stop is not None
    assert engine.stats.entries_filled == 1
    assert engine.stats.adopted == 0


async def test_the_hook_calls_follow_the_documented_sequence(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await session.until(lambda: not engine.registry.positions(), 30)
        await session.advance(2)

    await run_session(tmp_path, script, BuyOnce, CloseAfterTen, Recorder)
    # Exactly one on_tick_exit call per tick of the instrument, never one per position or two.
    assert Recorder.exit_ticks
    assert len(Recorder.exit_ticks) == len(set(Recorder.exit_ticks))
    calls = [call for i, call in enumerate(Recorder.calls) if Recorder.calls[i - 1] != call]
    closed = calls.index("on_position_closed")
    assert calls[:6] == [
        "on_startup",
        "generate_signals",
        "on_signal",
        "plan_entry",
        "limit_order_ttl",
        "on_fill",  # the position exists before any tick asks for its exit
    ]
    # While it is open: one on_tick_exit call per tick carrying the instrument's positions, and
    # the fills of its orders (an order may fill in parts, on either side of a tick).
    held = calls[6:closed]
    assert set(held) == {"on_tick_exit[1]", "on_fill"}
    assert held[0] == "on_tick_exit[1]"
    assert held[-1] == "on_fill"  # the close's (last) fill
    # Journaled with its PnL; only then may the instrument trade again.
    assert calls[closed:] == ["on_position_closed", "generate_signals", "on_shutdown"]


async def test_rejections_are_journaled_and_replayed_to_the_plugins_after_a_restart(
    tmp_path: Path,
) -> None:
    sim = await start_simulator()
    huge = {
        "entry_notional_usdt": 10**9,
        "max_order_notional_usdt": 10**9,
        "max_instrument_notional_usdt": 10**9,
    }
    try:

        async def refused_entry(session: Session) -> None:
            await session.until(lambda: session.engine.stats.entries_sent == 1, 5)
            await session.advance(2)

        first = await run_session(tmp_path, refused_entry, BuyOnce, sim=sim, **huge)
        assert not first.registry.positions()

        async def restart(session: Session) -> None:
            await session.advance(1)

        await run_session(tmp_path, restart, HearsHistory, sim=sim)
    finally:
        await sim.stop()
    codes = journal_rows(tmp_path, "SELECT code FROM rejections")
    assert len(codes) == 1
    # The breaker's memory survives the restart: the rejection is replayed before start-up.
    assert HearsHistory.heard[:2] == [f"rejected {codes[0][0]}", "startup"]


async def test_the_dead_man_switch_is_armed_while_ticks_flow(tmp_path: Path) -> None:
    armed: list[bool] = []

    async def script(session: Session) -> None:
        await session.advance(3)
        armed.append(bool(session.sim.engine.cancel_deadlines))

    await run_session(tmp_path, script, dead_man_seconds=60)
    assert armed == [True]


async def test_the_load_monitor_measures_loop_lag_and_exchange_latency() -> None:
    class Holder:
        load: HostLoad | None = None

    class LateWall(LiveClock):
        """Every second reading is 0.25 s later than the one before: the loop woke late."""

        def __init__(self) -> None:
            self.readings = iter(float(n) * 0.25 for n in range(1000))

        def monotonic(self) -> float:
            return next(self.readings)

    health = ExchangeHealth(LiveClock())
    health.record_request(0.025)
    holder = Holder()
    monitor = monitor_load(holder, health, interval_seconds=0, wall=LateWall())  # type: ignore[arg-type]
    task = asyncio.create_task(monitor)
    while holder.load is None:  # noqa: ASYNC110 -- the monitor yields once per interval
        await asyncio.sleep(0)
    task.cancel()
    assert holder.load.exchange_latency == timedelta(seconds=0.025)
    assert holder.load.loop_lag == timedelta(seconds=0.25)


async def test_the_trailing_stop_arms_on_the_fill_tightens_and_the_position_exits(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await session.until(lambda: not engine.registry.positions(), 1800)

    engine = await run_session(tmp_path, script, BuyOnce, builtins=("trailing_stop",))
    (trade,) = engine.stats.trades
    moves = journal_rows(tmp_path, "SELECT plugin, stop FROM stop_levels ORDER BY id")
    assert moves[0][0] == "host"  # the initial stop, journaled with the position
    trailing = [Decimal(stop) for plugin, stop in moves if plugin == "trailing_stop"]
    assert trailing  # armed by on_fill, it moved the stop
    assert trailing == sorted(trailing)  # a long's stop only ever rose
    assert trailing[-1] > trade.closed.position.entry_price  # it locked in a profit
    assert trade.closed.pnl.gross > 0


async def test_a_position_closed_while_the_host_was_down_is_closed_in_the_journal(
    tmp_path: Path,
) -> None:
    sim = await start_simulator()
    try:

        async def open_one(session: Session) -> None:
            await session.until(lambda: bool(session.engine.registry.positions()), 10)

        await run_session(tmp_path, open_one, BuyOnce, sim=sim)
        sim.faults.external_close(BTC)  # closed "in the app" while no host runs

        async def restart(session: Session) -> None:
            await session.advance(2)

        second = await run_session(tmp_path, restart, sim=sim)
    finally:
        await sim.stop()
    assert not second.registry.positions()
    (trade,) = second.stats.trades
    assert trade.closed.reason == "closed while the host was not running"
    assert journal_rows(tmp_path, "SELECT reason FROM closes") == [
        ("closed while the host was not running",)
    ]


async def test_a_plugin_that_starts_blocking_entries_is_journaled_as_a_trip_once(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        await session.advance(5)

    engine = await run_session(tmp_path, script, SignalEveryTick, VetoEverything)
    assert engine.stats.vetoed > 10  # every signal of the run was blocked...
    trips = journal_rows(tmp_path, "SELECT plugin, reason FROM breaker_trips")
    assert trips == [("vetoeverything", "tripped: 3 losses in a row")]  # ...one trip journaled


async def test_a_task_ended_by_the_exchange_is_a_warning_and_a_host_bug_keeps_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A rate limit outlasting the retries is the venue's fault: no traceback that reads as a
    crash. Both are journaled."""

    async def refused() -> None:
        raise OkxRateLimited("50011", "Rate limit reached.", path="/api/v5/account/positions")

    async def broken() -> None:
        raise ValueError("a bug")

    async def script(session: Session) -> None:
        session.engine.spawn(refused())
        session.engine.spawn(broken())
        await session.engine.idle()

    with caplog.at_level(logging.WARNING, logger="host.engine.engine"):
        await run_session(tmp_path, script)

    logged = {r.levelname: r for r in caplog.records if r.name == "host.engine.engine"}
    assert "50011" in logged["WARNING"].getMessage()
    assert logged["WARNING"].exc_info is None
    assert "a bug" in logged["ERROR"].getMessage()
    assert logged["ERROR"].exc_info is not None
    assert journal_rows(tmp_path, "SELECT count(*) FROM errors WHERE source = 'engine'") == [(2,)]
