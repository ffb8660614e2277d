"""The regime-detector conformance suite: what any ``detect_regime`` plugin must prove.

Subclass :class:`RegimeDetectorSuite` as ``Test...`` with ``plugin_class`` (and optionally a
``settings`` strategy)::

    class TestMyDetector(RegimeDetectorSuite):
        plugin_class = MyDetector
        settings = st.builds(MyDetector.Settings)
        warmup_ticks = 200  # only if no settings field named like ``window`` says so

**History.** The host calls a detector once per closed bar with the most recent bars. The suite
learns how many the detector needs (:meth:`~host.conformance.suite.ConformanceSuite.warmup`:
``warmup_ticks`` or a settings field named like ``window`` / ``period`` / ``lookback``; when
nothing says, :data:`UNDECLARED_HISTORY`) and hands it from half to
:data:`~host.conformance.scenarios.PAST_WARMUP` times that many bars, so every property runs
both short of the warm-up and well past it. Generated bars are a seeded random walk in legs of
drift and noise, on a drawn tick size, starting at a drawn instant: a long series costs a
handful of draws and still shrinks to a short, simple one. A failing example prints as a
:class:`BarSeries` summary (count, tick, first and last close, the bars at both ends), not as
dozens of bars.

The properties:

* well formed and deterministic: the answer is a :class:`~host.domain.Regime` or ``None`` (no
  float score, no naive time), and two fresh instances given the same bars answer the same;
* invariant to the price level: every price and the tick times ``k`` gives the same answer;
* invariant to time: every bar shifted by the same duration gives the same answer;
* the wall clock never matters: under a fake wall clock frozen at ``ctx.now`` and one hours
  later, the same bars get the same answer (the time is ``ctx.now``, the bars' own times);
* the answer comes from the bars given, nothing else: an instance that already classified
  another series answers the next one as a fresh instance does (a detector that caches or
  smooths across calls would change the regime after a restart);
* a steady monotone trend (up or down) is trending once the warm-up is reached, and is never
  called ranging or choppy before;
* a flat series, or one that flips between two levels, is not trending.

Every failure says in plain words which rule broke, the bars involved and what the plugin
answered. The plugin is called only through :func:`~host.conformance.calls.call_hook`, so the
coverage record counts each answer and times each call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import time_machine
from hypothesis import strategies as st

from host.conformance.calls import call_hook
from host.conformance.scenarios import (
    EARLIEST,
    INSTRUMENT,
    PAST_WARMUP,
    SCALES,
    SPAN_SECONDS,
    TICK_SIZES,
    instrument,
)
from host.conformance.suite import ConformanceSuite, prop
from host.context import HookContext
from host.domain import Bar, InstrumentSpec, Regime

START = datetime(2026, 1, 1, tzinfo=UTC)
BAR = timedelta(minutes=1)
UNDECLARED_HISTORY = 20
"""Bars assumed needed when neither the suite nor the settings declare a warm-up (the built-in
detector's default window); a detector needing more must say so."""
SHOWN_BARS = 3
"""Bars listed at each end of a series' description."""


def bar(index: int, open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> Bar:
    """The ``index``-th one-minute bar from :data:`START`."""
    return Bar(INSTRUMENT, START + index * BAR, open_, high, low, close, Decimal(1))


@dataclass(frozen=True, slots=True, repr=False)
class BarSeries:
    """Closed one-minute bars of one instrument, oldest first, on a tick grid."""

    bars: tuple[Bar, ...]
    tick: Decimal

    @property
    def spec(self) -> InstrumentSpec:
        """The instrument the bars are of."""
        return instrument(self.tick)

    def context(self) -> HookContext:
        """What the host passes with the bars: the instant the last bar closed."""
        return HookContext(self.bars[-1].start + BAR, self.spec, Regime.CHOPPY)

    def scaled(self, k: Decimal) -> BarSeries:
        """Every price and the tick size multiplied by ``k``."""
        bars = tuple(
            replace(b, open=b.open * k, high=b.high * k, low=b.low * k, close=b.close * k)
            for b in self.bars
        )
        return BarSeries(bars, self.tick * k)

    def shifted(self, delta: timedelta) -> BarSeries:
        """Every bar ``delta`` later."""
        return replace(self, bars=tuple(replace(b, start=b.start + delta) for b in self.bars))

    def __repr__(self) -> str:
        return describe(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis prints a falsifying example: the plain-words summary."""
        printer.text(describe(self))


def describe(series: BarSeries) -> str:
    """The series in plain words: count, tick, span, first and last close, bars at both ends."""
    bars = series.bars
    lines = [
        f"BarSeries: {len(bars)} one-minute bars of {INSTRUMENT}, tick {series.tick}, "
        f"{bars[0].start.isoformat()} to {bars[-1].start.isoformat()}, "
        f"first close {bars[0].close}, last close {bars[-1].close}, "
        f"lowest {min(b.low for b in bars)}, highest {max(b.high for b in bars)}"
    ]
    indexed: list[tuple[int, Bar] | None] = list(enumerate(bars))
    shown: list[tuple[int, Bar] | None] = (
        indexed
        if len(bars) <= 2 * SHOWN_BARS
        else [*indexed[:SHOWN_BARS], None, *indexed[-SHOWN_BARS:]]
    )
    for item in shown:
        if item is None:
            lines.append(f"  ... {len(bars) - 2 * SHOWN_BARS} more bars ...")
        else:
            index, b = item
            lines.append(
                f"  bar {index}: {b.start.isoformat()} open {b.open} high {b.high} "
                f"low {b.low} close {b.close}"
            )
    return "\n".join(lines)


def bar_counts(history: int) -> st.SearchStrategy[int]:
    """From half the history a detector needs (no opinion expected) to well past it."""
    return st.integers(min_value=max(1, history // 2), max_value=PAST_WARMUP * history)


@st.composite
def random_bars(draw: st.DrawFn, counts: st.SearchStrategy[int]) -> BarSeries:
    """Consistent bars (low ≤ open, close ≤ high) of a random walk in whole ticks.

    The walk goes in up to six legs of drift and noise (ticks per bar), so it holds trending,
    ranging and choppy stretches; a seed drives the steps, so its length costs no draws.
    """
    tick = draw(st.sampled_from(TICK_SIZES), label="tick")
    level = draw(st.integers(min_value=1_000, max_value=100_000), label="first open in ticks")
    start = EARLIEST + BAR * draw(st.integers(min_value=0, max_value=SPAN_SECONDS // 60))
    count = draw(counts, label="bars")
    legs = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=-20, max_value=20), st.integers(min_value=0, max_value=50)
            ),
            min_size=1,
            max_size=6,
        ),
        label="legs (drift, noise) in ticks per bar",
    )
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1), label="seed")
    rng = random.Random(seed)  # noqa: S311 - a reproducible market path, not a secret
    bars = []
    for index in range(count):
        drift, noise = legs[index * len(legs) // count]
        close = max(level + drift + rng.randint(-noise, noise), 200)
        high = max(level, close) + rng.randint(0, 30)
        low = min(level, close) - rng.randint(0, 30)
        prices = (level * tick, high * tick, low * tick, close * tick)
        bars.append(Bar(INSTRUMENT, start + index * BAR, *prices, Decimal(1)))
        level = close
    return BarSeries(tuple(bars), tick)


def steady_trend(count: int, start: Decimal, step: Decimal) -> tuple[Bar, ...]:
    """Every bar opens where the last closed and closes ``step`` further (up or down)."""
    bars = []
    for index in range(count):
        open_, close = start + index * step, start + (index + 1) * step
        bars.append(bar(index, open_, max(open_, close), min(open_, close), close))
    return tuple(bars)


def flip_flop(count: int, low: Decimal, high: Decimal) -> tuple[Bar, ...]:
    """Closes alternating between two levels: tight mean reversion (``low == high``: flat)."""
    return tuple(
        bar(i, low if i % 2 else high, high, low, high if i % 2 else low) for i in range(count)
    )


def ask(plugin: object, series: BarSeries) -> Any:
    """The plugin's answer for ``series``, as the host asks it once a bar has closed."""
    try:
        answer = call_hook(plugin, "detect_regime", bars=series.bars, ctx=series.context())
    except AssertionError as error:  # call_hook found a float or a naive time in the answer
        raise AssertionError(
            f"a regime detector must answer a Regime or None, with no float and no naive "
            f"time in it: {error}; given\n{series!r}"
        ) from error
    assert answer is None or isinstance(answer, Regime), (
        f"a regime detector must answer a Regime (trending, ranging, choppy) or None for no "
        f"opinion; it answered {answer!r} ({type(answer).__name__}), given\n{series!r}"
    )
    return answer


def said(answer: Regime | None) -> str:
    """An answer in words."""
    return "no opinion" if answer is None else str(answer)


class RegimeDetectorSuite(ConformanceSuite):
    """Hypothesis properties every regime detector must pass; subclass as ``Test...``."""

    def history(self, settings: Any) -> int:
        """The bars the detector needs before it answers (see the module doc)."""
        return self.warmup(settings) or UNDECLARED_HISTORY

    def _draw(self, data: st.DataObject, label: str = "bars") -> tuple[Any, BarSeries]:
        settings = self.draw_settings(data)
        return settings, self._series(data, settings, label)

    def _series(self, data: st.DataObject, settings: Any, label: str) -> BarSeries:
        return data.draw(random_bars(bar_counts(self.history(settings))), label=label)

    def _detect(self, settings: Any, series: BarSeries) -> Any:
        return ask(self.fresh(settings), series)

    @prop(data=st.data())
    def test_regime_is_deterministic_and_a_regime_or_none(self, data: st.DataObject) -> None:
        """Same bars, same answer; the answer is a Regime or no opinion."""
        settings, series = self._draw(data)
        first, second = self._detect(settings, series), self._detect(settings, series)
        assert first == second, (
            f"two fresh instances with the same settings, given the same bars, must answer the "
            f"same: the first answered {said(first)}, the second {said(second)}, given\n{series!r}"
        )

    @prop(data=st.data(), k=st.sampled_from(SCALES))
    def test_regime_ignores_the_price_level(self, data: st.DataObject, k: Decimal) -> None:
        """Every price and the tick times ``k`` give the same regime."""
        settings, series = self._draw(data)
        scaled = series.scaled(k)
        before, after = self._detect(settings, series), self._detect(settings, scaled)
        assert before == after, (
            f"the regime must not depend on the price level: every price and the tick times {k} "
            f"(last close {series.bars[-1].close} -> {scaled.bars[-1].close}, tick "
            f"{series.tick} -> {scaled.tick}) must give the same regime; the plugin answered "
            f"{said(before)} as generated and {said(after)} scaled, given\n{series!r}"
        )

    @prop(data=st.data(), shift=st.integers(min_value=-(10**6), max_value=10**6))
    def test_regime_ignores_when_it_happened(self, data: st.DataObject, shift: int) -> None:
        """Every bar shifted by the same number of minutes gives the same regime."""
        settings, series = self._draw(data)
        moved = series.shifted(shift * BAR)
        before, after = self._detect(settings, series), self._detect(settings, moved)
        assert before == after, (
            f"the regime must not depend on when the bars happened: every bar moved {shift} "
            f"minutes (first bar {series.bars[0].start.isoformat()} -> "
            f"{moved.bars[0].start.isoformat()}) must give the same regime; the plugin answered "
            f"{said(before)} as generated and {said(after)} moved, given\n{series!r}"
        )

    @prop(data=st.data(), hours=st.integers(min_value=1, max_value=72))
    def test_regime_ignores_the_wall_clock(self, data: st.DataObject, hours: int) -> None:
        """Same bars under a wall clock frozen at ``ctx.now`` or hours later: same regime."""
        settings, series = self._draw(data)
        now = series.context().now
        answers = []
        for wall in (now, now + timedelta(hours=hours)):
            with time_machine.travel(wall, tick=False):
                answers.append(self._detect(settings, series))
        on_time, later = answers
        assert on_time == later, (
            f"the wall clock must not matter (the time is ctx.now and the bars' own times): "
            f"with the wall clock at ctx.now {now.isoformat()} the plugin answered "
            f"{said(on_time)}, with it {hours} h later {said(later)}, given\n{series!r}"
        )

    @prop(data=st.data())
    def test_regime_answers_from_the_bars_alone(self, data: st.DataObject) -> None:
        """An instance that classified other bars before answers as a fresh one does."""
        settings, earlier = self._draw(data, "earlier bars")
        later = self._series(data, settings, "later bars")
        used = self.fresh(settings)
        before = ask(used, earlier)
        again, fresh = ask(used, later), self._detect(settings, later)
        assert again == fresh, (
            f"a detector must answer from the bars it is given alone (a restart would "
            f"otherwise change the regime): for the later bars, the instance that had already "
            f"classified the earlier ones answered {said(again)}, a fresh instance "
            f"{said(fresh)}.\nEarlier bars (it answered {said(before)}):\n{earlier!r}\n"
            f"Later bars:\n{later!r}"
        )

    @prop(
        data=st.data(),
        start=st.integers(min_value=1_000, max_value=100_000),
        step=st.integers(min_value=1, max_value=20),
        down=st.booleans(),
    )
    def test_regime_a_steady_trend_is_trending(
        self, data: st.DataObject, start: int, step: int, down: bool
    ) -> None:
        """A straight walk up or down, bar after bar, is trending (or no opinion before warm-up)."""
        settings = self.draw_settings(data)
        history = self.history(settings)
        count = data.draw(bar_counts(history), label="bars")
        signed = Decimal(-step if down else step)
        series = BarSeries(steady_trend(count, Decimal(start), signed), Decimal(1))
        answer = self._detect(settings, series)
        walk = f"a straight walk {'down' if down else 'up'} of {step} per bar"
        if count >= history:
            assert answer is Regime.TRENDING, (
                f"{walk} must be trending once the detector has its warm-up of {history} bars "
                f"(declare warmup_ticks, or a settings field named like window, if it needs "
                f"more); given {count} bars it answered {said(answer)}:\n{series!r}"
            )
        else:
            assert answer in (None, Regime.TRENDING), (
                f"{walk} is never ranging or choppy, even short of the warm-up of {history} "
                f"bars; given {count} bars it answered {said(answer)}:\n{series!r}"
            )

    @prop(
        data=st.data(),
        low=st.integers(min_value=1_000, max_value=100_000),
        width=st.integers(min_value=0, max_value=50),
    )
    def test_regime_flat_or_mean_reverting_is_not_trending(
        self, data: st.DataObject, low: int, width: int
    ) -> None:
        """Closes flipping between two levels (or not moving at all) are not a trend."""
        settings = self.draw_settings(data)
        count = data.draw(bar_counts(self.history(settings)), label="bars")
        series = BarSeries(flip_flop(count, Decimal(low), Decimal(low + width)), Decimal(1))
        answer = self._detect(settings, series)
        assert answer is not Regime.TRENDING, (
            f"closes flipping between {low} and {low + width} go nowhere and are not a trend; "
            f"given {count} such bars the plugin answered {said(answer)}:\n{series!r}"
        )
