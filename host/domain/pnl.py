"""PnL of linear USDT swaps, computed exactly as OKX does, in Decimal.

OKX: ``PnL = ctVal × ctMult × |contracts| × (exit − entry)`` for a long and the negative for a
short; a fee is ``notional × rate`` with OKX's sign (negative = charged, positive = rebate), and
``net = gross + fees``. Prices are never rounded here: they are the exchange's own digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from host.domain.instrument import InstrumentSpec
from host.domain.sides import PositionSide


@dataclass(frozen=True, slots=True)
class PnL:
    """Gross PnL and fees (OKX sign: negative = charged) in the settlement currency."""

    gross: Decimal
    fees: Decimal

    @property
    def net(self) -> Decimal:
        """What the position really earned: gross plus the (usually negative) fees."""
        return self.gross + self.fees


def notional(spec: InstrumentSpec, size: Decimal, price: Decimal) -> Decimal:
    """Value in USDT of ``size`` contracts at ``price``."""
    return spec.contract_size * abs(size) * price


def gross_pnl(
    spec: InstrumentSpec, side: PositionSide, size: Decimal, entry: Decimal, exit_: Decimal
) -> Decimal:
    """PnL of moving ``size`` contracts from ``entry`` to ``exit_`` (unrealised at the mark)."""
    return side.sign * spec.contract_size * abs(size) * (exit_ - entry)


def fee(spec: InstrumentSpec, size: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """The fee OKX books for a fill, signed as OKX signs it: a positive rate is a charge."""
    return -notional(spec, size, price) * rate


def round_trip(
    spec: InstrumentSpec,
    side: PositionSide,
    size: Decimal,
    entry: Decimal,
    exit_: Decimal,
    entry_fee_rate: Decimal,
    exit_fee_rate: Decimal,
) -> PnL:
    """PnL of opening at ``entry`` and closing at ``exit_``, with the fee of each leg."""
    fees = fee(spec, size, entry, entry_fee_rate) + fee(spec, size, exit_, exit_fee_rate)
    return PnL(gross=gross_pnl(spec, side, size, entry, exit_), fees=fees)
