"""Money and time go into the journal and come back exactly: same digits, same instant, UTC."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from journal_factory import memory_schema, position

from host.clock import NaiveDatetimeError
from host.domain import ClosedPosition, Order, PnL, Side
from host.journal import IntentPurpose, OrderIntent
from host.journal.codec import StoredValueError, instant, money, money_text, time_text
from host.journal.queries import closed_since, unresolved_intents
from host.journal.store import store

finite_decimals = st.decimals(allow_nan=False, allow_infinity=False)
offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
# hypothesis takes naive bounds and attaches the generated offset to each example.
aware_times = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=offsets,
)


def same_digits(a: Decimal, b: Decimal) -> bool:
    """Equal as written, not only as numbers: Decimal("1.0") and Decimal("1") differ here."""
    return a.as_tuple() == b.as_tuple()


@pytest.fixture(scope="module")
def connection() -> Iterator[sqlite3.Connection]:
    """The schema in memory, driven by the same store and query functions as the writer thread."""
    with closing(memory_schema()) as db:
        yield db


@given(value=finite_decimals)
def test_money_text_round_trips_every_finite_decimal_digit_for_digit(value: Decimal) -> None:
    assert same_digits(money(money_text(value)), value)


@given(moment=aware_times)
def test_time_text_round_trips_as_the_same_instant_in_utc(moment: datetime) -> None:
    back = instant(time_text(moment))
    assert back == moment
    assert back.utcoffset() == timedelta(0)


@given(a=aware_times, b=aware_times)
def test_time_text_sorts_as_time_does(a: datetime, b: datetime) -> None:
    assert (time_text(a) < time_text(b)) == (a < b)


def test_floats_and_naive_times_are_refused_on_the_way_in() -> None:
    with pytest.raises(TypeError):
        money_text(0.1)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError):
        time_text(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(StoredValueError):
        instant("2026-01-01T00:00:00")
    with pytest.raises(StoredValueError):
        money(0.1)


@given(
    numbers=st.lists(finite_decimals, min_size=7, max_size=7),
    times=st.lists(aware_times, min_size=3, max_size=3),
)
def test_a_closed_position_round_trips_through_the_schema(
    connection: sqlite3.Connection, numbers: list[Decimal], times: list[datetime]
) -> None:
    size, entry, stop, exit_, gross, fees, _ = numbers
    opened_at, updated_at, closed_at = times
    held = replace(
        position(opened=opened_at, stop=stop), size=size, entry_price=entry, updated_at=updated_at
    )
    record = ClosedPosition(held, exit_, closed_at, PnL(gross, fees), "take profit")
    connection.execute("BEGIN")
    try:
        store(connection, record)
        (back,) = closed_since(connection, closed_at)
    finally:
        connection.execute("ROLLBACK")
    assert back == record
    assert back.position.stop is not None
    for ours, theirs in [(back.position.size, size), (back.position.entry_price, entry),
                         (back.position.stop, stop), (back.exit_price, exit_),
                         (back.pnl.gross, gross), (back.pnl.fees, fees)]:  # fmt: skip
        assert same_digits(ours, theirs)
    assert all(moment.tzinfo == UTC for moment in (back.closed_at, back.position.entry_time))


@given(size=finite_decimals, price=st.none() | finite_decimals, created=aware_times)
def test_an_order_intent_round_trips_through_the_schema(
    connection: sqlite3.Connection, size: Decimal, price: Decimal | None, created: datetime
) -> None:
    order = Order("c1", "ETH-USDT-SWAP", Side.SELL, size, price, created, reduce_only=True)
    intent = OrderIntent(order, IntentPurpose.CLOSE, "tsl hit", pos_id="p9")
    connection.execute("BEGIN")
    try:
        store(connection, intent)
        (back,) = unresolved_intents(connection)
    finally:
        connection.execute("ROLLBACK")
    assert back == intent
    assert same_digits(back.order.size, size)
    assert back.order.created_at.tzinfo == UTC
