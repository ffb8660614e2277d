"""The suites bound to a configuration: the paper config's plugins, with its settings, pass."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import find

from host.conformance.configured import configured_suites
from host.settings import load_settings

PAPER = Path(__file__).resolve().parent.parent / "config" / "paper.yaml"
SUITES = configured_suites(load_settings(PAPER))


def test_configured_suites_cover_every_enabled_plugin_by_its_hooks() -> None:
    assert sorted(SUITES) == [
        "TestCircuitBreakerSuite_circuit_breaker",
        "TestExitPluginSuite_circuit_breaker",
        "TestExitPluginSuite_time_stop",
        "TestExitPluginSuite_trailing_stop",
        "TestLimitOrderPolicySuite_limit_order_policy",
        "TestRegimeDetectorSuite_regime",
    ]


@pytest.mark.parametrize("title", sorted(SUITES))
def test_configured_suite_runs_against_the_configured_plugin(title: str) -> None:
    suite = SUITES[title]()
    properties = sorted(name for name in dir(suite) if name.startswith("test_"))
    assert properties
    getattr(suite, properties[0])()  # one property each; the module's own tests run the rest


def test_configured_suite_uses_the_configured_settings(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("plugins:\n  regime:\n    window: 7\n    trending_efficiency: '0.9'\n")
    suite = configured_suites(load_settings(config))["TestRegimeDetectorSuite_regime"]
    assert suite.settings is not None
    assert find(suite.settings, lambda settings: True).window == 7


def test_a_partial_nested_section_is_merged_onto_the_defaults_as_the_host_does(
    tmp_path: Path,
) -> None:
    """``run`` accepts one nested value changed; golive's suites must read it the same way."""
    config = tmp_path / "c.yaml"
    config.write_text(
        "plugins:\n  trailing_stop:\n    by_regime:\n      trending: {trail_distance: '0.001'}\n"
    )
    suite = configured_suites(load_settings(config))["TestExitPluginSuite_trailing_stop"]
    trending = suite.configured_settings.by_regime.trending
    assert trending.trail_distance == Decimal("0.001")
    assert trending.activation_offset == Decimal("0.003"), "the siblings keep their defaults"
