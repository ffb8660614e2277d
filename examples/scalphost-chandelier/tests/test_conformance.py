"""The shipped exit suite, run against the chandelier for every configuration a user may write.

The settings are drawn, not fixed, so the properties hold for any config, not only the defaults.
The window is kept short enough for the generated scenarios (up to 40 ticks) to get past the
warm-up; a suite that only ever saw the warm-up would pass while proving nothing.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import hypothesis
import pytest
from host import ExitProposal, HookContext, Position, Tick, hookimpl
from host.conformance.exits import ExitPluginSuite
from hypothesis import strategies as st

from scalphost_chandelier import Chandelier, RegimeFactors

MAX_WINDOW = 12
"""The longest warm-up drawn below: well inside the suite's scenarios."""

factors = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(2), places=2)
chandelier_settings = st.builds(
    Chandelier.Settings,
    multiplier=st.decimals(min_value=Decimal("0.5"), max_value=Decimal(8), places=2),
    window=st.integers(min_value=2, max_value=MAX_WINDOW),
    min_distance=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.01"), places=4),
    regime_factors=st.builds(RegimeFactors, trending=factors, ranging=factors, choppy=factors),
)


class TestChandelierConforms(ExitPluginSuite):
    plugin_class = Chandelier
    settings = chandelier_settings
    warmup_ticks = MAX_WINDOW  # the longest warm-up drawn: suites that read it generate longer


class CountsRepeats(Chandelier):
    """A broken chandelier: takes every delivery as a new tick, so a re-sent tick adds noise."""

    def __init__(self, settings: Chandelier.Settings) -> None:
        super().__init__(settings)
        self.deliveries = 0

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        self.deliveries += 1
        later = replace(tick, ts=tick.ts + timedelta(microseconds=self.deliveries))
        return super().on_tick_exit(later, positions, ctx)


def test_the_suite_reaches_past_the_warm_up_with_these_settings() -> None:
    """Only a warmed-up chandelier can mis-handle a repeat; the suite must catch this one."""
    check = type("Check", (TestChandelierConforms,), {"plugin_class": CountsRepeats})
    found_only = hypothesis.settings(
        max_examples=500, phases=[hypothesis.Phase.generate], database=None
    )
    with pytest.raises(AssertionError):
        found_only(check.test_exit_duplicated_ticks_change_nothing)(check())
