"""limit_order_policy: where an entry limit rests, how long it may wait, and what happens then.

The bot scalphost replaces let entry limits wait 120 s in a ranging market and paid for it in
slippage; its fix was a base wait of 60 s, shortened per regime (trending 45, ranging 45,
choppy 30). Those are this plugin's defaults, in ``config/``.

* **Placement** (``plan_entry``): ``offset_ticks`` behind the touch (the bid for a buy, the ask
  for a sell), post-only or not. A post-only price is kept at least one tick clear of the other
  side of the book, so the exchange never rejects it for crossing.
* **Wait** (``limit_order_ttl``): the regime's wait, asked again after each reprice, so no resting
  period is longer than the current regime allows.
* **Time-out** (``on_limit_expired``): ``cancel``, ``cross`` the spread, or ``reprice`` to the new
  touch up to ``max_reprices`` times and then do ``after_last_reprice``. A partly filled order is
  treated the same way: the rest follows the same policy and shares the same reprice count. The
  count is kept per ``clOrdId``, which an OKX amend keeps.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from host import (
    CancelOrder,
    CrossSpread,
    EntryPlan,
    ExpiryAction,
    HookContext,
    InstrumentSpec,
    Order,
    Regime,
    RepriceOrder,
    Side,
    Signal,
    Tick,
    hookimpl,
)

REMEMBERED_ORDERS = 4096
"""Orders whose reprice count is remembered; far more than can rest at once."""


def entry_price(
    side: Side, tick: Tick, spec: InstrumentSpec, offset_ticks: int, post_only: bool
) -> Decimal | None:
    """The limit for ``side``: ``offset_ticks`` behind the touch, clear of the book if post-only.

    ``None`` when no positive price on the tick grid exists (a book at the first tick).
    """
    sign = 1 if side is Side.BUY else -1
    touch = tick.bid if side is Side.BUY else tick.ask
    price = touch - sign * offset_ticks * spec.tick_sz
    if post_only:
        other = tick.ask if side is Side.BUY else tick.bid
        clear = other - sign * spec.tick_sz
        price = min(price, clear) if side is Side.BUY else max(price, clear)
    if price < spec.tick_sz:
        return None
    return spec.entry_limit_price(side, price)


class LimitOrderPolicy:
    """Per-regime wait, touch-relative placement, cancel / reprice / cross on time-out."""

    class Settings(BaseModel):
        """Placement, wait per regime, and the time-out action."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        offset_ticks: int = Field(
            default=0, ge=0, description="Ticks behind the touch (0: at the bid / ask)."
        )
        post_only: bool = Field(
            default=True, description="Rest as maker only; never take liquidity on entry."
        )
        max_wait_seconds: PositiveFloat = Field(
            default=60.0, description="How long an entry may rest, in a regime not listed below."
        )
        by_regime: dict[Regime, PositiveFloat] = Field(
            default={Regime.TRENDING: 45.0, Regime.RANGING: 45.0, Regime.CHOPPY: 30.0},
            description="How long an entry may rest in each regime (overrides max_wait_seconds).",
        )
        on_timeout: Literal["cancel", "reprice", "cross"] = Field(
            default="reprice", description="What a time-out does to the rest of the order."
        )
        max_reprices: int = Field(
            default=2, ge=0, description="Reprices of one order before after_last_reprice."
        )
        after_last_reprice: Literal["cancel", "cross"] = Field(
            default="cancel", description="What a time-out does once the reprices are used up."
        )

        def wait(self, regime: Regime) -> timedelta:
            """How long an entry may rest in ``regime``."""
            return timedelta(seconds=self.by_regime.get(regime, self.max_wait_seconds))

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._reprices: LRUCache[str, int] = LRUCache(maxsize=REMEMBERED_ORDERS)

    @hookimpl(trylast=True)
    def plan_entry(self, signal: Signal, tick: Tick, ctx: HookContext) -> EntryPlan | None:
        """Rest the entry ``offset_ticks`` behind the touch."""
        settings = self.settings
        price = entry_price(
            signal.side.entry_side, tick, ctx.instrument, settings.offset_ticks, settings.post_only
        )
        return None if price is None else EntryPlan(price, post_only=settings.post_only)

    @hookimpl(trylast=True)
    def limit_order_ttl(self, ctx: HookContext) -> timedelta:
        """The current regime's wait."""
        return self.settings.wait(ctx.regime)

    @hookimpl(trylast=True)
    def on_limit_expired(self, order: Order, tick: Tick, ctx: HookContext) -> ExpiryAction:
        """Cancel, cross, or reprice the rest of the order while reprices are left."""
        settings = self.settings
        rest = f"{order.remaining_size} of {order.size} left after {settings.wait(ctx.regime)}"
        if settings.on_timeout == "reprice":
            done = self._reprices.get(order.cl_ord_id, 0)
            if done < settings.max_reprices:
                price = entry_price(
                    order.side, tick, ctx.instrument, settings.offset_ticks, order.post_only
                )
                if price is not None:
                    self._reprices[order.cl_ord_id] = done + 1
                    return RepriceOrder(
                        price, f"reprice {done + 1}/{settings.max_reprices}: {rest}"
                    )
            self._reprices.pop(order.cl_ord_id, None)
            return _final(settings.after_last_reprice, f"reprices used up: {rest}")
        return _final(settings.on_timeout, rest)


def _final(action: Literal["cancel", "cross"], reason: str) -> ExpiryAction:
    return CrossSpread(reason) if action == "cross" else CancelOrder(reason)
