"""The journal as the engine uses it: idempotent records, durable commits, restart queries, checks.

Every test drives a real journal file through its writer thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from journal_factory import (
    BTC,
    T0,
    at,
    closed,
    entry_intent,
    fill,
    memory_schema,
    opened,
    position,
)

from host.clock import ManualClock
from host.domain import (
    OrderRejection,
    OrderState,
    PositionOrigin,
    PositionSide,
    Regime,
    Side,
    Signal,
)
from host.journal import (
    BalanceSnapshot,
    BreakerTrip,
    ErrorEvent,
    IntentOutcome,
    Journal,
    JournalClosedError,
    JournalOpenError,
    Outcome,
    PositionChanged,
    PositionOpened,
    SignalRecord,
    StopMove,
    UnknownPositionError,
    disk_full,
)
from host.journal.queries import integrity, open_positions, seen_trade_ids
from host.journal.store import store
from host.settings import JournalSettings


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    opened_journal = await Journal.open(
        tmp_path / "paper.sqlite3", ManualClock(T0), JournalSettings(synchronous="normal")
    )
    yield opened_journal
    await opened_journal.close()


async def reopened(journal: Journal) -> Journal:
    """Close and open the file again, as a restart does."""
    await journal.close()
    return await Journal.open(journal.path, ManualClock(T0), JournalSettings())


# --- idempotent records ------------------------------------------------------------------------


async def test_a_duplicated_fill_is_one_row_and_the_journal_says_so(journal: Journal) -> None:
    await journal.commit(entry_intent("c1"))
    assert await journal.commit(fill("t1", "c1")) is True
    assert await journal.commit(fill("t1", "c1")) is False
    # the same tradeId on another instrument is another fill
    assert await journal.commit(fill("t1", "c1", inst_id="ETH-USDT-SWAP")) is True
    assert await journal.seen_trade_ids() == {(BTC, "t1"), ("ETH-USDT-SWAP", "t1")}


async def test_seen_trade_ids_since_a_time(journal: Journal) -> None:
    await journal.commit(entry_intent("c1"))
    for n in range(4):
        journal.write(fill(f"t{n}", "c1", when=at(n)))
    assert await journal.seen_trade_ids(since=at(2)) == {(BTC, "t2"), (BTC, "t3")}


async def test_a_retried_intent_with_the_same_cl_ord_id_is_not_a_second_intent(
    journal: Journal,
) -> None:
    assert await journal.commit(entry_intent("c1")) is True
    assert await journal.commit(entry_intent("c1", when=at(5))) is False
    assert [i.order.created_at for i in await journal.unresolved_intents()] == [T0]


async def test_a_duplicated_close_is_recorded_once(journal: Journal) -> None:
    held = position()
    await journal.commit(opened(held))
    assert await journal.commit(closed(held, at(60))) is True
    assert await journal.commit(closed(held, at(61), reason="again")) is False
    assert [c.reason for c in await journal.closed_since(T0)] == ["stop hit"]


# --- intents and their outcomes ----------------------------------------------------------------


async def test_only_intents_of_unknown_fate_are_left_to_resolve(journal: Journal) -> None:
    for cl_ord_id in ("sent", "acked", "rejected", "lost", "lost-found"):
        await journal.commit(entry_intent(cl_ord_id))
    journal.write(IntentOutcome("acked", Outcome.ACKED, at(1), ord_id="o-acked"))
    journal.write(IntentOutcome("rejected", Outcome.REJECTED, at(1), detail="51008"))
    journal.write(IntentOutcome("lost", Outcome.UNKNOWN, at(1), detail="timeout"))
    journal.write(IntentOutcome("lost-found", Outcome.UNKNOWN, at(1), ord_id="o-lf"))
    journal.write(
        IntentOutcome("lost-found", Outcome.RESOLVED, at(2), "o-lf", OrderState.FILLED, "query")
    )
    unresolved = await journal.unresolved_intents()
    assert [(i.order.cl_ord_id, i.order.ord_id) for i in unresolved] == [
        ("lost", None),
        ("sent", None),
    ]


async def test_an_unknown_intent_keeps_the_order_id_an_earlier_answer_gave(
    journal: Journal,
) -> None:
    await journal.commit(entry_intent("c1"))
    journal.write(IntentOutcome("c1", Outcome.ACKED, at(1), ord_id="o1"))
    journal.write(IntentOutcome("c1", Outcome.UNKNOWN, at(2), detail="cancel timed out"))
    (intent,) = await journal.unresolved_intents()
    assert intent.order.ord_id == "o1"


async def test_an_outcome_for_an_intent_never_journaled_is_refused(journal: Journal) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await journal.commit(IntentOutcome("ghost", Outcome.ACKED, at(1)))


# --- positions and stops ------------------------------------------------------------------------


async def test_an_open_position_comes_back_with_origin_regime_and_its_last_stop(
    journal: Journal,
) -> None:
    held = position(origin=PositionOrigin.ADOPTED, stop=Decimal("103000"))
    await journal.commit(PositionOpened(held, Regime.TRENDING, None, "drift_guard", "adopted"))
    await journal.commit(
        StopMove(held.pos_id, Decimal("103400.5"), "trailing_stop", "trail", at(9))
    )
    (back,) = await journal.open_positions()
    assert back.position == replace(held, stop=Decimal("103400.5"))
    assert back.regime is Regime.TRENDING
    assert (back.stop_by, back.stop_reason) == ("trailing_stop", "trail")


async def test_a_restart_never_hands_back_a_looser_stop_and_integrity_flags_one(
    journal: Journal,
) -> None:
    held = position(side=PositionSide.SHORT, stop=Decimal("104000"))
    await journal.commit(opened(held))
    await journal.commit(StopMove(held.pos_id, Decimal("103900"), "trailing_stop", "trail", at(1)))
    await journal.commit(StopMove(held.pos_id, Decimal("104500"), "buggy_plugin", "oops", at(2)))
    (back,) = await journal.open_positions()
    assert back.position.stop == Decimal("103900")
    assert back.stop_by == "trailing_stop"
    report = await journal.integrity()
    assert report.problems == (f"position {held.pos_id}: stop loosened from 103900 to 104500",)


async def test_a_position_without_stop_comes_back_bare_for_the_engine_to_protect(
    journal: Journal,
) -> None:
    await journal.commit(PositionOpened(position(stop=None)))
    (back,) = await journal.open_positions()
    assert (back.position.stop, back.stop_by) == (None, None)


async def test_a_changed_position_comes_back_changed_with_its_stop(journal: Journal) -> None:
    held = position()
    await journal.commit(opened(held))
    bigger = replace(held, size=Decimal("0.05"), entry_price=Decimal("103650"), updated_at=at(5))
    await journal.commit(PositionChanged(bigger))
    (back,) = await journal.open_positions()
    assert back.position == bigger


async def test_a_reused_pos_id_is_a_new_lifetime_with_its_own_stops(journal: Journal) -> None:
    first = position(stop=Decimal("103000"))
    await journal.commit(opened(first))
    await journal.commit(closed(first, at(60)))
    second = position(opened=at(120), stop=Decimal("90000"), side=PositionSide.LONG)
    await journal.commit(PositionOpened(second, Regime.CHOPPY, None, "drift_guard", "adopted"))
    await journal.commit(StopMove(second.pos_id, Decimal("91000"), "trailing_stop", "t", at(130)))
    (back,) = await journal.open_positions()
    assert back.position == replace(second, stop=Decimal("91000"))
    assert back.regime is Regime.CHOPPY
    assert [c.position.entry_time for c in await journal.closed_since(T0)] == [T0]
    assert (await journal.integrity()).ok


async def test_a_stop_move_for_an_unknown_position_fails_alone(journal: Journal) -> None:
    journal.write(BalanceSnapshot("USDT", Decimal("1000.5"), Decimal("900"), T0))
    with pytest.raises(UnknownPositionError, match="nowhere"):
        await journal.commit(StopMove("nowhere", Decimal(1), "trailing_stop", "t", T0))
    journal.write(ErrorEvent(T0, "ws", "disconnected"))
    await journal.flush()
    assert journal.failed_writes == 0
    journal.write(StopMove("nowhere", Decimal(1), "trailing_stop", "t", T0))
    await journal.flush()
    assert journal.failed_writes == 1


# --- closes and the circuit breaker's history ---------------------------------------------------


async def test_closed_since_returns_exactly_the_closes_from_that_instant(journal: Journal) -> None:
    for n in range(5):
        held = position(f"p{n}", opened=at(n * 100))
        await journal.commit(opened(held))
        journal.write(closed(held, at(n * 100 + 50), reason=f"r{n}"))
    journal.write(BreakerTrip(at(400), "circuit_breaker", "3 losses", until=at(1000)))
    assert [c.reason for c in await journal.closed_since(at(250))] == ["r2", "r3", "r4"]
    history = await journal.closed_since(at(250.000001))
    assert [c.reason for c in history] == ["r3", "r4"]
    assert history[0] == closed(position("p3", opened=at(300)), at(350), reason="r3")
    assert history[0].pnl.net == Decimal("-0.22092")


async def test_rejections_come_back_from_that_instant_oldest_first(journal: Journal) -> None:
    refused = [
        OrderRejection("BTC-USDT-SWAP", f"she{n}", at(n * 10), "51008", "Insufficient margin")
        for n in range(4)
    ]
    for rejection in reversed(refused):
        journal.write(rejection)
    assert await journal.rejections_since(at(15)) == tuple(refused[2:])


async def test_a_close_of_a_position_the_journal_never_saw_still_counts(journal: Journal) -> None:
    held = position("unseen", origin=PositionOrigin.ADOPTED)
    assert await journal.commit(closed(held, at(30))) is True
    assert [c.position for c in await journal.closed_since(T0)] == [held]
    assert await journal.open_positions() == ()


async def test_the_close_of_a_position_flipped_from_outside_closes_its_journaled_row(
    journal: Journal,
) -> None:
    long = position("flipped", opened=at(10), origin=PositionOrigin.ADOPTED)
    await journal.commit(opened(long))
    # OKX keeps the posId and restarts the entry time; the journal's row keeps its own.
    short = replace(long, side=PositionSide.SHORT, entry_time=at(18), updated_at=at(18))
    await journal.commit(PositionChanged(short))
    assert await journal.commit(closed(short, at(30))) is True
    assert await journal.commit(closed(short, at(30))) is False  # written twice: one close
    assert await journal.open_positions() == ()
    assert [c.position.side for c in await journal.closed_since(T0)] == [PositionSide.SHORT]
    assert (await journal.integrity()).ok


# --- integrity ---------------------------------------------------------------------------------


async def test_every_fill_must_come_from_an_intent_or_a_journaled_position(
    journal: Journal,
) -> None:
    await journal.commit(entry_intent("ours"))
    await journal.commit(fill("t1", "ours", when=at(1)))
    adopted = position("ext", opened=at(10), origin=PositionOrigin.ADOPTED)
    await journal.commit(opened(adopted))
    await journal.commit(fill("t2", "", when=at(20)))  # someone's order on an adopted position
    assert (await journal.integrity()).ok
    await journal.commit(fill("t3", "unjournaled", when=at(5), inst_id="ETH-USDT-SWAP"))
    report = await journal.integrity()
    assert report.problems == (
        "fill ETH-USDT-SWAP/t3 (clOrdId 'unjournaled') matches no journaled intent and no "
        "position open at its time",
    )


async def test_outside_fills_that_net_to_zero_need_no_journaled_position(
    journal: Journal,
) -> None:
    # Opened and closed from the app before the host saw it: fills, and rightly no position.
    await journal.commit(fill("t1", "", when=at(1)))
    await journal.commit(replace(fill("t2", "", when=at(2)), side=Side.SELL))
    adopted = position("ext", opened=at(10), origin=PositionOrigin.ADOPTED)
    await journal.commit(opened(adopted))
    await journal.commit(closed(adopted, at(20)))
    await journal.commit(fill("t3", "", when=at(30)))  # a position the journal never held
    await journal.commit(replace(fill("t4", "", when=at(31)), side=Side.SELL))
    await journal.commit(fill("t5", "", when=at(32)))
    assert (await journal.integrity()).problems == tuple(
        f"fill BTC-USDT-SWAP/{trade} (clOrdId '') matches no journaled intent and no "
        "position open at its time"
        for trade in ("t3", "t4", "t5")
    )


async def test_a_round_trip_split_by_a_journaled_entry_is_two_remainders(
    journal: Journal,
) -> None:
    await journal.commit(fill("t1", "", when=at(1)))  # opens a position never journaled...
    await journal.commit(opened(position("later", opened=at(10))))
    await journal.commit(closed(position("later", opened=at(10)), at(20)))
    await journal.commit(replace(fill("t2", "", when=at(30)), side=Side.SELL))  # ...not this
    assert len((await journal.integrity()).problems) == 2


async def test_integrity_flags_a_fill_no_execution_can_have_made(journal: Journal) -> None:
    await journal.commit(entry_intent("ours"))
    await journal.commit(replace(fill("t1", "ours"), size=Decimal("-0.3")))
    await journal.commit(replace(fill("t2", "ours"), price=Decimal(0)))
    assert (await journal.integrity()).problems == (
        "fill BTC-USDT-SWAP/t1: impossible size -0.3",
        "fill BTC-USDT-SWAP/t2: impossible price 0",
    )


async def test_a_corrupt_journal_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "account.sqlite3"
    contents = b"not a database " * 300
    path.write_bytes(contents)
    with pytest.raises(JournalOpenError, match="not a usable journal"):
        await Journal.open(path, ManualClock(T0), JournalSettings())
    assert path.read_bytes() == contents  # nothing was overwritten


async def test_an_empty_journal_file_is_started_anew_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A crash while the file was created leaves 0 bytes: a new journal, but never silently."""
    path = tmp_path / "account.sqlite3"
    path.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="host.journal"):
        journal = await Journal.open(path, ManualClock(T0), JournalSettings())
    await journal.close()
    assert any(
        "is empty (0 bytes): starting a new journal" in r.getMessage() for r in caplog.records
    )


