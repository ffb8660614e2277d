"""The limit-order-policy conformance suite: placement, waiting and time-outs on a simulated clock.

Subclass :class:`LimitOrderPolicySuite` as ``Test...`` with ``plugin_class`` and optionally a
``settings`` strategy; override :meth:`~LimitOrderPolicySuite.wait_limit` (default: the host's
ceiling) and :meth:`~LimitOrderPolicySuite.reprice_limit` with what your settings promise. Each
property plays an entry order's life — placed from a signal, resting on a
:class:`~host.clock.ManualClock`, partly filled, timing out, repriced — and checks:

* deterministic: the same life gives the same answers;
* answers are well formed (Decimal prices, positive time-to-live, an expiry action, no float);
* a post-only price never crosses the book: a buy rests below the ask, a sell above the bid, both
  when placed and when repriced;
* no resting period is longer than the regime's limit on the simulated clock;
* repricing stops after the promised number of attempts, so every order ends (cancel or cross).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from host.clock import ManualClock
from host.conformance.calls import call_hook
from host.conformance.scenarios import INSTRUMENT, TICK_SIZES, instrument
from host.conformance.suite import ConformanceSuite, prop
from host.context import HookContext
from host.decisions import CancelOrder, CrossSpread, EntryPlan, RepriceOrder
from host.domain import InstrumentSpec, Order, PositionSide, Regime, Side, Signal, Tick
from host.settings import HookSettings

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Moment:
    """One step of an order's life: time passes, the book moves, maybe part of it fills."""

    seconds: int
    move_ticks: int
    spread_ticks: int
    fill_lots: int


@dataclass(frozen=True, slots=True)
class OrderLife:
    """A generated entry: instrument, side, regime, starting book and what happens next."""

    spec: InstrumentSpec
    side: PositionSide
    regime: Regime
    bid_ticks: int
    size_lots: int
    moments: tuple[Moment, ...]


@st.composite
def order_lives(draw: st.DrawFn) -> OrderLife:
    """Random books in whole ticks, seconds between events, and partial fills."""
    moments = st.builds(
        Moment,
        seconds=st.integers(min_value=1, max_value=90),
        move_ticks=st.integers(min_value=-20, max_value=20),
        spread_ticks=st.integers(min_value=1, max_value=5),
        fill_lots=st.integers(min_value=0, max_value=3),
    )
    return OrderLife(
        spec=instrument(draw(st.sampled_from(TICK_SIZES))),
        side=draw(st.sampled_from(PositionSide)),
        regime=draw(st.sampled_from(Regime)),
        bid_ticks=draw(st.integers(min_value=50, max_value=100_000)),
        size_lots=draw(st.integers(min_value=1, max_value=10)),
        moments=tuple(draw(st.lists(moments, min_size=1, max_size=60))),
    )


@dataclass
class Played:
    """What the policy answered along one life, and what the simulated clock measured."""

    answers: list[object]
    waits: list[timedelta]
    ttls: list[timedelta]
    reprices: int
    ended: bool


def play(plugin: object, life: OrderLife) -> Played:
    """Run one entry order's life against ``plugin`` on a manual clock."""
    clock = ManualClock(START)
    spec = life.spec
    bid = life.bid_ticks
    book = _tick(clock, spec, bid, 1)
    ctx = HookContext(clock.now(), spec, life.regime)
    signal = Signal(INSTRUMENT, life.side, clock.now(), "conformance", "generated")
    plan = call_hook(plugin, "plan_entry", signal=signal, tick=book, ctx=ctx)
    played = Played([plan], [], [], 0, ended=False)
    if plan is None:  # the host's default: post-only at the touch
        plan = EntryPlan(book.bid if life.side is PositionSide.LONG else book.ask, post_only=True)
    assert isinstance(plan, EntryPlan), plan
    side = life.side.entry_side
    order = Order(
        "cl-1", INSTRUMENT, side, life.size_lots * spec.lot_sz, plan.price, clock.now(),
        post_only=plan.post_only,
    )  # fmt: skip
    _check_price(plan.price, plan.post_only, side, book)
    placed, deadline = clock.now(), clock.now() + _ttl(plugin, order, ctx, played)
    for moment in life.moments:
        bid = max(bid + moment.move_ticks, 2)
        book = _tick(clock, spec, bid, moment.spread_ticks)
        if clock.now() + timedelta(seconds=moment.seconds) < deadline:
            clock.advance(timedelta(seconds=moment.seconds))
            filled = min(order.filled_size + moment.fill_lots * spec.lot_sz, order.size)
            order = replace(order, filled_size=filled)
            if order.remaining_size == 0:
                played.ended = True
                return played
            continue
        clock.advance(deadline - clock.now())
        played.waits.append(clock.now() - placed)
        ctx = HookContext(clock.now(), spec, life.regime)
        action = call_hook(plugin, "on_limit_expired", order=order, tick=book, ctx=ctx)
        played.answers.append(action)
        if not isinstance(action, RepriceOrder):
            assert action is None or isinstance(action, CancelOrder | CrossSpread), action
            played.ended = True
            return played
        _check_price(action.price, order.post_only, side, book)
        played.reprices += 1
        order = replace(order, price=action.price)
        placed, deadline = clock.now(), clock.now() + _ttl(plugin, order, ctx, played)
    return played


