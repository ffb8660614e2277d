"""The exit-plugin conformance suite: what any ``on_tick_exit`` plugin must prove before go-live.

Use it by subclassing in a test module (pytest collects the subclass)::

    from host.conformance.exits import ExitPluginSuite

    class TestMyExit(ExitPluginSuite):
        plugin_class = MyExit
        # optional: a hypothesis strategy of MyExit.Settings instances
        settings = st.builds(MyExit.Settings)
        # optional: ticks of history MyExit needs before it answers, if its settings do not
        # say so in a field named like ``window`` / ``warmup`` (see host.conformance.suite)
        warmup_ticks = 200

Every property runs the plugin alone along generated markets (:mod:`.scenarios`): one to
:attr:`~ExitPluginSuite.max_positions` positions of one instrument, of sizes from one lot to
thousands, fed what the host would feed it — ``on_fill`` for an own entry or
``on_position_drift`` for an adopted one, then one ``on_tick_exit`` per tick carrying every open
position, each answer applied to its position as the dispatch facade applies it (a stop only if
tighter; a close removes the position from later calls). The properties:

* deterministic: two fresh instances given the same inputs answer the same;
* well formed: only open positions, ``StopAt`` / ``CloseNow``, Decimal prices, no float, every
  instant aware UTC;
* a stop never loosens: never looser than the position's stop or the plugin's own earlier stop;
  a long's stop is below the bid it was computed from, a short's above the ask (a level already
  reached must be answered as a close); every stop is a multiple of the tick size;
* a long and the mirrored short (prices reflected around the entry) get mirrored answers (one
  position at a time: a path can be reflected around one entry only);
* scaling every price and the tick by ``k`` scales every stop by ``k``, within one scaled tick;
* delivering ticks twice changes nothing: the same stops after each tick, the same close;
* each position is judged on its own: held beside others, it gets the answers it gets alone;
* a new position starts afresh: on an instance that already saw earlier positions of the same
  instrument, it gets the answers a fresh instance gives it;
* the wall clock never matters: under a fake wall clock frozen at one instant and one that jumps
  by hours between calls, the answers (reasons included) are the same — time is ``ctx.now``.

A failure says in plain words which rule broke, at which tick, for which position (side, size,
entry, stop, regime) and what the plugin answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from itertools import zip_longest
from typing import Any, ClassVar

import time_machine
from hypothesis import strategies as st

from host.conformance.calls import call_hook
from host.conformance.scenarios import SCALES, ExitScenario, describe_position, exit_scenarios
from host.conformance.suite import ConformanceSuite, prop
from host.context import HookContext
from host.decisions import CloseNow, ExitProposal, StopAt
from host.domain import (
    ClosedPosition,
    Drift,
    DriftKind,
    Fill,
    PnL,
    Position,
    PositionOrigin,
    Tick,
)


@dataclass(frozen=True, slots=True)
class ExitStep:
    """One position at one tick: its stop before, what the plugin answered, its stop after."""

    tick: Tick
    pos_id: str
    stop_before: Decimal | None
    proposal: ExitProposal | None
    stop_after: Decimal | None


def _nothing() -> None:
    """The default between hook calls: nothing happens."""


def run_exit(
    plugin: object, scenario: ExitScenario, *, between_calls: Callable[[], None] = _nothing
) -> tuple[ExitStep, ...]:
    """Drive ``plugin`` along ``scenario`` as the host would, until every position has closed.

    ``between_calls`` runs before every hook call (the wall-clock property moves a fake wall
    clock there).
    """
    found = HookContext(scenario.ticks[0].ts, scenario.spec, scenario.regime)
    for position in scenario.positions:
        between_calls()
        _announce(plugin, scenario, position, found)
    open_positions = list(scenario.positions)
    steps: list[ExitStep] = []
    for tick in scenario.ticks:
        if not open_positions:
            break
        ctx = HookContext(tick.ts, scenario.spec, scenario.regime)
        between_calls()
        answer = call_hook(
            plugin, "on_tick_exit", tick=tick, positions=tuple(open_positions), ctx=ctx
        )
        proposals = _proposals(answer, open_positions, tick)
        still_open = []
        for position in open_positions:
            proposal = proposals.get(position.pos_id)
            before = position.stop
            if isinstance(proposal, StopAt) and (
                before is None or position.side.sign * (proposal.price - before) > 0
            ):
                position = replace(position, stop=proposal.price)
            steps.append(ExitStep(tick, position.pos_id, before, proposal, position.stop))
            if not isinstance(proposal, CloseNow):
                still_open.append(position)
        open_positions = still_open
    return tuple(steps)


def _announce(
    plugin: object, scenario: ExitScenario, position: Position, found: HookContext
) -> None:
    """What the host tells exits about a new position: its entry fill, or the drift found."""
    if position.origin is PositionOrigin.ADOPTED:
        bare = replace(position, stop=None)
        drift = Drift(DriftKind.ADD, position.pos_id, position.inst_id, bare, None, scenario.mark)
        call_hook(plugin, "on_position_drift", drift=drift, ctx=found)
        return
    fill = Fill(
        position.inst_id,
        f"trade-{position.pos_id}",
        f"ord-{position.pos_id}",
        f"cl-{position.pos_id}",
        position.side.entry_side,
        position.entry_price,
        position.size,
        Decimal(0),
        position.entry_time,
    )
    entered = HookContext(position.entry_time, scenario.spec, scenario.regime)
    call_hook(plugin, "on_fill", fill=fill, position=position, ctx=entered)


def close_flat(plugin: object, scenario: ExitScenario, at: Tick) -> None:
    """Tell ``plugin`` every position of ``scenario`` closed at its entry price (no PnL).

    Flat, so that no rule about losses (a circuit breaker's) is touched: what is tested is that
    the plugin forgets the positions, not how it reacts to results.
    """
    ctx = HookContext(at.ts, scenario.spec, scenario.regime)
    for position in scenario.positions:
        closed = ClosedPosition(
            position, position.entry_price, at.ts, PnL(Decimal(0), Decimal(0)), "closed flat"
        )
        call_hook(plugin, "on_position_closed", closed=closed, ctx=ctx)


def _proposals(
    answer: object, positions: Sequence[Position], tick: Tick
) -> Mapping[str, ExitProposal]:
    """The answer checked for shape: a mapping of open positions to ``StopAt`` / ``CloseNow``."""
    if answer is None:
        return {}
    open_ids = {position.pos_id for position in positions}
    assert isinstance(answer, Mapping), (
        f"on_tick_exit must answer a mapping pos_id -> StopAt | CloseNow, or None; "
        f"at {_tick(tick)} it answered {answer!r}"
    )
    unknown = set(answer) - open_ids
    assert not unknown, (
        f"on_tick_exit may only answer for the positions it was given; at {_tick(tick)} it "
        f"answered for {sorted(map(str, unknown))}, open were {sorted(open_ids)}"
    )
    for pos_id, proposal in answer.items():
        assert isinstance(proposal, StopAt | CloseNow), (
            f"an exit answer must be StopAt or CloseNow; at {_tick(tick)} the answer for "
            f"{pos_id} was {proposal!r}"
        )
        if isinstance(proposal, StopAt):
            finite = isinstance(proposal.price, Decimal) and proposal.price.is_finite()
            assert finite, (
                f"a stop must be a finite Decimal price; at {_tick(tick)} the answer for "
                f"{pos_id} was {proposal!r}"
            )
    return answer


class ExitPluginSuite(ConformanceSuite):
    """Hypothesis properties every exit plugin must pass; subclass as ``Test...`` to run them."""

    max_positions: ClassVar[int] = 4
    """The most positions of the instrument held at once in a generated scenario."""

    def scenarios(self, settings: Any, **options: Any) -> st.SearchStrategy[ExitScenario]:
        """Scenarios long enough for the plugin's warm-up, with several positions."""
        return exit_scenarios(
            warmup_ticks=self.warmup(settings), max_positions=self.max_positions, **options
        )

    def _draw(self, data: st.DataObject) -> tuple[Any, ExitScenario]:
        settings = self.draw_settings(data)
        return settings, data.draw(self.scenarios(settings), label="scenario")

    def _run(self, settings: Any, scenario: ExitScenario) -> tuple[ExitStep, ...]:
        return run_exit(self.fresh(settings), scenario)

    @prop(data=st.data())
    def test_exit_is_deterministic(self, data: st.DataObject) -> None:
        """Two fresh instances given the same ticks answer the same."""
        settings, scenario = self._draw(data)
        _assert_same(
            "two fresh instances with the same settings, given the same ticks, must answer "
            "the same",
            scenario,
            ("the first instance", self._run(settings, scenario)),
            ("the second", self._run(settings, scenario)),
        )

    @prop(data=st.data())
    def test_exit_stop_never_loosens_and_stays_on_the_safe_side(self, data: st.DataObject) -> None:
        """Never looser than the current stop or its own last one; clear of the market; on tick."""
        settings, scenario = self._draw(data)
        own: dict[str, Decimal] = {}
        for step in self._run(settings, scenario):
            if not isinstance(step.proposal, StopAt):
                continue
            price, sign = step.proposal.price, _position(scenario, step).side.sign
            side = _position(scenario, step).side
            for before, whose in (
                (step.stop_before, "the position's stop"),
                (own.get(step.pos_id), "its own earlier stop"),
            ):
                assert before is None or sign * (price - before) >= 0, (
                    f"a stop must never loosen: {_where(scenario, step)}: {whose} was {before}, "
                    f"the plugin proposed {_said(step.proposal)}, looser for a {side}"
                )
            executable = step.tick.bid if sign > 0 else step.tick.ask
            assert sign * (executable - price) > 0, (
                f"a long's stop must be below the bid, a short's above the ask (a level already "
                f"reached is answered with CloseNow): {_where(scenario, step)}: the plugin "
                f"proposed {_said(step.proposal)} against {executable}"
            )
            assert scenario.spec.is_on_tick(price), (
                f"a stop must be a multiple of the tick size {scenario.spec.tick_sz}: "
                f"{_where(scenario, step)}: the plugin proposed {_said(step.proposal)}"
            )
            own[step.pos_id] = price

    @prop(data=st.data())
    def test_exit_long_and_mirrored_short_answer_mirrored(self, data: st.DataObject) -> None:
        """A long and the short mirrored around its entry get mirrored answers."""
        settings, drawn = self._draw(data)
        scenario = drawn.alone(drawn.position.pos_id)  # one pivot: the position's own entry
        pivot = 2 * scenario.position.entry_price
        straight = self._run(settings, scenario)
        flipped = scenario.mirrored()
        for a, b in zip_longest(straight, self._run(settings, flipped)):
            if a is None or b is None or _shape(a.proposal) != _shape(b.proposal, pivot):
                raise AssertionError(
                    f"a position and its mirror image (every price reflected around "
                    f"{pivot / 2}, long for short) must get mirrored answers: "
                    f"{_compare(scenario, ('as generated', a), ('mirrored', b), flipped)}"
                )

    @prop(data=st.data(), k=st.sampled_from(SCALES))
    def test_exit_scaling_prices_scales_stops(self, data: st.DataObject, k: Decimal) -> None:
        """Prices and tick times ``k`` give the same closes and stops times ``k`` (± a tick)."""
        settings, scenario = self._draw(data)
        bigger = scenario.scaled(k)
        rule = (
            f"every price and the tick size times {k} must give the same closes and the stops "
            f"times {k}, within one scaled tick"
        )
        for a, b in zip_longest(self._run(settings, scenario), self._run(settings, bigger)):
            compared = _compare(scenario, ("as generated", a), ("scaled", b), bigger)
            if a is None or b is None or type(a.proposal) is not type(b.proposal):
                raise AssertionError(f"{rule}: {compared}")
            if isinstance(a.proposal, StopAt) and isinstance(b.proposal, StopAt):
                expected = k * a.proposal.price
                assert abs(b.proposal.price - expected) <= k * scenario.spec.tick_sz, (
                    f"{rule}: {compared} (expected about {expected})"
                )

    @prop(
        data=st.data(),
        repeats=st.lists(st.integers(min_value=0, max_value=2), max_size=40).map(tuple),
    )
    def test_exit_duplicated_ticks_change_nothing(
        self, data: st.DataObject, repeats: tuple[int, ...]
    ) -> None:
        """Ticks delivered more than once leave the same stop after each tick and the same close."""
        settings, scenario = self._draw(data)
        once = _effect_per_tick(self._run(settings, scenario))
        twice = _effect_per_tick(self._run(settings, scenario.with_repeats(repeats)))
        for key in sorted(once.keys() | twice.keys(), key=lambda key: (key[0].ts, key[1])):
            tick, pos_id = key
            assert once.get(key) == twice.get(key), (
                f"a tick delivered twice must change nothing: at {_tick(tick)}, "
                f"{describe_position(_by_id(scenario, pos_id), scenario.spec)}, "
                f"{scenario.regime} market: with each tick once the stop after it was "
                f"{_effect(once.get(key))}; with ticks repeated {repeats} it was "
                f"{_effect(twice.get(key))}"
            )

    @prop(data=st.data())
    def test_exit_judges_each_position_on_its_own(self, data: st.DataObject) -> None:
        """Each position gets the answers it gets when held alone, whatever is held beside it."""
        settings, scenario = self._draw(data)
        together = self._run(settings, scenario)
        for position in scenario.positions:
            mine = tuple(step for step in together if step.pos_id == position.pos_id)
            alone = self._run(settings, scenario.alone(position.pos_id))
            _assert_same(
                f"each position must be judged on its own: held beside "
                f"{len(scenario.positions) - 1} other positions of the instrument, "
                f"{position.pos_id} must get the answers it gets alone",
                scenario,
                ("held with the others", mine),
                ("held alone", alone),
            )

    @prop(data=st.data())
    def test_exit_a_new_position_starts_afresh(self, data: st.DataObject) -> None:
        """A later position of the same instrument gets the answers a fresh instance gives it."""
        settings, earlier = self._draw(data)
        later = data.draw(self.scenarios(settings, spec=earlier.spec, ids="next"), label="later")
        later = later.shifted(earlier.ticks[-1].ts - later.start + timedelta(minutes=1))
        used = self.fresh(settings)
        run_exit(used, earlier)
        close_flat(used, earlier, earlier.ticks[-1])
        _assert_same(
            "a new position must start afresh: after earlier positions of the same instrument "
            "have closed, an instance must answer for the next one as a fresh instance does "
            f"(the earlier ones were:\n{earlier!r}\n)",
            later,
            ("the instance that saw the earlier positions", run_exit(used, later)),
            ("a fresh instance", self._run(settings, later)),
        )

    @prop(data=st.data(), hours=st.integers(min_value=1, max_value=72))
    def test_exit_ignores_the_wall_clock(self, data: st.DataObject, hours: int) -> None:
        """Frozen, or jumping by hours between calls, the wall clock changes no answer."""
        settings, scenario = self._draw(data)
        start = scenario.ticks[0].ts
        with time_machine.travel(start, tick=False):
            frozen = self._run(settings, scenario)
        with time_machine.travel(start, tick=False) as traveller:
            jumping = run_exit(
                self.fresh(settings),
                scenario,
                between_calls=lambda: traveller.shift(timedelta(hours=hours)),
            )
        _assert_same(
            "the wall clock must not matter (the time is ctx.now): answers, reasons included, "
            f"must be the same under a wall clock frozen at {start.isoformat()} and one that "
            f"jumps {hours} h forward before every call",
            scenario,
            ("with the frozen clock", frozen),
            ("with the jumping clock", jumping),
        )


Run = tuple[str, Sequence[ExitStep]]


def _assert_same(rule: str, scenario: ExitScenario, first: Run, second: Run) -> None:
    """Fail with ``rule`` and the first step where two runs differ."""
    for a, b in zip_longest(first[1], second[1]):
        if a != b:
            raise AssertionError(f"{rule}: {_compare(scenario, (first[0], a), (second[0], b))}")


def _compare(
    scenario: ExitScenario,
    first: tuple[str, ExitStep | None],
    second: tuple[str, ExitStep | None],
    transformed: ExitScenario | None = None,
) -> str:
    """Both answers at the first step that differs, and the scenario they were given.

    ``transformed`` is the scenario the second run was given, if it is not ``scenario``.
    """
    parts = []
    for (name, step), given in ((first, scenario), (second, transformed or scenario)):
        if step is None:
            parts.append(f"{name}, the run had already ended (every position closed)")
        else:
            parts.append(f"{name}, {_where(given, step)}: {_said(step.proposal)}")
    return "; ".join(parts) + f"\n{scenario!r}"


def _by_id(scenario: ExitScenario, pos_id: str) -> Position:
    return next(p for p in scenario.positions if p.pos_id == pos_id)


def _position(scenario: ExitScenario, step: ExitStep) -> Position:
    return _by_id(scenario, step.pos_id)


def _tick(tick: Tick) -> str:
    return f"{tick.ts.isoformat()} (bid {tick.bid}, ask {tick.ask})"


def _where(scenario: ExitScenario, step: ExitStep) -> str:
    """The tick, the position (side, size, entry, stop before the tick) and the regime."""
    position = replace(_position(scenario, step), stop=step.stop_before)
    return (
        f"at {_tick(step.tick)}, {describe_position(position, scenario.spec)}, "
        f"{scenario.regime} market"
    )


def _said(proposal: ExitProposal | None) -> str:
    if proposal is None:
        return "the plugin had no opinion"
    return repr(proposal)


def _effect(effect: tuple[Decimal | None, bool] | None) -> str:
    if effect is None:
        return "never reached (the position had closed)"
    stop, closed = effect
    return "a close" if closed else f"stop {stop}"


def _shape(proposal: ExitProposal | None, pivot: Decimal | None = None) -> object:
    """A comparable form of an answer; with ``pivot``, a stop is reflected around it."""
    if isinstance(proposal, StopAt):
        return ("stop", proposal.price if pivot is None else pivot - proposal.price)
    return "close" if isinstance(proposal, CloseNow) else None


def _effect_per_tick(
    steps: tuple[ExitStep, ...],
) -> dict[tuple[Tick, str], tuple[Decimal | None, bool]]:
    """For each distinct tick and position: the stop held after it, and whether it closed."""
    return {
        (step.tick, step.pos_id): (step.stop_after, isinstance(step.proposal, CloseNow))
        for step in steps
    }
