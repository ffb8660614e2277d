"""The regime-detector conformance suite: what any ``detect_regime`` plugin must prove.

Subclass :class:`RegimeDetectorSuite` as ``Test...`` with ``plugin_class`` (and optionally a
``settings`` strategy and ``bars`` — how many bars the host hands it, at least its window). The
properties:

* deterministic, and the answer is a :class:`~host.domain.Regime` or ``None``;
* invariant to the price level: every price times ``k`` gives the same answer;
* invariant to time: every bar shifted by the same duration gives the same answer;
* a steady monotone trend (up or down) is trending;
* a flat series, or one that flips between two levels, is not trending.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import strategies as st

from host.conformance.calls import call_hook
from host.conformance.scenarios import INSTRUMENT, SCALES, TICK_SIZES, instrument
from host.conformance.suite import ConformanceSuite, prop
from host.context import HookContext
from host.domain import Bar, Regime

START = datetime(2026, 1, 1, tzinfo=UTC)
BAR = timedelta(minutes=1)


def bar(index: int, open_: Decimal, high: Decimal, low: Decimal, close: Decimal) -> Bar:
    """The ``index``-th one-minute bar from :data:`START`."""
    return Bar(INSTRUMENT, START + index * BAR, open_, high, low, close, Decimal(1))


@st.composite
def random_bars(draw: st.DrawFn, count: int) -> tuple[Bar, ...]:
    """``count`` consistent bars (low ≤ open, close ≤ high) of a random walk in whole ticks."""
    tick = draw(st.sampled_from(TICK_SIZES))
    level = draw(st.integers(min_value=1_000, max_value=100_000))
    bars = []
    for index in range(count):
        close = max(level + draw(st.integers(min_value=-50, max_value=50)), 200)
        high = max(level, close) + draw(st.integers(min_value=0, max_value=30))
        low = min(level, close) - draw(st.integers(min_value=0, max_value=30))
        bars.append(bar(index, level * tick, high * tick, low * tick, close * tick))
        level = close
    return tuple(bars)


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


class RegimeDetectorSuite(ConformanceSuite):
    """Hypothesis properties every regime detector must pass; subclass as ``Test...``."""

    bars: ClassVar[int] = 60

    def _detect(self, settings: Any, bars: tuple[Bar, ...]) -> Any:
        plugin = self.fresh(settings)
        spec = instrument(TICK_SIZES[-1])
        ctx = HookContext(bars[-1].start + BAR, spec, Regime.CHOPPY)
        return call_hook(plugin, "detect_regime", bars=bars, ctx=ctx)

    @prop(data=st.data())
    def test_regime_is_deterministic_and_a_regime_or_none(self, data: st.DataObject) -> None:
        """Same bars, same answer; the answer is a Regime or no opinion."""
        settings, bars = self.draw_settings(data), data.draw(random_bars(self.bars))
        answer = self._detect(settings, bars)
        assert answer is None or isinstance(answer, Regime)
        assert self._detect(settings, bars) == answer

    @prop(data=st.data(), k=st.sampled_from(SCALES))
    def test_regime_ignores_the_price_level(self, data: st.DataObject, k: Decimal) -> None:
        """Every price times ``k`` gives the same regime."""
        settings, bars = self.draw_settings(data), data.draw(random_bars(self.bars))
        scaled = tuple(
            replace(b, open=b.open * k, high=b.high * k, low=b.low * k, close=b.close * k)
            for b in bars
        )
        assert self._detect(settings, scaled) == self._detect(settings, bars)

    @prop(data=st.data(), shift=st.integers(min_value=-(10**6), max_value=10**6))
    def test_regime_ignores_when_it_happened(self, data: st.DataObject, shift: int) -> None:
        """Every bar shifted by the same number of minutes gives the same regime."""
        settings, bars = self.draw_settings(data), data.draw(random_bars(self.bars))
        moved = tuple(replace(b, start=b.start + shift * BAR) for b in bars)
        assert self._detect(settings, moved) == self._detect(settings, bars)

    @prop(
        data=st.data(),
        start=st.integers(min_value=1_000, max_value=100_000),
        step=st.integers(min_value=1, max_value=20),
        down=st.booleans(),
    )
    def test_regime_a_steady_trend_is_trending(
        self, data: st.DataObject, start: int, step: int, down: bool
    ) -> None:
        """A straight walk up or down, bar after bar, is trending."""
        signed = Decimal(-step if down else step)
        bars = steady_trend(self.bars, Decimal(start), signed)
        assert self._detect(self.draw_settings(data), bars) is Regime.TRENDING

    @prop(
        data=st.data(),
        low=st.integers(min_value=1_000, max_value=100_000),
        width=st.integers(min_value=0, max_value=50),
    )
    def test_regime_flat_or_mean_reverting_is_not_trending(
        self, data: st.DataObject, low: int, width: int
    ) -> None:
        """Closes flipping between two levels (or not moving at all) are not a trend."""
        bars = flip_flop(self.bars, Decimal(low), Decimal(low + width))
        assert self._detect(self.draw_settings(data), bars) is not Regime.TRENDING