def _tick(clock: ManualClock, spec: InstrumentSpec, bid_ticks: int, spread: int) -> Tick:
    bid, ask = bid_ticks * spec.tick_sz, (bid_ticks + spread) * spec.tick_sz
    return Tick(INSTRUMENT, clock.now(), bid, bid, ask)


def _ttl(plugin: object, order: Order, ctx: HookContext, played: Played) -> timedelta:
    ttl = call_hook(plugin, "limit_order_ttl", order=order, ctx=ctx)
    if ttl is None:
        ttl = timedelta(seconds=HookSettings().limit_order_ttl_default_seconds)
    assert isinstance(ttl, timedelta), ttl
    assert ttl > timedelta(0), ttl
    played.ttls.append(ttl)
    return ttl


def _check_price(price: Decimal, post_only: bool, side: Side, book: Tick) -> None:
    assert isinstance(price, Decimal), price
    assert price.is_finite(), price
    assert price > 0, price
    if post_only:
        crosses = price >= book.ask if side is Side.BUY else price <= book.bid
        assert not crosses, f"post-only {side} at {price} crosses {book.bid}/{book.ask}"


class LimitOrderPolicySuite(ConformanceSuite):
    """Hypothesis properties every limit-order policy must pass; subclass as ``Test...``."""

    def wait_limit(self, settings: Any, regime: Regime) -> timedelta:
        """The longest rest the policy promises in ``regime`` (default: the host's ceiling)."""
        return timedelta(seconds=HookSettings().limit_order_ttl_ceiling_seconds)

    def reprice_limit(self, settings: Any) -> int:
        """How many reprices the policy promises at most (default: 10)."""
        return 10

    def _play(self, data: st.DataObject, life: OrderLife) -> tuple[Any, Played]:
        settings = self.draw_settings(data)
        return settings, play(self.fresh(settings), life)

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_is_deterministic(self, data: st.DataObject, life: OrderLife) -> None:
        """The same order life gives the same answers."""
        settings, played = self._play(data, life)
        assert play(self.fresh(settings), life) == played

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_post_only_prices_never_cross_the_book(
        self, data: st.DataObject, life: OrderLife
    ) -> None:
        """Placed and repriced post-only prices stay on their side of the book (checked in play)."""
        _, played = self._play(data, life)
        assert played.answers, "plan_entry was asked"

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_never_waits_past_the_regime_limit(
        self, data: st.DataObject, life: OrderLife
    ) -> None:
        """Every time-to-live, and every rest on the simulated clock, is within the limit."""
        settings, played = self._play(data, life)
        limit = self.wait_limit(settings, life.regime)
        assert all(ttl <= limit for ttl in played.ttls), (played.ttls, limit)
        assert all(wait <= limit for wait in played.waits), (played.waits, limit)

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_stops_repricing_after_its_limit(
        self, data: st.DataObject, life: OrderLife
    ) -> None:
        """At most the promised reprices; a life long enough always ends the order."""
        settings, played = self._play(data, life)
        promised = self.reprice_limit(settings)
        assert played.reprices <= promised
        if len(played.waits) > promised:
            assert played.ended
