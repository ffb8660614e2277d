"""The exit-plugin conformance suite: what any ``on_tick_exit`` plugin must prove before go-live.

Use it by subclassing in a test module (pytest collects the subclass)::

    from host.conformance.exits import ExitPluginSuite

    class TestMyExit(ExitPluginSuite):
        plugin_class = MyExit
        # optional: a hypothesis strategy of MyExit.Settings instances
        settings = st.builds(MyExit.Settings)

Every property runs the plugin alone along generated price paths (:mod:`.scenarios`), feeding it
what the host would: ``on_fill`` for an own entry or ``on_position_drift`` for an adopted one, then
one ``on_tick_exit`` per tick, with each accepted stop applied to the position as the dispatch
facade would apply it (tighter only). The properties:

* deterministic: two fresh instances given the same inputs answer the same;
* well formed: only known positions, ``StopAt`` / ``CloseNow``, Decimal prices, no float, every
  instant aware UTC;
* a stop never loosens: never looser than the position's stop or the plugin's own earlier stop;
* a long's stop is below the bid it was computed from, a short's above the ask (a level already
  reached must be answered as a close);
* every stop is a multiple of the tick size;
* a long and the mirrored short (prices reflected around the entry) get mirrored answers;
* scaling every price and the tick by ``k`` scales every stop by ``k``, within one scaled tick;
* delivering ticks twice changes nothing: the same stops after each tick, the same close.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from host.conformance.calls import call_hook
from host.conformance.scenarios import SCALES, ExitScenario, exit_scenarios
from host.conformance.suite import ConformanceSuite, prop
from host.context import HookContext
from host.decisions import CloseNow, ExitProposal, StopAt
from host.domain import Drift, DriftKind, Fill, PositionOrigin, Tick


@dataclass(frozen=True, slots=True)
class ExitStep:
    """One tick of a run: the stop before it, what the plugin answered, the stop after it."""

    tick: Tick
    stop_before: Decimal | None
    proposal: ExitProposal | None
    stop_after: Decimal | None


def run_exit(plugin: object, scenario: ExitScenario) -> tuple[ExitStep, ...]:
    """Drive ``plugin`` along ``scenario`` as the host would; stop at its first close."""
    position = scenario.position
    first = HookContext(scenario.ticks[0].ts, scenario.spec, scenario.regime)
    if position.origin is PositionOrigin.ADOPTED:
        found = replace(position, stop=None)
        drift = Drift(DriftKind.ADD, position.pos_id, position.inst_id, found, None, scenario.mark)
        call_hook(plugin, "on_position_drift", drift=drift, ctx=first)
    else:
        fill = Fill(
            position.inst_id,
            "trade-1",
            "ord-1",
            "cl-1",
            position.side.entry_side,
            position.entry_price,
            position.size,
            Decimal(0),
            position.entry_time,
        )
        call_hook(plugin, "on_fill", fill=fill, position=position, ctx=first)
    steps: list[ExitStep] = []
    for tick in scenario.ticks:
        ctx = HookContext(tick.ts, scenario.spec, scenario.regime)
        answer = call_hook(plugin, "on_tick_exit", tick=tick, positions=(position,), ctx=ctx)
        proposal = _proposal_for(answer, position.pos_id)
        before = position.stop
        if isinstance(proposal, StopAt) and (
            before is None or position.side.sign * (proposal.price - before) > 0
        ):
            position = replace(position, stop=proposal.price)
        steps.append(ExitStep(tick, before, proposal, position.stop))
        if isinstance(proposal, CloseNow):
            break
    return tuple(steps)


def _proposal_for(answer: object, pos_id: str) -> ExitProposal | None:
    if answer is None:
        return None
    assert isinstance(answer, Mapping), f"on_tick_exit must answer a mapping, got {answer!r}"
    assert set(answer) <= {pos_id}, f"answered for unknown positions {set(answer) - {pos_id}}"
    proposal = answer.get(pos_id)
    assert proposal is None or isinstance(proposal, StopAt | CloseNow), proposal
    if isinstance(proposal, StopAt):
        assert isinstance(proposal.price, Decimal), proposal
        assert proposal.price.is_finite(), proposal
    return proposal


class ExitPluginSuite(ConformanceSuite):
    """Hypothesis properties every exit plugin must pass; subclass as ``Test...`` to run them."""

    def _make(self, data: st.DataObject) -> tuple[Any, Any]:
        settings = self.draw_settings(data)
        return settings, self.fresh(settings)

    def _run(self, settings: Any, scenario: ExitScenario) -> tuple[ExitStep, ...]:
        return run_exit(self.fresh(settings), scenario)

    @prop(data=st.data(), scenario=exit_scenarios())
    def test_exit_is_deterministic(self, data: st.DataObject, scenario: ExitScenario) -> None:
        """Two fresh instances given the same inputs answer the same."""
        settings, plugin = self._make(data)
        assert run_exit(plugin, scenario) == self._run(settings, scenario)

    @prop(data=st.data(), scenario=exit_scenarios())
    def test_exit_stop_never_loosens_and_stays_on_the_safe_side(
        self, data: st.DataObject, scenario: ExitScenario
    ) -> None:
        """Never looser than the current stop or its own last one; clear of the market; on tick."""
        _settings, plugin = self._make(data)
        sign = scenario.position.side.sign
        own: Decimal | None = None
        for step in run_exit(plugin, scenario):
            if not isinstance(step.proposal, StopAt):
                continue
            price = step.proposal.price
            for before in (step.stop_before, own):
                assert before is None or sign * (price - before) >= 0, (price, before)
            executable = step.tick.bid if sign > 0 else step.tick.ask
            assert sign * (executable - price) > 0, f"stop {price} not clear of {executable}"
            assert scenario.spec.is_on_tick(price), f"stop {price} off tick {scenario.spec.tick_sz}"
            own = price

    @prop(data=st.data(), scenario=exit_scenarios())
    def test_exit_long_and_mirrored_short_answer_mirrored(
        self, data: st.DataObject, scenario: ExitScenario
    ) -> None:
        """A long and the short mirrored around its entry get mirrored answers."""
        settings, _ = self._make(data)
        pivot = 2 * scenario.position.entry_price
        straight = self._run(settings, scenario)
        mirrored = self._run(settings, scenario.mirrored())
        assert [_shape(s.proposal) for s in straight] == [
            _shape(s.proposal, pivot) for s in mirrored
        ]

    @prop(data=st.data(), scenario=exit_scenarios(), k=st.sampled_from(SCALES))
    def test_exit_scaling_prices_scales_stops(
        self, data: st.DataObject, scenario: ExitScenario, k: Decimal
    ) -> None:
        """Prices and tick times ``k`` give the same closes and stops times ``k`` (± a tick)."""
        settings, _ = self._make(data)
        plain = self._run(settings, scenario)
        scaled = self._run(settings, scenario.scaled(k))
        assert [isinstance(s.proposal, CloseNow) for s in plain] == [
            isinstance(s.proposal, CloseNow) for s in scaled
        ]
        for a, b in zip(plain, scaled, strict=True):
            assert isinstance(a.proposal, StopAt) == isinstance(b.proposal, StopAt)
            if isinstance(a.proposal, StopAt) and isinstance(b.proposal, StopAt):
                gap = abs(b.proposal.price - k * a.proposal.price)
                assert gap <= k * scenario.spec.tick_sz, (a.proposal, b.proposal, k)

    @prop(
        data=st.data(),
        scenario=exit_scenarios(),
        repeats=st.lists(st.integers(min_value=0, max_value=2), max_size=40).map(tuple),
    )
    def test_exit_duplicated_ticks_change_nothing(
        self, data: st.DataObject, scenario: ExitScenario, repeats: tuple[int, ...]
    ) -> None:
        """Ticks delivered more than once leave the same stop after each tick and the same close."""
        settings, _ = self._make(data)
        once = _effect_per_tick(self._run(settings, scenario))
        twice = _effect_per_tick(self._run(settings, scenario.with_repeats(repeats)))
        assert once == twice


def _shape(proposal: ExitProposal | None, pivot: Decimal | None = None) -> object:
    """A comparable form of an answer; with ``pivot``, a stop is reflected around it."""
    if isinstance(proposal, StopAt):
        return ("stop", proposal.price if pivot is None else pivot - proposal.price)
    return "close" if isinstance(proposal, CloseNow) else None


def _effect_per_tick(steps: tuple[ExitStep, ...]) -> dict[Tick, tuple[Decimal | None, bool]]:
    """For each distinct tick: the stop the host holds after it, and whether it closed."""
    return {step.tick: (step.stop_after, isinstance(step.proposal, CloseNow)) for step in steps}
