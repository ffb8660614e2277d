"""The position registry: drift resolution reaches the exchange's state, no position is ever left
without a stop, stops only tighten, updates are idempotent, and a close is claimed exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import BTC, NOW, make_host

from host import (
    Accept,
    Adopt,
    DriftKind,
    DriftResolution,
    Flatten,
    HookContext,
    InstrumentSpec,
    Position,
    PositionSide,
    Regime,
)
from host.registry import (
    PositionRegistry,
    RegistryError,
    StopLoosenedError,
    UnprotectedPositionError,
)

ETH = replace(BTC, inst_id="ETH-USDT-SWAP", ct_val=Decimal("0.1"), tick_sz=Decimal("0.01"))
SPECS: dict[str, InstrumentSpec] = {spec.inst_id: spec for spec in (BTC, ETH)}
DISPATCH = make_host().dispatch


def a_position(
    pos_id: str = "p1",
    side: PositionSide = PositionSide.LONG,
    size: str = "1",
    entry: str = "100",
    stop: str | None = "95",
    inst_id: str = "BTC-USDT-SWAP",
    seconds: int = 0,
) -> Position:
    return Position(
        pos_id=pos_id,
        inst_id=inst_id,
        side=side,
        size=Decimal(size),
        entry_price=Decimal(entry),
        entry_time=NOW,
        updated_at=NOW + timedelta(seconds=seconds),
        stop=None if stop is None else Decimal(stop),
    )


@st.composite
def positions(draw: st.DrawFn, *, with_stop: bool) -> Position:
    side = draw(st.sampled_from(PositionSide))
    entry = Decimal(draw(st.integers(1_000, 100_000))) / 10
    stop = entry - side.sign * Decimal(draw(st.integers(1, 500))) / 10 if with_stop else None
    number = draw(st.integers(0, 5))
    return Position(
        pos_id=f"p{number}",
        inst_id=sorted(SPECS)[number % len(SPECS)],  # OKX never moves a posId between instruments
        side=side,
        size=Decimal(draw(st.integers(1, 500))) / 100,
        entry_price=entry,
        entry_time=NOW,
        updated_at=NOW + timedelta(seconds=draw(st.integers(0, 60))),
        stop=stop,
    )


def by_pos_id(items: list[Position]) -> dict[str, Position]:
    """Positions keyed by id; a later duplicate id replaces an earlier one."""
    return {position.pos_id: position for position in items}


registries = st.lists(positions(with_stop=True)).map(by_pos_id)
snapshots = st.lists(positions(with_stop=False)).map(lambda items: list(by_pos_id(items).values()))
marks = st.fixed_dictionaries(
    {inst_id: st.integers(1_000, 100_000).map(lambda n: Decimal(n) / 10) for inst_id in SPECS}
)


def registry_of(held: dict[str, Position]) -> PositionRegistry:
    registry = PositionRegistry()
    for position in held.values():
        registry.track(position)
    return registry


def exchange_view(items: list[Position] | tuple[Position, ...]) -> dict[str, tuple[object, ...]]:
    return {p.pos_id: (p.inst_id, *p.exchange_state) for p in items}


def resolve_through_plugins(
    registry: PositionRegistry, snapshot: list[Position], mark: dict
) -> None:
    """What the engine does on reconciliation: every drift goes through the real dispatch."""
    for drift in registry.drift(snapshot, mark):
        context = HookContext(now=NOW, instrument=SPECS[drift.inst_id], regime=Regime.RANGING)
        registry.resolve(drift, DISPATCH.on_position_drift(drift, context).resolution)


@given(registries, snapshots, marks)
def test_resolving_the_drift_from_a_snapshot_yields_the_snapshot(held, snapshot, mark) -> None:
    registry = registry_of(held)
    resolve_through_plugins(registry, snapshot, mark)
    assert exchange_view(registry.positions()) == exchange_view(snapshot)
    assert registry.drift(snapshot, mark) == []
    assert registry.unprotected() == ()


@given(registries, snapshots, st.data())
def test_any_valid_resolution_yields_the_snapshot_and_leaves_nothing_bare(
    held, snapshot, data
) -> None:
    registry = registry_of(held)
    for drift in registry.drift(snapshot):
        choices: list[DriftResolution] = [Accept("as is")] if drift.acceptable_as_is else []
        if drift.kind is not DriftKind.REMOVE:
            assert drift.exchange is not None
            protective = drift.exchange.entry_price - drift.exchange.side.sign
            choices += [Adopt(protective, "adopt"), Flatten("flatten")]
        registry.resolve(drift, data.draw(st.sampled_from(choices)))
    assert exchange_view(registry.positions()) == exchange_view(snapshot)
    assert registry.unprotected() == ()
    for position in registry.positions():
        assert position.stop is not None or registry.is_flattening(position.pos_id)


@given(registries, positions(with_stop=False))
def test_applying_an_update_twice_is_the_same_as_once(held, update) -> None:
    once, twice = registry_of(held), registry_of(held)
    first = once.apply(update)
    assert twice.apply(update) == first
    assert twice.apply(update) == first
    assert once.positions() == twice.positions()


@given(registries, positions(with_stop=False))
def test_a_pushed_update_never_loses_a_stop_nor_inserts_a_bare_position(held, update) -> None:
    registry = registry_of(held)
    registry.apply(update)
    assert registry.unprotected() == ()
    kept = registry.get(update.pos_id)
    if kept is not None:
        assert kept.stop == held[update.pos_id].stop


def test_an_unknown_position_comes_back_as_an_add_drift_and_is_not_inserted() -> None:
    registry = PositionRegistry()
    drift = registry.apply(a_position(stop=None))
    assert drift is not None
    assert drift.kind is DriftKind.ADD
    assert registry.get("p1") is None


def test_a_same_side_update_takes_the_exchange_facts_and_keeps_origin_and_stop() -> None:
    registry = PositionRegistry()
    registry.track(a_position(stop="95"))
    assert registry.apply(a_position(size="3", entry="101", stop=None, seconds=5)) is None
    held = registry.get("p1")
    assert held is not None
    assert (held.size, held.entry_price, held.stop) == (Decimal(3), Decimal(101), Decimal(95))


def test_an_older_update_is_ignored_and_size_zero_removes_a_position_being_closed() -> None:
    registry = PositionRegistry()
    registry.track(a_position(size="2", seconds=10))
    assert registry.apply(a_position(size="5", stop=None, seconds=3)) is None
    assert registry.get("p1") == a_position(size="2", seconds=10)
    assert registry.claim_close("p1")
    assert registry.apply(a_position(size="0", stop=None, seconds=11)) is None
    assert registry.get("p1") is None
    assert registry.for_instrument("BTC-USDT-SWAP") == ()


def test_size_zero_for_a_position_not_being_closed_is_a_remove_drift_and_keeps_it() -> None:
    registry = PositionRegistry()
    held = a_position(size="2", seconds=10)
    registry.track(held)
    drift = registry.apply(a_position(size="0", stop=None, seconds=11))
    assert drift is not None
    assert (drift.kind, drift.exchange, drift.known) == (DriftKind.REMOVE, None, held)
    assert registry.get("p1") == held  # kept until the caller confirms it gone
    assert registry.resolve(drift, Accept("gone from the exchange")) is None
    assert registry.get("p1") is None


def test_a_flipped_side_is_a_change_drift_and_the_old_stop_cannot_be_accepted() -> None:
    registry = PositionRegistry()
    registry.track(a_position(side=PositionSide.LONG, stop="95"))
    drift = registry.apply(a_position(side=PositionSide.SHORT, stop=None, seconds=1))
    assert drift is not None
    assert drift.kind is DriftKind.CHANGE
    assert not drift.acceptable_as_is
    with pytest.raises(UnprotectedPositionError):
        registry.resolve(drift, Accept("keep the long's stop"))
    adopted = registry.resolve(drift, Adopt(Decimal(105), "protect the short"))
    assert adopted is not None
    assert (adopted.side, adopted.stop) == (PositionSide.SHORT, Decimal(105))


def test_adopting_a_known_position_never_loosens_its_stop() -> None:
    registry = PositionRegistry()
    registry.track(a_position(stop="98"))
    (drift,) = registry.drift([a_position(size="2", stop=None)])
    adopted = registry.resolve(drift, Adopt(Decimal(90), "wider"))
    assert adopted is not None
    assert adopted.stop == Decimal(98)


@pytest.mark.parametrize(
    ("side", "tighter", "looser"),
    [(PositionSide.LONG, "97", "93"), (PositionSide.SHORT, "103", "107")],
)
def test_stops_only_tighten(side: PositionSide, tighter: str, looser: str) -> None:
    registry = PositionRegistry()
    registry.track(a_position(side=side, stop="95" if side is PositionSide.LONG else "105"))
    assert registry.set_stop("p1", Decimal(tighter)).stop == Decimal(tighter)
    with pytest.raises(StopLoosenedError):
        registry.set_stop("p1", Decimal(looser))
    held = registry.get("p1")
    assert held is not None
    assert held.stop == Decimal(tighter)


def test_track_refuses_a_bare_position_an_empty_one_and_a_second_copy() -> None:
    registry = PositionRegistry()
    with pytest.raises(UnprotectedPositionError):
        registry.track(a_position(stop=None))
    with pytest.raises(RegistryError, match="positive size"):
        registry.track(a_position(size="0"))
    registry.track(a_position())
    with pytest.raises(RegistryError, match="already tracked"):
        registry.track(a_position(stop="50"))


def test_a_vanished_position_can_only_be_accepted() -> None:
    registry = PositionRegistry()
    registry.track(a_position())
    (drift,) = registry.drift([])
    assert drift.kind is DriftKind.REMOVE
    with pytest.raises(RegistryError):
        registry.resolve(drift, Flatten("too late"))
    assert registry.resolve(drift, Accept("gone")) is None
    assert registry.positions() == ()


def test_positions_are_indexed_by_instrument_without_rebuilding_per_call() -> None:
    registry = PositionRegistry()
    registry.track(a_position("b2", seconds=1))
    registry.track(a_position("b1"))
    registry.track(a_position("e1", inst_id="ETH-USDT-SWAP"))
    btc = registry.for_instrument("BTC-USDT-SWAP")
    assert [p.pos_id for p in btc] == ["b1", "b2"]
    assert registry.for_instrument("BTC-USDT-SWAP") is btc
    assert [p.pos_id for p in registry.for_instrument("ETH-USDT-SWAP")] == ["e1"]
    assert registry.for_instrument("SOL-USDT-SWAP") == ()


async def test_racing_tasks_close_a_position_exactly_once() -> None:
    registry = PositionRegistry()
    registry.track(a_position())
    sent: list[str] = []

    async def close_when_stop_hit(task: int) -> None:
        if not registry.claim_close("p1"):
            return
        await asyncio.sleep(0)  # the close order is in flight; other tasks run meanwhile
        sent.append(f"close p1 by task {task}")

    await asyncio.gather(*(close_when_stop_hit(n) for n in range(50)))
    assert len(sent) == 1
    assert registry.apply(a_position(size="0", stop=None, seconds=1)) is None
    assert not registry.claim_close("p1")


def test_a_failed_close_releases_its_claim_for_a_retry() -> None:
    registry = PositionRegistry()
    registry.track(a_position())
    assert registry.claim_close("p1")
    assert registry.is_closing("p1")
    assert not registry.claim_close("p1")
    registry.release_close("p1")
    assert registry.claim_close("p1")


async def test_waiting_for_flat_ends_when_the_last_position_goes() -> None:
    registry = PositionRegistry()
    await asyncio.wait_for(registry.wait_flat(), 1)  # nothing open: at once
    registry.track(a_position("p1"))
    registry.track(a_position("p2", inst_id="ETH-USDT-SWAP"))
    waiter = asyncio.create_task(registry.wait_flat())
    assert registry.claim_close("p1")  # the host is closing both: their flat pushes settle them
    assert registry.claim_close("p2")
    registry.apply(a_position("p1", size="0", stop=None, seconds=1))
    await asyncio.sleep(0)
    assert not waiter.done()  # p2 is still open
    registry.apply(a_position("p2", size="0", stop=None, seconds=1, inst_id="ETH-USDT-SWAP"))
    await asyncio.wait_for(waiter, 1)
