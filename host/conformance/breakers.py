"""The circuit-breaker conformance suite: deterministic, and a restart changes nothing.

Subclass :class:`CircuitBreakerSuite` as ``Test...`` with ``plugin_class`` (and optionally a
``settings`` strategy). A generated history interleaves closed positions (wins and losses),
rejected orders and entry signals over hours of simulated time. The properties:

* deterministic: the same history gives the same verdicts;
* verdicts are a :class:`~host.decisions.Veto` or ``None``;
* restarting at any point — a fresh instance that hears the journaled history replayed through
  ``on_position_closed`` / ``on_order_rejected`` (``ctx.now`` at each event) and then carries on —
  gives every later signal the same verdict as the uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from host.conformance.calls import call_hook
from host.conformance.scenarios import INSTRUMENT, TICK_SIZES, instrument
from host.conformance.suite import ConformanceSuite, prop
from host.context import HookContext
from host.decisions import Veto
from host.domain import (
    ClosedPosition,
    OrderRejection,
    PnL,
    Position,
    PositionSide,
    Regime,
    Signal,
)

START = datetime(2026, 3, 1, 22, tzinfo=UTC)
"""Two hours before a UTC midnight, so generated histories cross a day boundary."""


@dataclass(frozen=True, slots=True)
class Probe:
    """An entry signal arriving at ``at``: the breaker's verdict is what is compared."""

    at: datetime


HistoryItem = ClosedPosition | OrderRejection | Probe


def closed_position(index: int, at: datetime, net: Decimal) -> ClosedPosition:
    """A position closed at ``at`` with realised net PnL ``net`` (fees folded into gross)."""
    position = Position(
        f"pos-{index}", INSTRUMENT, PositionSide.LONG, Decimal(1), Decimal(100), at, at
    )
    return ClosedPosition(position, Decimal(100), at, PnL(net, Decimal(0)), "generated")


@st.composite
def histories(draw: st.DrawFn, max_items: int = 60) -> tuple[HistoryItem, ...]:
    """Closes (losses and wins), rejections and signals, a second to a quarter hour apart."""
    kinds = st.sampled_from(["close", "close", "reject", "probe", "probe"])
    steps = draw(
        st.lists(
            st.tuples(kinds, st.integers(min_value=1, max_value=900), st.integers(-6000, 4000)),
            min_size=1,
            max_size=max_items,
        )
    )
    items: list[HistoryItem] = []
    at = START
    for index, (kind, gap, cents) in enumerate(steps):
        at += timedelta(seconds=gap)
        if kind == "close":
            items.append(closed_position(index, at, Decimal(cents) / 100))
        elif kind == "reject":
            items.append(OrderRejection(INSTRUMENT, f"cl-{index}", at, "51008", "generated"))
        else:
            items.append(Probe(at))
    return tuple(items)


def feed(plugin: object, item: HistoryItem) -> object:
    """Hand one history item to the plugin as the host would; a probe returns the verdict."""
    at = item.at if isinstance(item, Probe | OrderRejection) else item.closed_at
    ctx = HookContext(at, instrument(TICK_SIZES[2]), Regime.RANGING)
    if isinstance(item, ClosedPosition):
        return call_hook(plugin, "on_position_closed", closed=item, ctx=ctx)
    if isinstance(item, OrderRejection):
        return call_hook(plugin, "on_order_rejected", rejection=item, ctx=ctx)
    signal = Signal(INSTRUMENT, PositionSide.LONG, at, "conformance", "probe")
    verdict = call_hook(plugin, "on_signal", signal=signal, ctx=ctx)
    assert verdict is None or isinstance(verdict, Veto), verdict
    return verdict


def verdicts(plugin: object, items: tuple[HistoryItem, ...]) -> list[object]:
    """Every probe's verdict along ``items``."""
    answers = []
    for item in items:
        answer = feed(plugin, item)
        if isinstance(item, Probe):
            answers.append(answer)
    return answers


class CircuitBreakerSuite(ConformanceSuite):
    """Hypothesis properties every circuit breaker must pass; subclass as ``Test...``."""

    @prop(data=st.data(), history=histories())
    def test_breaker_is_deterministic(
        self, data: st.DataObject, history: tuple[HistoryItem, ...]
    ) -> None:
        """The same history gives the same verdicts."""
        settings = self.draw_settings(data)
        assert verdicts(self.fresh(settings), history) == verdicts(self.fresh(settings), history)

    @prop(data=st.data(), history=histories())
    def test_breaker_restart_replaying_history_changes_no_verdict(
        self, data: st.DataObject, history: tuple[HistoryItem, ...]
    ) -> None:
        """A restart that replays the journal gives every later signal the same verdict."""
        settings = self.draw_settings(data)
        cut = data.draw(st.integers(min_value=0, max_value=len(history)), label="restart at")
        uninterrupted = self.fresh(settings)
        for item in history[:cut]:
            feed(uninterrupted, item)
        restarted = self.fresh(settings)
        for item in history[:cut]:
            if not isinstance(item, Probe):  # the journal holds results, not signals
                feed(restarted, item)
        for item in history[cut:]:
            assert feed(restarted, item) == feed(uninterrupted, item), item
