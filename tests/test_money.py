"""Properties of ``host.money``: OKX numeric strings become exact, finite Decimals, or MoneyError.

Proves that:

* ``parse_decimal`` round-trips every finite Decimal through ``str`` exactly, and keeps the exact
  value and digits (trailing zeros included) of OKX-style strings (oracle: :class:`Fraction`);
* it refuses floats and other non-strings, ``""``, NaN / infinities and garbage, always with
  :class:`MoneyError` (never a leaking ``decimal`` exception), for any text at all;
* ``parse_optional_decimal`` maps only ``""`` to ``None`` (``"0"`` stays zero).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.money import MoneyError, parse_decimal, parse_optional_decimal

finite = st.decimals(allow_nan=False, allow_infinity=False)
# What OKX sends: an optional minus, an integer part, an optional fraction ("0.0240000000000018").
okx_numbers = st.from_regex(r"-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,18})?", fullmatch=True)
NOT_NUMBERS = [
    *["", " ", "abc", "USDT", "1.2.3", "1,5", "0x10", "--1", "1e", ".", "-", "1/2", "1.5f"],
    *["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "Inf", "-inf"],
]


@given(finite)
def test_str_of_a_decimal_round_trips_exactly(value: Decimal) -> None:
    parsed = parse_decimal(str(value))
    assert type(parsed) is Decimal
    assert parsed == value
    assert str(parsed) == str(value)


@given(okx_numbers)
def test_okx_strings_keep_their_exact_value_and_digits(text: str) -> None:
    parsed = parse_decimal(text)
    assert Fraction(parsed) == Fraction(text)
    places = len(text.partition(".")[2])
    assert parsed.as_tuple().exponent == -places


@given(st.text())
def test_any_text_is_a_finite_decimal_or_a_money_error(text: str) -> None:
    try:
        parsed = parse_decimal(text)
    except MoneyError:
        return
    assert type(parsed) is Decimal
    assert parsed.is_finite()


@given(st.one_of(st.floats(), st.integers(), st.none(), st.binary(), finite))
def test_non_strings_are_refused_even_when_numeric(value) -> None:
    with pytest.raises(MoneyError, match="from a string"):
        parse_decimal(value)
    with pytest.raises(MoneyError):
        parse_optional_decimal(value)


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_empty_non_finite_and_garbage_strings_are_refused(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_decimal(text)


@given(okx_numbers)
def test_optional_parse_agrees_with_parse_for_non_empty(text: str) -> None:
    assert parse_optional_decimal(text) == parse_decimal(text)


def test_optional_parse_maps_only_empty_to_none() -> None:
    assert parse_optional_decimal("") is None
    assert parse_optional_decimal("0") == Decimal(0)
    assert parse_optional_decimal("0") is not None
    with pytest.raises(MoneyError):
        parse_optional_decimal(" ")
    with pytest.raises(MoneyError):
        parse_optional_decimal("NaN")


def test_known_okx_values_parse_exactly() -> None:
    assert parse_decimal("0.0240000000000018") == Decimal("0.024") + Decimal("18e-16")
    assert str(parse_decimal("26029.70")) == "26029.70"
    assert parse_decimal("-0.021776769") * -1 == Decimal("0.021776769")
