"""Properties of linear-swap PnL (``host.domain.pnl``), checked against OKX's formulas.

Proves, in exact Decimal with an independent rational oracle (:class:`fractions.Fraction`):

* gross PnL is ``ctVal × ctMult × |contracts| × (exit − entry)`` for a long (OKX's linear-swap
  formula), and a short earns exactly the opposite of the mirrored long;
* PnL adds up over price legs and over partial sizes, and does not depend on the size's sign;
* fees carry OKX's sign (negative = charged): non-negative rates never raise net above gross,
  rebates never lower it, and ``net == gross + fees``;
* everything is Decimal, never float;
* OKX's worked examples of linear swaps (XRP upl 0.024, BTC short upl 5.686, notional 31.10967 and
  its 0.07 % fee −0.021776769) come out exactly.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import BTC

from host.domain import InstrumentSpec, PnL, PositionSide
from host.domain.pnl import fee, gross_pnl, notional, round_trip

XRP = InstrumentSpec(
    inst_id="XRP-USDT-SWAP",
    ct_val=Decimal(100),
    ct_mult=Decimal(1),
    tick_sz=Decimal("0.0001"),
    lot_sz=Decimal(1),
    min_sz=Decimal(1),
)


def exact(n_max: int, places: int) -> st.SearchStrategy[Decimal]:
    """Positive exact Decimals n × 10^-k, as OKX sends them."""
    return st.builds(
        lambda n, k: Decimal(f"{n}e-{k}"), st.integers(1, n_max), st.integers(0, places)
    )


specs = st.builds(
    lambda ct_val, ct_mult: InstrumentSpec(
        "TEST-USDT-SWAP", ct_val, ct_mult, Decimal("0.1"), Decimal("0.01"), Decimal("0.01")
    ),
    st.builds(lambda e: Decimal(f"1e{e}"), st.integers(-4, 3)),
    st.sampled_from([Decimal(1), Decimal(10), Decimal("0.1")]),
)
prices = exact(10**8, 6)
sizes = exact(10**6, 3)
sides = st.sampled_from(PositionSide)
# Fee rates from a 0.05 % rebate to a 0.1 % charge, in steps of 0.0001 %.
rates = st.builds(lambda n: Decimal(f"{n}e-6"), st.integers(-500, 1000))
charges = st.builds(lambda n: Decimal(f"{n}e-6"), st.integers(0, 1000))


@given(specs, sides, sizes, prices, prices)
def test_gross_is_okx_formula_exactly(spec, side, size, entry, exit_) -> None:
    result = gross_pnl(spec, side, size, entry, exit_)
    assert type(result) is Decimal
    long_pnl = (
        Fraction(spec.ct_val) * Fraction(spec.ct_mult) * Fraction(size) * Fraction(exit_ - entry)
    )
    assert Fraction(result) == (long_pnl if side is PositionSide.LONG else -long_pnl)


@given(specs, sizes, prices, prices)
def test_short_earns_exactly_minus_the_mirrored_long(spec, size, entry, exit_) -> None:
    long_ = gross_pnl(spec, PositionSide.LONG, size, entry, exit_)
    short = gross_pnl(spec, PositionSide.SHORT, size, entry, exit_)
    assert long_ == -short
    # A long gains exactly when the price rises.
    assert (long_ > 0) == (exit_ > entry)
    assert (long_ == 0) == (exit_ == entry)


@given(specs, sides, sizes, prices, prices, prices)
def test_gross_adds_up_over_price_legs(spec, side, size, entry, middle, exit_) -> None:
    whole = gross_pnl(spec, side, size, entry, exit_)
    legs = gross_pnl(spec, side, size, entry, middle) + gross_pnl(spec, side, size, middle, exit_)
    assert whole == legs


@given(specs, sides, sizes, sizes, prices, prices)
def test_gross_adds_up_over_partial_sizes(spec, side, first, second, entry, exit_) -> None:
    whole = gross_pnl(spec, side, first + second, entry, exit_)
    parts = gross_pnl(spec, side, first, entry, exit_) + gross_pnl(spec, side, second, entry, exit_)
    assert whole == parts


@given(specs, sides, sizes, prices, prices)
def test_size_sign_does_not_change_pnl_or_notional(spec, side, size, entry, exit_) -> None:
    assert gross_pnl(spec, side, -size, entry, exit_) == gross_pnl(spec, side, size, entry, exit_)
    assert notional(spec, -size, entry) == notional(spec, size, entry)
    assert Fraction(notional(spec, size, entry)) == (
        Fraction(spec.ct_val) * Fraction(spec.ct_mult) * Fraction(size) * Fraction(entry)
    )


@given(specs, sizes, prices, charges)
def test_a_charged_fee_is_negative_and_proportional(spec, size, price, rate) -> None:
    charged = fee(spec, size, price, rate)
    assert type(charged) is Decimal
    assert charged <= 0
    assert Fraction(charged) == -Fraction(notional(spec, size, price)) * Fraction(rate)
    assert fee(spec, size, price, -rate) == -charged


@given(specs, sides, sizes, prices, prices, charges, charges)
def test_charged_fees_never_raise_net_above_gross(
    spec, side, size, entry, exit_, entry_rate, exit_rate
) -> None:
    pnl = round_trip(spec, side, size, entry, exit_, entry_rate, exit_rate)
    assert all(type(value) is Decimal for value in (pnl.gross, pnl.fees, pnl.net))
    assert pnl.fees <= 0
    assert pnl.net <= pnl.gross
    assert pnl.net == pnl.gross + pnl.fees
    if entry_rate > 0 or exit_rate > 0:
        assert pnl.net < pnl.gross


@given(specs, sides, sizes, prices, prices, rates, rates)
def test_net_is_gross_plus_signed_fees(spec, side, size, entry, exit_, entry_rate, exit_rate):
    pnl = round_trip(spec, side, size, entry, exit_, entry_rate, exit_rate)
    assert pnl.gross == gross_pnl(spec, side, size, entry, exit_)
    charged = Fraction(notional(spec, size, entry)) * Fraction(entry_rate) + Fraction(
        notional(spec, size, exit_)
    ) * Fraction(exit_rate)
    assert Fraction(pnl.fees) == -charged
    assert pnl.net == pnl.gross + pnl.fees
    if entry_rate <= 0 and exit_rate <= 0:  # rebates only
        assert pnl.net >= pnl.gross
    # Fees do not depend on the direction of the position.
    mirrored = round_trip(spec, side.opposite, size, entry, exit_, entry_rate, exit_rate)
    assert mirrored.fees == pnl.fees
    assert mirrored.gross == -pnl.gross


def test_okx_example_xrp_long_upl() -> None:
    # OKX: pos 1, ctVal 100, avgPx 0.52668: mark 0.52692 -> upl 0.024, last 0.52691 -> 0.023
    mark = gross_pnl(XRP, PositionSide.LONG, Decimal(1), Decimal("0.52668"), Decimal("0.52692"))
    last = gross_pnl(XRP, PositionSide.LONG, Decimal(1), Decimal("0.52668"), Decimal("0.52691"))
    assert mark == Decimal("0.024")
    assert last == Decimal("0.023")


def test_okx_example_btc_short_upl() -> None:
    # OKX's example: short pos 1, ctVal 0.01, avgPx 26598.3, mark 26029.7 -> upl 5.686.
    upl = gross_pnl(BTC, PositionSide.SHORT, Decimal(1), Decimal("26598.3"), Decimal("26029.7"))
    assert upl == Decimal("5.686")


def test_okx_example_btc_fill_notional_and_fee() -> None:
    # OKX's example: 0.03 ct x 0.01 BTC x 103698.9 = 31.10967 USDT; fee -0.021776769 = -0.07 %.
    assert notional(BTC, Decimal("0.03"), Decimal("103698.9")) == Decimal("31.10967")
    charged = fee(BTC, Decimal("0.03"), Decimal("103698.9"), Decimal("0.0007"))
    assert charged == Decimal("-0.021776769")


def test_a_small_scalp_can_lose_to_taker_fees() -> None:
    # 1 BTC contract long 100000 -> 100100: gross 0.01 x 100 = 1; taker 0.05 % on each leg
    # charges 0.5 + 0.5005, so the winning trade nets -0.0005.
    pnl = round_trip(
        BTC,
        PositionSide.LONG,
        Decimal(1),
        Decimal(100000),
        Decimal(100100),
        Decimal("0.0005"),
        Decimal("0.0005"),
    )
    assert pnl == PnL(gross=Decimal(1), fees=Decimal("-1.0005"))
    assert pnl.net == Decimal("-0.0005")
