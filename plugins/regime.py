"""regime: classifies an instrument's market as trending, ranging or choppy from closed bars.

Two ratios over the last ``window`` bars, both free of units so the answer does not depend on the
price level or on when the bars happened:

* **Efficiency ratio** (Kaufman): net close-to-close move divided by the path the closes walked.
  1 is a straight line, near 0 is back-and-forth. At or above ``trending_efficiency`` the market
  is *trending*.
* **Noise**: the average true range (ATR) divided by the window's whole high-low span. A quiet
  range has small bars inside a wide band; a choppy market has bars that whip across most of the
  band. At or above ``choppy_noise`` a non-trending market is *choppy*, otherwise *ranging*.

Ratios are compared by cross-multiplying in Decimal (``net >= threshold × path``), never by
dividing, so scaling every price by the same factor cannot flip an answer through rounding.
Before ``window`` bars exist the detector has no opinion and the host's fallback regime applies.
The hook is ``trylast``: an installed alternative detector answers first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from host import Bar, Regime, hookimpl


class RegimeDetector:
    """Efficiency ratio for direction, ATR over range for noise."""

    class Settings(BaseModel):
        """Window and thresholds of the classification."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        window: int = Field(
            default=20, ge=3, description="Closed bars looked at (the most recent ones)."
        )
        trending_efficiency: Decimal = Field(
            default=Decimal("0.4"),
            gt=0,
            le=1,
            description="Efficiency ratio (net move / path) from which the market is trending.",
        )
        choppy_noise: Decimal = Field(
            default=Decimal("0.35"),
            gt=0,
            le=1,
            description="Average true range / window span from which a non-trending market is "
            "choppy rather than ranging.",
        )

        @model_validator(mode="after")
        def _flip_flop_is_never_a_trend(self) -> Self:
            # closes alternating between two levels have an efficiency ratio of 1/(window-1)
            if self.trending_efficiency * (self.window - 1) <= 1:
                raise ValueError(
                    f"trending_efficiency must exceed 1/(window-1) = 1/{self.window - 1}, or "
                    "a market flipping between two prices would count as trending"
                )
            return self

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @hookimpl(trylast=True)
    def detect_regime(self, bars: Sequence[Bar]) -> Regime | None:
        """Classify the last ``window`` bars; no opinion while fewer exist."""
        window = self.settings.window
        if len(bars) < window:
            return None
        recent = bars[-window:]
        if self._trending(recent):
            return Regime.TRENDING
        return Regime.CHOPPY if self._choppy(recent) else Regime.RANGING

    def _trending(self, bars: Sequence[Bar]) -> bool:
        closes = [bar.close for bar in bars]
        path = sum((abs(b - a) for a, b in itertools.pairwise(closes)), Decimal(0))
        net = abs(closes[-1] - closes[0])
        return path > 0 and net >= self.settings.trending_efficiency * path

    def _choppy(self, bars: Sequence[Bar]) -> bool:
        span = max(bar.high for bar in bars) - min(bar.low for bar in bars)
        true_ranges = [bars[0].high - bars[0].low] + [
            max(bar.high, before.close) - min(bar.low, before.close)
            for before, bar in itertools.pairwise(bars)
        ]
        total = sum(true_ranges, Decimal(0))
        return span > 0 and total >= self.settings.choppy_noise * len(bars) * span