# --- the writer thread ---------------------------------------------------------------------------


async def test_flush_makes_fire_and_forget_records_durable_across_a_restart(
    journal: Journal,
) -> None:
    await journal.commit(entry_intent("c0"))
    for n in range(2000):
        journal.write(fill(f"t{n}", "c0"))
    await journal.flush()
    journal = await reopened(journal)
    try:
        assert len(await journal.seen_trade_ids()) == 2000
    finally:
        await journal.close()


async def test_the_event_loop_keeps_running_while_the_writer_works(journal: Journal) -> None:
    await journal.commit(entry_intent("c0"))
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    for n in range(5_000):
        journal.write(fill(f"t{n}", "c0"))
    turns_before = turns
    await journal.flush()
    counter.cancel()
    assert turns_before == 0  # handing 5,000 records over never yielded, so never blocked on I/O
    assert turns > 0  # while they were written, other tasks ran


async def test_records_of_every_kind_are_accepted_and_the_rest_refused_at_once(
    journal: Journal,
) -> None:
    signal = Signal(BTC, PositionSide.LONG, T0, "demo_signal", "breakout", Decimal("103698.9"))
    assert await journal.commit(SignalRecord(signal, Regime.RANGING))
    assert await journal.commit(SignalRecord(signal, None, "circuit_breaker", "3 losses"))
    assert await journal.commit(ErrorEvent(T0, "okx", "50011 rate limit"))
    assert await journal.commit(BreakerTrip(T0, "circuit_breaker", "daily loss"))
    assert await journal.commit(BalanceSnapshot("USDT", Decimal("1e3"), Decimal("0"), T0))
    with pytest.raises(TypeError, match="does not record str"):
        journal.write("a string")  # type: ignore[arg-type]


