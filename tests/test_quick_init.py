"""The hot path's value objects keep every dataclass behaviour under their cheaper constructor."""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError, dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from host.context import HookContext, HostLoad
from host.domain import InstrumentSpec, Regime, Tick
from host.domain.quick_init import quick_init
from host.exchange.events import TickerPush

NOW = datetime(2025, 1, 6, tzinfo=UTC)
BTC = InstrumentSpec(
    "BTC-USDT-SWAP", Decimal("0.01"), Decimal(1), Decimal("0.1"), Decimal("0.01"), Decimal("0.01")
)


def test_the_fast_constructor_is_the_one_in_use() -> None:
    for cls in (Tick, TickerPush, HookContext):
        assert cls.__init__.__doc__ is not None
        assert "straight into its slot" in cls.__init__.__doc__


def test_fields_land_where_named_positionally_and_by_keyword() -> None:
    positional = Tick("BTC-USDT-SWAP", NOW, Decimal(3), Decimal(1), Decimal(2))
    assert (positional.last, positional.bid, positional.ask, positional.mark) == (
        Decimal(3), Decimal(1), Decimal(2), None,
    )  # fmt: skip
    by_keyword = Tick(
        ask=Decimal(2), bid=Decimal(1), last=Decimal(3), ts=NOW, inst_id="BTC-USDT-SWAP"
    )
    assert by_keyword == positional
    assert hash(by_keyword) == hash(positional)
    assert Tick(*dataclasses.astuple(positional)[:5], Decimal(4)).mark == Decimal(4)  # type: ignore[arg-type]


def test_context_defaults_and_replace_work_as_before() -> None:
    ctx = HookContext(NOW, BTC, Regime.RANGING)
    assert ctx.load is None
    load = HostLoad(loop_lag=NOW - NOW, exchange_latency=NOW - NOW)
    later = replace(ctx, load=load)
    assert (later.now, later.instrument, later.regime, later.load) == (
        NOW, BTC, Regime.RANGING, load,
    )  # fmt: skip
    assert dataclasses.asdict(ctx)["regime"] is Regime.RANGING
    assert [field.name for field in dataclasses.fields(ctx)] == [
        "now", "instrument", "regime", "load",
    ]  # fmt: skip
    assert "HookContext(now=" in repr(ctx)


def test_plugins_still_cannot_change_what_they_are_given() -> None:
    tick = Tick("BTC-USDT-SWAP", NOW, Decimal(3), Decimal(1), Decimal(2))
    ctx = HookContext(NOW, BTC, Regime.RANGING)
    with pytest.raises(FrozenInstanceError):
        tick.last = Decimal(0)  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        ctx.regime = Regime.CHOPPY  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del ctx.now
    with pytest.raises(TypeError):
        Tick("BTC-USDT-SWAP", NOW, Decimal(3), Decimal(1))  # type: ignore[call-arg]


def test_a_class_it_cannot_honour_is_refused() -> None:
    @dataclass(slots=True)
    class Mutable:
        value: int

    @dataclass(frozen=True)
    class Unslotted:
        value: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError(self.value)

    @dataclass(frozen=True, slots=True)
    class Factory:
        values: list[int] = dataclasses.field(default_factory=list)

    for cls in (Mutable, Unslotted, Checked, Factory):
        with pytest.raises(TypeError, match="quick_init"):
            quick_init(cls)
