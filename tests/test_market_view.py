"""The market view's per-tick context, built positionally for speed, against the dataclass.

``MarketView.context`` passes :class:`HookContext`'s fields by position (one context per tick,
and keywords cost more). If a field is added in the middle or two fields swap places, that call
would silently hand plugins a context with its values in the wrong fields; here it is compared,
field by field, with one built by keyword from the same values, every field set to a value of
its own.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

from plugin_factory import BTC, NOW, make_host

from host.clock import ManualClock
from host.context import HookContext, HostLoad
from host.domain import Regime
from host.engine.view import MarketView
from host.settings import EngineSettings


def test_the_positional_context_matches_one_built_by_keyword() -> None:
    clock = ManualClock(NOW)
    view = MarketView(
        EngineSettings(), {BTC.inst_id: BTC}, Regime.CHOPPY, clock, make_host().dispatch
    )
    view.load = HostLoad(
        loop_lag=timedelta(milliseconds=3), exchange_latency=timedelta(milliseconds=40)
    )
    expected = HookContext(now=NOW, instrument=BTC, regime=Regime.CHOPPY, load=view.load)

    built = view.context(BTC.inst_id)

    for field in fields(HookContext):
        assert getattr(built, field.name) == getattr(expected, field.name), field.name
    assert built == expected
