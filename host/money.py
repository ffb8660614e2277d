"""Decimal money: every price, size, fee and PnL enters the host through this module.

OKX sends numbers as strings, and ``""`` means "not applicable". Parsing straight to
:class:`~decimal.Decimal` keeps the exchange's exact digits, so nothing is rounded before PnL is
computed (the bug that hurt the bot scalphost replaces). Rounding happens only in
:mod:`host.domain.instrument`, where an order is built.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


class MoneyError(ValueError):
    """A value that must be money is not a finite decimal number."""


def parse_decimal(text: str) -> Decimal:
    """Parse an OKX numeric string into a finite Decimal.

    Refuses ``""``, ``NaN`` and infinities, and refuses ``float`` outright: a float has already
    lost the exchange's digits, so accepting one would hide the bug instead of stopping it.
    """
    if not isinstance(text, str):
        raise MoneyError(f"money must be parsed from a string, got {type(text).__name__}")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyError(f"not a decimal number: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not a finite number: {text!r}")
    return value


def parse_optional_decimal(text: str) -> Decimal | None:
    """Parse an OKX numeric string where ``""`` means "not applicable" (never zero)."""
    return None if text == "" else parse_decimal(text)
