"""The limit-order-policy conformance suite: placement, waiting and time-outs on a simulated clock.

Subclass :class:`LimitOrderPolicySuite` as ``Test...`` with ``plugin_class`` and optionally a
``settings`` strategy; override :meth:`~LimitOrderPolicySuite.wait_limit` and
:meth:`~LimitOrderPolicySuite.reprice_limit` with what your settings promise. ``host_hooks`` is
the host's configuration the policy runs under (default: the shipped one; ``configured_suites``
uses the user's): no answer may exceed its maximum wait for the regime
(``hooks.limit_order_max_wait_seconds``), whatever ``wait_limit`` says. Each property plays an
entry order's life — placed from a signal, resting on a :class:`~host.clock.ManualClock`, partly
filled, timing out, repriced — and checks:

* deterministic: the same life gives the same answers;
* answers are well formed (Decimal prices, positive time-to-live, an expiry action, no float);
* a post-only price never crosses the book: a buy rests below the ask, a sell above the bid, both
  when placed and when repriced;
* no time-to-live, and no resting period on the simulated clock, is longer than the host's maximum
  wait for the regime (nor than ``wait_limit``): the host would cut it, so a policy that asks for
  more is misconfigured or wrong (the original bot waited 120 s in a ranging market);
* repricing stops after the promised number of attempts, so every order ends (cancel or cross).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

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


def describe(life: OrderLife) -> str:
    """An order life in plain words, for failure messages."""
    tick = life.spec.tick_sz
    bid, ask = life.bid_ticks * tick, (life.bid_ticks + 1) * tick
    steps = "; ".join(
        f"+{m.seconds}s book {m.move_ticks:+d} ticks spread {m.spread_ticks} fill {m.fill_lots}"
        for m in life.moments
    )
    return (
        f"a {life.side} entry of {life.size_lots} lots in a {life.regime} market, tick {tick}, "
        f"book {bid}/{ask} when placed, then: {steps}"
    )


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


def play(plugin: object, life: OrderLife, hooks: HookSettings) -> Played:
    """Run one entry order's life against ``plugin`` on a manual clock, under the host's ``hooks``.

    Where the plugin does not answer, the host's default applies, as in
    :class:`~host.dispatch.HookDispatch`.
    """
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
    assert isinstance(plan, EntryPlan), (
        f"plan_entry must answer an EntryPlan or None; it answered {plan!r} for {describe(life)}"
    )
    side = life.side.entry_side
    order = Order(
        "cl-1", INSTRUMENT, side, life.size_lots * spec.lot_sz, plan.price, clock.now(),
        post_only=plan.post_only,
    )  # fmt: skip
    _check_price("plan_entry placed", plan.price, plan.post_only, side, book, life)
    placed, deadline = clock.now(), clock.now() + _ttl(plugin, order, ctx, played, hooks, life)
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
            assert action is None or isinstance(action, CancelOrder | CrossSpread), (
                "on_limit_expired must answer RepriceOrder, CancelOrder, CrossSpread or None; "
                f"it answered {action!r} for {describe(life)}"
            )
            played.ended = True
            return played
        _check_price("on_limit_expired repriced", action.price, order.post_only, side, book, life)
        played.reprices += 1
        order = replace(order, price=action.price)
        placed, deadline = clock.now(), clock.now() + _ttl(plugin, order, ctx, played, hooks, life)
    return played


def _tick(clock: ManualClock, spec: InstrumentSpec, bid_ticks: int, spread: int) -> Tick:
    bid, ask = bid_ticks * spec.tick_sz, (bid_ticks + spread) * spec.tick_sz
    return Tick(INSTRUMENT, clock.now(), bid, bid, ask)


def _ttl(
    plugin: object,
    order: Order,
    ctx: HookContext,
    played: Played,
    hooks: HookSettings,
    life: OrderLife,
) -> timedelta:
    ttl: object = call_hook(plugin, "limit_order_ttl", order=order, ctx=ctx)
    if ttl is None:
        ttl = hooks.limit_order_wait(ctx.regime, None)
    if not (isinstance(ttl, timedelta) and ttl > timedelta(0)):
        raise AssertionError(
            f"limit_order_ttl must answer a positive timedelta or None; it answered {ttl!r} "
            f"for {describe(life)}"
        )
    played.ttls.append(ttl)
    return ttl


def _check_price(
    step: str, price: Decimal, post_only: bool, side: Side, book: Tick, life: OrderLife
) -> None:
    where = f"{step} a {side} at {price!r} against the book {book.bid}/{book.ask}"
    valid = isinstance(price, Decimal) and price.is_finite() and price > 0
    assert valid, f"prices must be finite positive Decimals: {where}, for {describe(life)}"
    if post_only:
        crosses = price >= book.ask if side is Side.BUY else price <= book.bid
        assert not crosses, (
            "a post-only price must rest on its own side of the book (a buy below the ask, a "
            f"sell above the bid): {where}, for {describe(life)}"
        )


class LimitOrderPolicySuite(ConformanceSuite):
    """Hypothesis properties every limit-order policy must pass; subclass as ``Test...``."""

    host_hooks: ClassVar[HookSettings] = HookSettings()
    """The host's hook settings the policy runs under: its default wait and maximum per regime."""

    def wait_limit(self, settings: Any, regime: Regime) -> timedelta:
        """The longest rest the policy promises in ``regime`` (default: the host's maximum)."""
        return self.host_hooks.limit_order_max_wait_seconds.of(regime)

    def reprice_limit(self, settings: Any) -> int:
        """How many reprices the policy promises at most (default: 10)."""
        return 10

    def _play(self, data: st.DataObject, life: OrderLife) -> tuple[Any, Played]:
        settings = self.draw_settings(data)
        return settings, play(self.fresh(settings), life, self.host_hooks)

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_is_deterministic(self, data: st.DataObject, life: OrderLife) -> None:
        """The same order life gives the same answers."""
        settings, played = self._play(data, life)
        again = play(self.fresh(settings), life, self.host_hooks)
        assert again == played, (
            "the same order life must give the same answers; a fresh instance answered "
            f"{again} after {played}, for {describe(life)}"
        )

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_post_only_prices_never_cross_the_book(
        self, data: st.DataObject, life: OrderLife
    ) -> None:
        """Placed and repriced post-only prices stay on their side of the book (checked in play)."""
        _, played = self._play(data, life)
        assert played.answers, f"plan_entry was never asked, for {describe(life)}"

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_never_waits_past_the_regime_limit(
        self, data: st.DataObject, life: OrderLife
    ) -> None:
        """No time-to-live, and no rest on the simulated clock, exceeds the regime's limit.

        The limit is the host's maximum wait for the regime (``host_hooks``), or the policy's own
        promise (``wait_limit``) if that is shorter.
        """
        settings, played = self._play(data, life)
        host_maximum = self.host_hooks.limit_order_max_wait_seconds.of(life.regime)
        limit = min(self.wait_limit(settings, life.regime), host_maximum)
        for kind, spans in (("time-to-live", played.ttls), ("rest", played.waits)):
            longest = max(spans, default=timedelta(0))
            assert longest <= limit, (
                f"an entry must never wait longer than {limit.total_seconds():g} s in a "
                f"{life.regime} market (host maximum {host_maximum.total_seconds():g} s); the "
                f"policy's {kind} was {longest.total_seconds():g} s, for {describe(life)}"
            )

    @prop(data=st.data(), life=order_lives())
    def test_limit_policy_stops_repricing_after_its_limit(
        self, data: st.DataObject, life: OrderLife
    ) -> None:
        """At most the promised reprices; a life long enough always ends the order."""
        settings, played = self._play(data, life)
        promised = self.reprice_limit(settings)
        assert played.reprices <= promised, (
            f"a policy must stop repricing after {promised} reprices; it repriced "
            f"{played.reprices} times, for {describe(life)}"
        )
        if len(played.waits) > promised:
            assert played.ended, (
                f"after {len(played.waits)} time-outs and {promised} promised reprices the order "
                f"must have ended (cancel or cross); it is still resting, for {describe(life)}"
            )
