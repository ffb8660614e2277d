"""The instrument spec, and the only place where prices and sizes are rounded.

Rounding happens at the edge where an order is built, never before PnL is computed. Each rounding
has a direction chosen for safety, so no caller has to remember which way is safe:

* an entry limit price rounds *away from paying more* (a buy down, a sell up);
* a protective stop rounds *toward the market* (a long's stop up, a short's stop down), because
  rounding it the other way would quietly widen the loss the user configured;
* a size rounds *down* to the lot, and a size below the minimum is an error, not a zero order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from host.domain.sides import PositionSide, Side


class OrderSizeError(ValueError):
    """A size that the exchange would reject even after rounding (below ``minSz``)."""


class OrderPriceError(ValueError):
    """A price that cannot be expressed on the tick grid (zero or negative after rounding)."""


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """What OKX says about one swap: contract value and the tick / lot grid.

    ``ct_val`` is the contract value in the base coin (linear USDT swaps), ``ct_mult`` its
    multiplier; ``tick_sz`` the price grid, ``lot_sz`` the size grid and ``min_sz`` the smallest
    order, all in contracts.
    """

    inst_id: str
    ct_val: Decimal
    ct_mult: Decimal
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    settle_ccy: str = "USDT"

    def __post_init__(self) -> None:
        for name in ("ct_val", "ct_mult", "tick_sz", "lot_sz", "min_sz"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise ValueError(
                    f"{self.inst_id}: {name} must be a positive Decimal, got {value!r}"
                )

    @property
    def contract_size(self) -> Decimal:
        """Base-coin quantity of one contract (``ctVal × ctMult``)."""
        return self.ct_val * self.ct_mult

    def entry_limit_price(self, side: Side, price: Decimal) -> Decimal:
        """Round an entry limit to the tick so the order never pays more than ``price``."""
        return self._to_tick(price, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)

    def protective_stop(self, position_side: PositionSide, stop: Decimal) -> Decimal:
        """Round a stop to the tick toward the market, so the protection never loosens."""
        return self._to_tick(
            stop, ROUND_CEILING if position_side is PositionSide.LONG else ROUND_FLOOR
        )

    def order_size(self, size: Decimal) -> Decimal:
        """Round a size down to the lot; refuse one the exchange would reject as too small."""
        lots = (size / self.lot_sz).to_integral_value(rounding=ROUND_FLOOR)
        rounded = lots * self.lot_sz
        if rounded < self.min_sz:
            raise OrderSizeError(
                f"{self.inst_id}: size {size} rounds to {rounded}, below minSz {self.min_sz}"
            )
        return rounded

    def is_on_tick(self, price: Decimal) -> bool:
        """Tell whether ``price`` is a positive multiple of the tick size."""
        return price > 0 and price % self.tick_sz == 0

    def _to_tick(self, price: Decimal, rounding: str) -> Decimal:
        ticks = (price / self.tick_sz).to_integral_value(rounding=rounding)
        if ticks <= 0:
            raise OrderPriceError(f"{self.inst_id}: price {price} is below one tick {self.tick_sz}")
        return ticks * self.tick_sz
