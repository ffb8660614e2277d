"""The hook contract's promises about the engine, held end to end against the simulator.

What ``host/hookspecs.py`` says a plugin is handed, and when, checked on the real engine, client
and journal, with the simulator's fault injection making the awkward orderings happen.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from engine_harness import (
    BTC,
    START,
    BuyOnce,
    CloseAfterTen,
    RestFarBelow,
    Session,
    journal_rows,
    run_session,
)

from host import Fill, Order, Position, PositionSide, Side, hookimpl
from host.engine.ledger import position_after
from host.journal.records import Record


@dataclass(frozen=True)
class Heard:
    """One ``on_fill`` call: the fill and the position the plugin was handed with it."""

    fill: Fill
    position: Position | None


class FillWitness:
    """Remembers every ``on_fill`` call, as an exit plugin or a breaker would see it."""

    heard: ClassVar[list[Heard]] = []

    def __init__(self) -> None:
        FillWitness.heard = []

    @hookimpl
    def on_fill(self, fill: Fill, position: Position | None) -> None:
        FillWitness.heard.append(Heard(fill, position))


def journaled_fills(tmp_path: Path) -> list[tuple[str, str]]:
    """``(trade_id, side)`` of every fill the journal holds, in the order it was written."""
    return journal_rows(tmp_path, "SELECT trade_id, side FROM fills ORDER BY id")


async def test_on_fill_gets_none_for_a_close_fill_pushed_before_the_positions_push(
    tmp_path: Path,
) -> None:
    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        # From here on the positions channel is silent: the close's fill arrives while the
        # registry still holds the position as it was before the close (only the periodic
        # reconciliation learns it is gone).
        session.sim.faults.drop_pushes(count=10_000, channel="positions")
        await session.until(lambda: not engine.registry.positions(), 30)

    engine = await run_session(
        tmp_path, script, BuyOnce, CloseAfterTen, FillWitness, reconcile_interval_seconds=5
    )
    (trade,) = engine.stats.trades
    entry_fills = [h for h in FillWitness.heard if h.fill.side is Side.BUY]
    close_fills = [h for h in FillWitness.heard if h.fill.side is Side.SELL]
    assert entry_fills
    assert close_fills
    opened = trade.closed.position
    # each entry fill: the open position (the exchange's, after the fills)
    assert all(h.position is not None and h.position.pos_id == opened.pos_id for h in entry_fills)
    # a close fill that leaves some of the position: what is left; the last one: flat
    sold = Decimal(0)
    for heard in close_fills:
        sold += heard.fill.size
        left = opened.size - sold
        if left > 0:
            assert heard.position is not None
            assert heard.position.size == left
        else:
            assert heard.position is None
    assert sold == opened.size
    assert [h.fill.trade_id for h in FillWitness.heard] == [t for t, _ in journaled_fills(tmp_path)]


async def test_the_exchange_side_stop_fill_reaches_on_fill_before_the_close(
    tmp_path: Path,
) -> None:
    closed_heard: list[int] = []

    class HearsTheClose:
        @hookimpl
        def on_position_closed(self) -> None:
            closed_heard.append(len(FillWitness.heard))

    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.protection.protected()), 10)
        journal = engine.journal
        commit = journal.commit

        async def slow_fill_commit(record: Record) -> bool:
            """Journal a fill a few loop turns late: the close must still wait for it."""
            if isinstance(record, Fill):
                for _ in range(50):
                    await asyncio.sleep(0)
            return await commit(record)

        journal.commit = slow_fill_commit  # type: ignore[method-assign]
        # A gap through the stop: the exchange-side stop trades before the host sees a tick.
        session.sim.faults.shock_market("BTC-USDT-SWAP", -5)
        await session.until(lambda: bool(closed_heard), 20)

    engine = await run_session(tmp_path, script, BuyOnce, FillWitness, HearsTheClose)
    (trade,) = engine.stats.trades
    assert trade.closed.reason.startswith("exchange stop")
    journaled = journaled_fills(tmp_path)
    assert [side for _, side in journaled] == ["buy"] * (len(journaled) - 1) + ["sell"]
    # every fill of the position, the stop's included, was announced, once, before the close
    assert [h.fill.trade_id for h in FillWitness.heard] == [trade_id for trade_id, _ in journaled]
    assert closed_heard == [len(journaled)]
    assert FillWitness.heard[-1].position is None  # the stop's fill left the position flat


class TtlWitness:
    """Remembers the orders ``limit_order_ttl`` is asked about."""

    asked: ClassVar[list[Order]] = []

    def __init__(self) -> None:
        TtlWitness.asked = []

    @hookimpl
    def limit_order_ttl(self, order: Order) -> None:
        TtlWitness.asked.append(order)


async def test_limit_order_ttl_is_asked_once_the_entry_is_acknowledged(tmp_path: Path) -> None:
    async def script(session: Session) -> None:
        await session.until(lambda: bool(TtlWitness.asked), 5)

    await run_session(tmp_path, script, RestFarBelow, TtlWitness)
    (asked,) = TtlWitness.asked
    acked = journal_rows(
        tmp_path, "SELECT cl_ord_id, ord_id FROM intent_outcomes WHERE outcome = 'acked'"
    )
    # the order carries the exchange's ordId, which only the acknowledgement gives
    assert acked == [(asked.cl_ord_id, asked.ord_id)]
    assert asked.ord_id is not None


# --- the arithmetic of "the position after the fill" ------------------------------------------

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def held_long(size: str = "1", at: datetime = T0) -> Position:
    return Position("p1", BTC, PositionSide.LONG, Decimal(size), Decimal(100), T0, at)


def a_fill(trade_id: str, side: Side, size: str, price: str, seconds: int) -> Fill:
    ts = T0 + timedelta(seconds=seconds)
    return Fill(BTC, trade_id, "o1", "c1", side, Decimal(price), Decimal(size), Decimal(0), ts)


def test_position_after_applies_the_fills_the_registry_lacks_in_order() -> None:
    add = a_fill("2", Side.BUY, "1", "110", 5)
    cut = a_fill("3", Side.SELL, "0.5", "120", 5)  # same instant as the add-on
    after_add = position_after(held_long(), [add])
    assert after_add is not None
    assert (after_add.size, after_add.entry_price) == (Decimal(2), Decimal(105))
    after_cut = position_after(held_long(), [add, cut])
    assert after_cut is not None
    assert (after_cut.size, after_cut.entry_price) == (Decimal("1.5"), Decimal(105))
    assert position_after(held_long(), [add, cut, a_fill("4", Side.SELL, "1.5", "120", 6)]) is None


def test_position_after_skips_fills_the_registry_already_counts() -> None:
    counted = a_fill("2", Side.SELL, "0.5", "120", 5)
    reported = held_long("0.5", at=T0 + timedelta(seconds=5))  # the push after the fill came
    assert position_after(reported, [counted]) == reported
    assert position_after(None, [counted]) is None  # flat, or not known yet


async def test_a_stop_for_a_position_already_closed_is_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """OKX 51023 (no such position) on a stop placement is the close winning a race: logged
    as what it is, not as an ERROR a user cannot explain."""
    placed: list[str | None] = []

    async def script(session: Session) -> None:
        gone = Position(
            "no-such-position", BTC, PositionSide.LONG, Decimal(1), Decimal(60000),
            START, START,
        )  # fmt: skip
        placed.append(await session.engine.executor.place_stop(gone, Decimal(59000)))

    with caplog.at_level(logging.INFO, logger="host.engine.execution"):
        await run_session(tmp_path, script)
    assert placed == [None]
    (record,) = [r for r in caplog.records if "no-such-position" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert "no position on the exchange for its stop (51023)" in record.getMessage()


async def test_a_close_refused_for_want_of_a_position_is_sent_once_and_settled(
    tmp_path: Path,
) -> None:
    """The position was closed "from the app" and the host did not hear of it: its own close is
    refused (51169), once — not on every tick until the next reconciliation — and the host asks
    the exchange, finds the position gone and journals it closed."""

    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await session.advance(2)
        for kind in ("private", "business"):  # the host hears nothing of what follows
            session.sim.faults.silence_sockets(kind)
        session.sim.faults.external_close(BTC)
        await session.until(lambda: not engine.registry.positions(), 25)

    await run_session(tmp_path, script, BuyOnce, CloseAfterTen, reconcile_interval_seconds=600)
    refusals = journal_rows(tmp_path, "SELECT code FROM rejections")
    assert refusals == [("51169",)]
    assert journal_rows(tmp_path, "SELECT COUNT(*) FROM closes") == [(1,)]


async def test_a_close_in_flight_at_shutdown_is_settled_before_the_journal_closes(
    tmp_path: Path,
) -> None:
    """The stop signal comes just after a close was sent, and its fill's push never comes: the
    shutdown looks the close up by its clOrdId, so its fills are journaled and the journal does
    not say open what the exchange has flat."""

    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        session.sim.faults.drop_pushes(count=10_000, channel="orders")
        closing = lambda: any(t.pos_id for t in engine.orders.open())  # noqa: E731
        await session.until(closing, 20)  # CloseAfterTen sent the close: now the signal

    await run_session(tmp_path, script, BuyOnce, CloseAfterTen, reconcile_interval_seconds=600)
    sizes = {"buy": Decimal(0), "sell": Decimal(0)}
    for side, size in journal_rows(tmp_path, "SELECT side, size FROM fills"):
        sizes[side] += Decimal(size)
    assert sizes["sell"] == sizes["buy"] > 0  # the close's fills are in the journal
    assert journal_rows(tmp_path, "SELECT COUNT(*) FROM closes") == [(1,)]


async def test_a_full_disk_sends_no_unjournaled_order_and_closing_resumes_once_freed(
    tmp_path: Path,
) -> None:
    """While the journal cannot write, no order leaves without its intent journaled; once the
    disk has room again, the close the exit plugin keeps asking for goes out."""
    during: list[int] = []

    def fill_disk(connection: sqlite3.Connection) -> None:
        """Every write of the journal fails from now on, as on a full disk.

        A real full disk fails the write-ahead log's growth, which a test cannot cause without
        a filesystem of its own; a trigger on the writer's connection fails the same writes.
        """
        for table in ("order_intents", "fills", "stop_levels", "intent_outcomes"):
            connection.execute(
                f"CREATE TEMP TRIGGER full_{table} BEFORE INSERT ON main.{table} "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )

    def free_disk(connection: sqlite3.Connection) -> None:
        for table in ("order_intents", "fills", "stop_levels", "intent_outcomes"):
            connection.execute(f"DROP TRIGGER temp.full_{table}")

    async def script(session: Session) -> None:
        engine = session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await engine.journal._read(fill_disk)
        await session.advance(15)  # CloseAfterTen asks to close, tick after tick
        during.append(len(session.sim.ledger.fills(BTC)))
        assert engine.registry.positions(), "closed without a journaled intent"
        await engine.journal._read(free_disk)
        await session.until(lambda: not engine.registry.positions(), 10)

    await run_session(tmp_path, script, BuyOnce, CloseAfterTen, reconcile_interval_seconds=600)
    entry_fills = journal_rows(tmp_path, "SELECT COUNT(*) FROM fills WHERE side = 'buy'")[0][0]
    assert during == [entry_fills]  # nothing but the entry reached the exchange while full
    intents = journal_rows(tmp_path, "SELECT purpose FROM order_intents ORDER BY rowid")
    assert intents == [("entry",), ("close",)]
    assert journal_rows(tmp_path, "SELECT COUNT(*) FROM closes") == [(1,)]
