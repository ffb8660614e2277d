"""Properties of :class:`InstrumentSpec` rounding: every rounding is on the grid, on the safe side.

Proves, for realistic tick / lot grids (powers of ten and 2 / 5 / 25 multiples) and exact Decimal
inputs, with an independent oracle in exact rational arithmetic (:class:`fractions.Fraction`):

* an entry limit is on the tick grid, positive, never pays more than asked and is within one tick;
* a protective stop is on the tick grid, within one tick, and never loosened (long up, short down);
* a size is a lot multiple within one lot below the request, and is refused exactly when that
  floor is below ``minSz``;
* a price below one tick is refused whenever the safe rounding would reach zero;
* a spec refuses non-positive, non-finite and non-Decimal fields.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import BTC

from host.domain import InstrumentSpec, OrderPriceError, OrderSizeError, PositionSide, Side

XRP = InstrumentSpec(
    inst_id="XRP-USDT-SWAP",
    ct_val=Decimal(100),
    ct_mult=Decimal(1),
    tick_sz=Decimal("0.0001"),
    lot_sz=Decimal(1),
    min_sz=Decimal(1),
)

# A grid step is m × 10^e: 0.000001 … 10 for powers of ten, plus 0.5 / 5 / 0.25 style steps.
steps = st.builds(
    lambda m, e: Decimal(f"{m}e{e}"), st.sampled_from([1, 2, 5, 25]), st.integers(-6, 1)
)


@st.composite
def specs(draw: st.DrawFn) -> InstrumentSpec:
    lot = draw(steps)
    return InstrumentSpec(
        inst_id="TEST-USDT-SWAP",
        ct_val=draw(steps),
        ct_mult=Decimal(1),
        tick_sz=draw(steps),
        lot_sz=lot,
        min_sz=lot * draw(st.integers(1, 10)),
    )


def decimals(max_value: int = 10**9, max_places: int = 8) -> st.SearchStrategy[Decimal]:
    """Exact non-negative Decimals such as an exchange or a plugin produce: n × 10^-k."""
    return st.builds(
        lambda n, k: Decimal(f"{n}e-{k}"), st.integers(0, max_value), st.integers(0, max_places)
    )


def in_steps(value: Decimal, step: Decimal) -> Fraction:
    """``value / step`` exactly; an integer result means ``value`` is on the grid."""
    return Fraction(value) / Fraction(step)


def on_grid(value: Decimal, step: Decimal) -> bool:
    return in_steps(value, step).denominator == 1


@st.composite
def spec_and_price(draw: st.DrawFn) -> tuple[InstrumentSpec, Decimal]:
    """A spec and a price of at least one tick."""
    spec = draw(specs())
    return spec, spec.tick_sz + draw(decimals())


@given(spec_and_price(), st.sampled_from(Side))
def test_entry_limit_is_on_tick_and_never_pays_more(case, side: Side) -> None:
    spec, price = case
    result = spec.entry_limit_price(side, price)
    assert type(result) is Decimal
    assert on_grid(result, spec.tick_sz)
    assert result > 0
    # How far the order moved in the trader's favour: a buy went down, a sell went up.
    improvement = Fraction(price - result) if side is Side.BUY else Fraction(result - price)
    assert 0 <= improvement < Fraction(spec.tick_sz)


@given(spec_and_price(), st.sampled_from(PositionSide))
def test_protective_stop_is_on_tick_and_never_loosened(case, side: PositionSide) -> None:
    spec, stop = case
    result = spec.protective_stop(side, stop)
    assert type(result) is Decimal
    assert on_grid(result, spec.tick_sz)
    # How far the stop moved toward the market: a long's stop up, a short's stop down.
    tightening = Fraction(result - stop) if side is PositionSide.LONG else Fraction(stop - result)
    assert 0 <= tightening < Fraction(spec.tick_sz)


@given(specs(), st.integers(1, 10**7))
def test_prices_on_the_grid_are_kept_exactly(spec: InstrumentSpec, ticks: int) -> None:
    price = spec.tick_sz * ticks
    for side in Side:
        assert spec.entry_limit_price(side, price) == price
    for position_side in PositionSide:
        assert spec.protective_stop(position_side, price) == price


@given(specs(), decimals(max_value=10**8))
def test_order_size_floors_to_the_lot_and_refuses_exactly_below_min(
    spec: InstrumentSpec, size: Decimal
) -> None:
    floor_size = floor(in_steps(size, spec.lot_sz)) * Fraction(spec.lot_sz)
    if floor_size < Fraction(spec.min_sz):
        with pytest.raises(OrderSizeError, match="below minSz"):
            spec.order_size(size)
        return
    result = spec.order_size(size)
    assert type(result) is Decimal
    assert Fraction(result) == floor_size
    assert on_grid(result, spec.lot_sz)
    assert spec.min_sz <= result <= size
    assert size - result < spec.lot_sz


@st.composite
def spec_and_sub_tick_price(draw: st.DrawFn) -> tuple[InstrumentSpec, Decimal]:
    """A spec and a price strictly between zero and one tick."""
    spec = draw(specs())
    places = draw(st.integers(1, 6))
    share = Decimal(f"{draw(st.integers(1, 10**places - 1))}e-{places}")
    return spec, spec.tick_sz * share


@given(spec_and_sub_tick_price())
def test_price_below_one_tick_is_refused_when_safe_rounding_reaches_zero(case) -> None:
    spec, price = case
    with pytest.raises(OrderPriceError):
        spec.entry_limit_price(Side.BUY, price)
    with pytest.raises(OrderPriceError):
        spec.protective_stop(PositionSide.SHORT, price)
    # Rounding up is still the safe side and lands on the first tick, not on zero.
    assert spec.entry_limit_price(Side.SELL, price) == spec.tick_sz
    assert spec.protective_stop(PositionSide.LONG, price) == spec.tick_sz


@given(specs(), decimals(), st.sampled_from(Side), st.sampled_from(PositionSide))
def test_non_positive_prices_are_always_refused(
    spec: InstrumentSpec, magnitude: Decimal, side: Side, position_side: PositionSide
) -> None:
    price = -magnitude
    with pytest.raises(OrderPriceError):
        spec.entry_limit_price(side, price)
    with pytest.raises(OrderPriceError):
        spec.protective_stop(position_side, price)


def test_known_roundings_on_real_grids() -> None:
    assert BTC.entry_limit_price(Side.BUY, Decimal("26029.77")) == Decimal("26029.7")
    assert BTC.entry_limit_price(Side.SELL, Decimal("26029.71")) == Decimal("26029.8")
    assert BTC.protective_stop(PositionSide.LONG, Decimal("25900.01")) == Decimal("25900.1")
    assert BTC.protective_stop(PositionSide.SHORT, Decimal("26100.09")) == Decimal("26100.0")
    assert XRP.entry_limit_price(Side.BUY, Decimal("0.526689")) == Decimal("0.5266")
    assert BTC.order_size(Decimal("0.037")) == Decimal("0.03")
    assert XRP.order_size(Decimal("12.9")) == Decimal(12)
    with pytest.raises(OrderSizeError):
        BTC.order_size(Decimal("0.009"))
    with pytest.raises(OrderSizeError):
        XRP.order_size(Decimal(0))
    with pytest.raises(OrderPriceError):
        BTC.entry_limit_price(Side.BUY, Decimal("0.05"))


def test_contract_size_is_ct_val_times_ct_mult() -> None:
    assert BTC.contract_size == Decimal("0.01")
    spec = InstrumentSpec("X", Decimal(10), Decimal("0.1"), Decimal(1), Decimal(1), Decimal(1))
    assert spec.contract_size == Decimal(1)


@pytest.mark.parametrize("field", ["ct_val", "ct_mult", "tick_sz", "lot_sz", "min_sz"])
@pytest.mark.parametrize(
    "bad",
    [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), 0.1, 1, "1"],
)
def test_spec_refuses_non_positive_non_finite_and_non_decimal_fields(field: str, bad) -> None:
    fields = {
        "ct_val": Decimal("0.01"),
        "ct_mult": Decimal(1),
        "tick_sz": Decimal("0.1"),
        "lot_sz": Decimal("0.01"),
        "min_sz": Decimal("0.01"),
    }
    with pytest.raises(ValueError, match=field):
        InstrumentSpec(inst_id="BAD-USDT-SWAP", **{**fields, field: bad})