async def test_a_full_disk_fails_the_writes_that_do_not_fit_not_the_journal(
    journal: Journal,
) -> None:
    await journal.commit(entry_intent("c0"))
    # SQLite's own page limit is a real "disk full" (SQLITE_FULL) without filling a disk; the
    # writer's connection is private, so the test reaches it through the read path.
    pages = await journal._read(lambda db: db.execute("PRAGMA page_count").fetchone()[0])
    await journal._read(lambda db: db.execute(f"PRAGMA max_page_count = {pages + 3}"))
    for n in range(500):
        journal.write(ErrorEvent(T0, "test", f"{n} " + "x" * 500))
    big = replace(entry_intent("c1"), reason="x" * 20_000)
    with pytest.raises(sqlite3.OperationalError, match="full"):
        await journal.commit(big)
    assert journal.failed_writes > 0
    assert [i.order.cl_ord_id for i in await journal.unresolved_intents()] == ["c0"]
    assert (await journal.integrity()).ok


async def test_the_disk_full_guard_fails_every_write_as_sqlite_does_until_removed(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    await journal.commit(entry_intent("c0"))
    await journal.guard_writes(disk_full)

    journal.write(ErrorEvent(T0, "test", "lost"))
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full") as full:
        await journal.commit(entry_intent("c1"))
    with pytest.raises(sqlite3.OperationalError):
        await journal.commit(entry_intent("c2"))
    assert full.value.sqlite_errorcode == sqlite3.SQLITE_FULL
    assert journal.failed_writes == 1
    assert await journal.intent_client_ids() == {"c0"}  # a full disk still reads
    cannot = [r for r in caplog.records if "cannot write" in r.getMessage()]
    assert [r.levelno for r in cannot] == [logging.CRITICAL]  # said once, loudly

    await journal.guard_writes(None)

    assert await journal.commit(entry_intent("c3"))
    assert await journal.intent_client_ids() == {"c0", "c3"}
    again = [r for r in caplog.records if "writes again" in r.getMessage()]
    assert [r.levelno for r in again] == [logging.WARNING]
    assert (await journal.integrity()).ok


async def test_a_closed_journal_refuses_records(journal: Journal) -> None:
    await journal.close()
    with pytest.raises(JournalClosedError):
        journal.write(ErrorEvent(T0, "x", "y"))
    with pytest.raises(JournalClosedError):
        await journal.flush()


# --- properties, on the schema in memory -------------------------------------------------------

fill_keys = st.tuples(st.sampled_from([BTC, "ETH-USDT-SWAP"]), st.integers(0, 6).map(str))


@given(replayed=st.lists(fill_keys, max_size=30))
def test_replaying_fills_in_any_order_with_duplicates_keeps_one_row_each(
    replayed: list[tuple[str, str]],
) -> None:
    with closing(memory_schema()) as connection:
        store(connection, entry_intent("c1"))
        answers = [store(connection, fill(trade, "c1", inst_id=inst)) for inst, trade in replayed]
        first_seen = [key not in replayed[:n] for n, key in enumerate(replayed)]
        assert answers == first_seen
        assert seen_trade_ids(connection) == set(replayed)
        assert integrity(connection).ok


stops = st.lists(st.decimals(min_value=1, max_value=10**6, places=2), min_size=1, max_size=8)


@given(side=st.sampled_from(PositionSide), levels=stops)
def test_the_restart_stop_is_the_tightest_and_any_loosening_is_reported(
    side: PositionSide, levels: list[Decimal]
) -> None:
    tightest = max(levels) if side is PositionSide.LONG else min(levels)
    monotone = levels == sorted(levels, reverse=side is PositionSide.SHORT)
    with closing(memory_schema()) as connection:
        held = position(side=side, stop=levels[0])
        store(connection, opened(held))
        for n, level in enumerate(levels[1:]):
            store(connection, StopMove(held.pos_id, level, "p", "r", at(n)))
        (back,) = open_positions(connection)
        assert back.position.stop == tightest
        assert integrity(connection).ok == monotone
