"""OKX's price limit: a limit buy above ``buyLmt`` or a sell below ``sellLmt`` is refused (51006).

OKX bounds every order price to a band around the index/mark price, published on
``GET /public/price-limit``. The simulator's band is ``mark × (1 ± rate)`` on the tick grid, with
``rate`` = ``SimConfig.price_limit``; OKX's width varies by instrument and market state.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from host.sim.market import InstrumentMarket
from host.sim.wire import JsonDict, SimOkxError, ms, num


def band(market: InstrumentMarket, rate: Decimal) -> tuple[Decimal, Decimal]:
    """``(buyLmt, sellLmt)``: the highest buy and the lowest sell price accepted now."""
    tick = market.inst.tick_sz
    buy = market.inst.to_tick(market.mark * (1 + rate))
    sell = (market.mark * (1 - rate) / tick).to_integral_value(rounding=ROUND_CEILING) * tick
    return buy, sell


def check(market: InstrumentMarket, rate: Decimal, side: str, px: Decimal | None) -> None:
    """Raise ``51006`` when a limit price lies outside the band (market orders pass)."""
    if px is None:
        return
    buy, sell = band(market, rate)
    if (side == "buy" and px > buy) or (side == "sell" and px < sell):
        raise SimOkxError(
            "51006",
            f"Order price is not within the price limit "
            f"(max buy price: {num(buy)} min sell price: {num(sell)})",
        )


def record(market: InstrumentMarket, rate: Decimal, now: datetime) -> JsonDict:
    """``GET /public/price-limit`` item."""
    buy, sell = band(market, rate)
    return {
        "instType": "SWAP",
        "instId": market.inst.inst_id,
        "buyLmt": num(buy),
        "sellLmt": num(sell),
        "ts": ms(now),
        "enabled": True,
    }
