"""The circuit-breaker conformance suite: any breaker trips, holds, and survives a restart.

Subclass :class:`CircuitBreakerSuite` as ``Test...`` with ``plugin_class`` (and optionally a
``settings`` strategy). A generated history interleaves closed positions (wins and losses,
including losing streaks), rejected orders (including bursts), entry signals and quiet hours over
simulated time, as the host delivers them: the breaker hears ``on_startup`` first, and every live
event carries a ``ctx.load`` (a healthy host's, :data:`CALM`). The properties:

* deterministic: the same history gives the same verdicts;
* verdicts are a :class:`~host.decisions.Veto` or ``None``;
* a restart changes nothing: a fresh instance that hears the journaled history replayed through
  ``on_position_closed`` / ``on_order_rejected`` (``ctx.now`` at each event, ``ctx.load`` absent,
  as the host replays) and then ``on_startup``, vetoes exactly the later signals the
  uninterrupted run vetoes;
* it trips at all: fed a catastrophic history (:meth:`CircuitBreakerSuite.catastrophe`: a long
  streak of large losses and a burst of rejected orders, seconds apart), it vetoes at least once;
* no entry while open: once it vetoes a signal at an instant, it vetoes every further signal at
  that same instant — nothing it could legitimately change its mind on (time passing, which may
  end a cool-down, or a new close or rejection) has happened in between.

Every failure says in plain words which rule broke, the history (times, results) and what the
breaker answered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

from hypothesis import strategies as st

from host.conformance.calls import call_hook
from host.conformance.scenarios import INSTRUMENT, TICK_SIZES, instrument
from host.conformance.suite import ConformanceSuite, prop
from host.context import HookContext, HostInfo, HostLoad
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

SPEC = instrument(TICK_SIZES[2])

CALM = HostLoad(loop_lag=timedelta(milliseconds=1), exchange_latency=timedelta(milliseconds=20))
"""The load every live event carries: a healthy host, below any sensible load threshold.

