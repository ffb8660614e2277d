"""The built-in regime detector: the regime conformance suite, and examples of each regime."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import strategies as st

from host import Regime
from host.conformance.regimes import RegimeDetectorSuite, bar, flip_flop, steady_trend
from plugins.regime import RegimeDetector

ratios = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("0.95"), places=2)


@st.composite
def detector_settings(draw: st.DrawFn) -> RegimeDetector.Settings:
    window = draw(st.integers(min_value=3, max_value=60))
    floor = Decimal(1) / (window - 1)
    efficiency = draw(ratios.filter(lambda ratio: ratio > floor) | st.just(Decimal(1)))
    return RegimeDetector.Settings(
        window=window, trending_efficiency=efficiency, choppy_noise=draw(ratios)
    )


class TestRegimeDetectorConforms(RegimeDetectorSuite):
    plugin_class = RegimeDetector
    settings = detector_settings()


def detect(bars: tuple) -> Regime | None:
    return RegimeDetector(RegimeDetector.Settings()).detect_regime(bars)


def test_regime_has_no_opinion_before_a_full_window() -> None:
    assert detect(steady_trend(19, Decimal(100), Decimal(1))) is None
    assert detect(steady_trend(20, Decimal(100), Decimal(1))) is Regime.TRENDING


def test_regime_small_bars_inside_a_wide_band_are_ranging() -> None:
    # closes drift 100 → 110 → 100 in small bars: little net move, small bars against the span
    closes = [Decimal(100 + min(i, 20 - i)) for i in range(21)]
    bars = tuple(
        bar(i, a, max(a, b), min(a, b), b) for i, (a, b) in enumerate(itertools.pairwise(closes))
    )
    assert detect(bars) is Regime.RANGING


@pytest.mark.parametrize("width", [Decimal(1), Decimal(10)])
def test_regime_bars_whipping_across_the_band_are_choppy(width: Decimal) -> None:
    assert detect(flip_flop(20, Decimal(100), Decimal(100) + width)) is Regime.CHOPPY


def test_regime_a_flat_market_is_ranging() -> None:
    assert detect(flip_flop(20, Decimal(100), Decimal(100))) is Regime.RANGING


def test_regime_settings_refuse_a_threshold_a_flip_flop_would_pass() -> None:
    with pytest.raises(ValueError, match="flipping between two prices"):
        RegimeDetector.Settings(window=4, trending_efficiency=Decimal("0.3"))
