"""Decimal money: every price, size, fee and PnL enters the host through this module.

OKX sends numbers as strings, and ``""`` means "not applicable". Parsing straight to
:class:`~decimal.Decimal` keeps the exchange's exact digits, so nothing is rounded before PnL is
computed (the bug that hurt the bot scalphost replaces). Rounding happens only in
:mod:`host.domain.instrument`, where an order is built, and in :func:`usdt` and
:func:`shown_pnl`, where a person reads it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


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


def usdt(value: Decimal) -> str:
    """Money as a person reads it: signed, to the cent, and nothing as plain 0.00.

    A sign on zero reads as a gain or a loss that is not there (a drawdown of "+0.00" looks like a
    bug), and a rounded-away loss must not show as "-0.00".
    """
    cents = value.quantize(CENT, ROUND_HALF_UP)
    return "0.00 USDT" if cents == 0 else f"{cents:+} USDT"


def shown_pnl(net: Decimal, fees: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Gross, fees and net PnL to the cent, so that gross + fees = net *as shown*.

    Net and fees are each rounded from their exact sums and the gross shown is their
    difference (within a cent of the exact gross); rounding all three on their own can show a
    sum that is a cent off, which a reader takes for a bug.
    """
    net_shown = net.quantize(CENT, ROUND_HALF_UP)
    fees_shown = fees.quantize(CENT, ROUND_HALF_UP)
    return net_shown - fees_shown, fees_shown, net_shown