Load-driven vetoes are live measurements no journal replays, so the restart property compares
only what the journal can rebuild; a loaded host is the breaker's own tests' business.
"""

MONEY_LIMITS = ("max_daily_loss", "max_drawdown")
"""Settings (the built-in's names) whose size a catastrophic loss must exceed, where present."""

STREAK_LIMITS = ("max_consecutive_losses", "max_rejects")
"""Settings (the built-in's names) whose count a catastrophic streak must exceed, where present."""


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


def rejection(index: int, at: datetime) -> OrderRejection:
    """An order the exchange refused at ``at``."""
    return OrderRejection(INSTRUMENT, f"cl-{index}", at, "51008", "generated")


def item_time(item: HistoryItem) -> datetime:
    """When a history item happens."""
    return item.closed_at if isinstance(item, ClosedPosition) else item.at


Step = tuple[str, int, int]
"""One generated step: kind (close / reject / probe), seconds since the last step, net cents."""

_NOW: Step = ("probe", 0, 0)
"""A signal at the same instant as the step before it."""


def _signal_after_each(losses: list[tuple[int, int]]) -> list[Step]:
    """Each ``(gap, cents)`` loss, followed by a signal at the same instant."""
    return [step for gap, cents in losses for step in (("close", gap, cents), _NOW)]


_MIXED = st.lists(
    st.tuples(
        st.sampled_from(["close", "close", "reject", "probe", "probe"]),
        st.integers(min_value=1, max_value=900),
        st.integers(min_value=-6000, max_value=4000),
    ),
    min_size=1,
    max_size=6,
)
_LOSING_STREAK = st.lists(
    st.tuples(st.integers(min_value=1, max_value=120), st.integers(-15000, -100)),
    min_size=2,
    max_size=8,
).map(_signal_after_each)
_REJECT_BURST = st.integers(min_value=2, max_value=8).map(
    lambda count: [("reject", 2, 0)] * count + [_NOW]
)
_QUIET_HOURS = st.integers(min_value=600, max_value=3 * 3600).map(lambda gap: [("probe", gap, 0)])


@st.composite
def histories(draw: st.DrawFn, max_episodes: int = 8) -> tuple[HistoryItem, ...]:
    """Episodes of mixed trading, losing streaks, reject bursts and quiet hours.

    Streaks of up to eight losses (1 to 150 USDT each, a signal after each) and bursts of up to
    eight rejections two seconds apart trip typical settings; quiet hours let cool-downs end.
    """
    episodes = st.one_of(_MIXED, _LOSING_STREAK, _REJECT_BURST, _QUIET_HOURS)
    steps = chain.from_iterable(draw(st.lists(episodes, min_size=1, max_size=max_episodes)))
    items: list[HistoryItem] = []
    at = START
    for index, (kind, gap, cents) in enumerate(steps):
        at += timedelta(seconds=gap)
        if kind == "close":
            items.append(closed_position(index, at, Decimal(cents) / 100))
        elif kind == "reject":
            items.append(rejection(index, at))
        else:
            items.append(Probe(at))
    return tuple(items)


def start(plugin: object, now: datetime) -> None:
    """``on_startup`` as the host calls it once its history is replayed."""
    host = HostInfo(now=now, mode="live", instruments={INSTRUMENT: SPEC})
    call_hook(plugin, "on_startup", host=host)


def feed(plugin: object, item: HistoryItem, *, live: bool = True) -> Veto | None:
    """Hand one history item to the plugin as the host would; a probe returns the verdict.

    A live event carries :data:`CALM` as ``ctx.load``; a replayed one (``live=False``) none.
    """
    at = item_time(item)
    ctx = HookContext(at, SPEC, Regime.RANGING, CALM if live else None)
    if isinstance(item, ClosedPosition):
        call_hook(plugin, "on_position_closed", closed=item, ctx=ctx)
        return None
    if isinstance(item, OrderRejection):
        call_hook(plugin, "on_order_rejected", rejection=item, ctx=ctx)
        return None
    signal = Signal(INSTRUMENT, PositionSide.LONG, at, "conformance", "probe")
    verdict = call_hook(plugin, "on_signal", signal=signal, ctx=ctx)
    if verdict is not None and not isinstance(verdict, Veto):
        raise AssertionError(
            f"on_signal must answer a Veto or None; it answered {verdict!r} to a signal at "
            f"{at:%Y-%m-%d %H:%M:%S}Z"
        )
    return verdict


def verdicts(plugin: object, items: tuple[HistoryItem, ...]) -> list[Veto | None]:
    """Every probe's verdict along ``items``, fed live."""
    answers = []
    for item in items:
        answer = feed(plugin, item)
        if isinstance(item, Probe):
            answers.append(answer)
    return answers


def describe(items: Sequence[HistoryItem]) -> str:
    """A history in plain words, one event per line, for failure messages."""
    return "\n".join(f"  {item_time(item):%Y-%m-%d %H:%M:%S}Z {_event(item)}" for item in items)


def verdict_words(verdict: Veto | None) -> str:
    """What a breaker answered, in plain words."""
    return "let it through" if verdict is None else f"vetoed it ({verdict.reason})"


def _event(item: HistoryItem) -> str:
    if isinstance(item, ClosedPosition):
        return f"position {item.position.pos_id} closed, net {item.pnl.net} USDT"
    if isinstance(item, OrderRejection):
        return f"order {item.cl_ord_id} rejected"
    return "entry signal"


@dataclass(frozen=True, slots=True)
class Catastrophe:
    """``streak`` losses of ``loss`` USDT each, every one with a rejected order and a signal."""

    streak: int
    loss: Decimal

    def history(self, spacing: timedelta) -> Iterator[HistoryItem]:
        """The streak, one loss, one rejection and one signal every ``spacing``."""
        for index in range(self.streak):
            at = START + index * spacing
            yield closed_position(index, at, -self.loss)
            yield rejection(index, at)
            yield Probe(at)


class CircuitBreakerSuite(ConformanceSuite):
    """Hypothesis properties every circuit breaker must pass; subclass as ``Test...``."""

    def catastrophe(self, settings: Any) -> Catastrophe:
        """A history no breaker may sit through without vetoing, scaled to ``settings``.

        At least 20 losses of at least 1,000 USDT each; more and larger where ``settings`` names
        the built-in's limits (twice :data:`STREAK_LIMITS`, twice :data:`MONEY_LIMITS`).
        Override it if your breaker's settings name their limits differently.
        """
        streak = max([20] + [2 * int(v) for v in _named(settings, STREAK_LIMITS)])
        loss = max([Decimal(1000)] + [2 * v for v in _named(settings, MONEY_LIMITS)])
        return Catastrophe(streak, loss)

    @prop(data=st.data(), history=histories())
    def test_breaker_is_deterministic(
        self, data: st.DataObject, history: tuple[HistoryItem, ...]
    ) -> None:
        """The same history gives the same verdicts."""
        settings = self.draw_settings(data)
        first = verdicts(self.started(settings), history)
        second = verdicts(self.started(settings), history)
        probes = [item for item in history if isinstance(item, Probe)]
        for probe, one, other in zip(probes, first, second, strict=True):
            assert one == other, (
                "a breaker must give the same history the same verdicts; two fresh instances "
                f"answered differently to the signal at {probe.at:%Y-%m-%d %H:%M:%S}Z: the first "
                f"{verdict_words(one)}, the second {verdict_words(other)}. History:\n"
                + describe(history)
            )

    @prop(data=st.data(), history=histories())
    def test_breaker_restart_replaying_history_changes_no_verdict(
        self, data: st.DataObject, history: tuple[HistoryItem, ...]
    ) -> None:
        """A restart (journal replayed, no ``ctx.load``, then ``on_startup``) changes no verdict.

        Every later signal is vetoed by the restarted breaker exactly when the uninterrupted one
        vetoes it (the reasons may be worded differently).
        """
        settings = self.draw_settings(data)
        cut = data.draw(st.integers(min_value=0, max_value=len(history)), label="restart at")
        uninterrupted = self.started(settings)
        for item in history[:cut]:
            feed(uninterrupted, item)
        restarted = self.fresh(settings)
        journal = [item for item in history[:cut] if not isinstance(item, Probe)]
        for item in journal:  # the journal holds results, not signals
            feed(restarted, item, live=False)
        restart_at = item_time(history[cut - 1]) if cut else START
        start(restarted, restart_at)
        for item in history[cut:]:
            after, before = feed(restarted, item), feed(uninterrupted, item)
            assert (after is None) == (before is None), (
                "a restart must not change a breaker's verdict: after restarting at "
                f"{restart_at:%Y-%m-%d %H:%M:%S}Z (the journal replayed with no ctx.load, then "
                f"on_startup), came a signal at {item_time(item):%Y-%m-%d %H:%M:%S}Z: the "
                f"restarted breaker {verdict_words(after)}, the uninterrupted one "
                f"{verdict_words(before)}."
                f"\nReplayed journal:\n{describe(journal)}\nAfter the restart:\n"
                + describe(history[cut:])
            )

    @prop(data=st.data(), spacing=st.integers(min_value=1, max_value=10))
    def test_breaker_trips_at_all(self, data: st.DataObject, spacing: int) -> None:
        """A catastrophic history (:meth:`catastrophe`) draws at least one veto."""
        settings = self.draw_settings(data)
        catastrophe = self.catastrophe(settings)
        history = tuple(catastrophe.history(timedelta(seconds=spacing)))
        answers = verdicts(self.started(settings), history)
        assert any(answer is not None for answer in answers), (
            f"a breaker must trip on a catastrophe: {catastrophe.streak} positions closed at a "
            f"loss of {catastrophe.loss} USDT each and as many orders rejected, {spacing} s "
            f"apart, and it let all {len(answers)} signals through"
        )

    @prop(data=st.data(), history=histories())
    def test_breaker_no_entry_while_open(
        self, data: st.DataObject, history: tuple[HistoryItem, ...]
    ) -> None:
        """Once it vetoes a signal at an instant, it vetoes every further signal at that instant.

        Precisely: after a veto at ``t``, two more signals at ``t`` with no close, no rejection
        and no time passing in between must both be vetoed.
        """
        settings = self.draw_settings(data)
        breaker = self.started(settings)
        for index, item in enumerate(history):
            verdict = feed(breaker, item)
            if verdict is None:
                continue
            for again in range(1, 3):
                repeated = feed(breaker, item)
                assert repeated is not None, (
                    "once a breaker vetoes, it must veto every further signal at the same instant "
                    f"(nothing happened in between): at {item_time(item):%Y-%m-%d %H:%M:%S}Z it "
                    f"{verdict_words(verdict)}, then let signal {again + 1} at that instant "
                    f"through. History:\n" + describe(history[: index + 1])
                )

    def started(self, settings: Any) -> Any:
        """A new instance that has heard ``on_startup`` with nothing to replay (a first run)."""
        plugin = self.fresh(settings)
        start(plugin, START)
        return plugin


def _named(settings: Any, names: tuple[str, ...]) -> list[Decimal]:
    """The numeric values ``settings`` holds under ``names`` (none if it has no such field)."""
    values = (getattr(settings, name, None) for name in names)
    return [
        Decimal(str(value))
        for value in values
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    ]
