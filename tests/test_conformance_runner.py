"""The go-live runner: every suite of a configuration, run without pytest, failures explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from host.conformance.profiles import PROFILES, UnknownProfileError, profile_without_database
from host.conformance.runner import (
    PropertyOutcome,
    UnknownPluginError,
    profile_in_force,
    run_configured_suites,
)
from host.settings import Settings, load_settings

PAPER = load_settings(Path(__file__).resolve().parent.parent / "config" / "paper.yaml")


def install_broken_exits(root: Path) -> None:
    """A real dist-info on ``sys.path`` whose entry points name plugins of tests/broken_exits.py."""
    info = root / "scalphost_broken_exits-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: scalphost-broken-exits\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[scalphost.plugins]\n"
        "by_the_first = broken_exits:JudgesByTheFirst\n"
        "secretly_patient = broken_exits:SecretlyPatientTrail\n"
    )


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    install_broken_exits(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return Settings(
        plugins={"by_the_first": {"enabled": True}, "secretly_patient": {"enabled": True}}
    )


def test_the_builtin_exits_of_the_paper_config_pass_and_answer() -> None:
    seen: list[PropertyOutcome] = []
    report = run_configured_suites(PAPER, "dev", ["time_stop", "drift_guard"], seen.append)
    assert seen == list(report.outcomes)
    assert report.outcomes
    assert report.failures == ()
    assert {o.plugin for o in report.outcomes} == {"time_stop"}
    assert {o.suite for o in report.outcomes} == {"ExitPluginSuite"}
    never = next(
        o
        for o in report.outcomes
        if o.prop == "test_exit_stop_never_loosens_and_stays_on_the_safe_side"
    )
    assert (
        never.rule
        == "Never looser than the current stop or its own last one; clear of the market; on tick."
    )
    assert all(o.examples >= 50 for o in report.outcomes)
    [time_stop] = [c for c in report.coverage if c.plugin == "time_stop"]
    assert time_stop.suites == ("ExitPluginSuite",)
    assert 0 < time_stop.answered < time_stop.examples
    assert time_stop.share == time_stop.answered / time_stop.examples
    assert report.uncovered == ("drift_guard",)
    [timing] = [t for t in report.call_times if t.plugin == "time_stop"]
    assert timing.hook == "on_tick_exit"
    assert timing.count > time_stop.examples
    assert timing.p50 <= timing.p99 <= timing.max


@pytest.mark.slow  # hypothesis shrinks two failures fully: about 20 s
def test_a_broken_plugin_fails_by_name_with_its_counter_example(broken: Settings) -> None:
    report = run_configured_suites(broken, "dev", ["by_the_first"])
    assert {o.plugin for o in report.failures} == {"by_the_first"}
    judged = "test_exit_judges_each_position_on_its_own"
    failed = next(o for o in report.failures if o.prop == judged)
    assert failed.rule == (
        "Each position gets the answers it gets when held alone, whatever is held beside it."
    )
    assert failed.failure is not None
    assert failed.failure.startswith("each position must be judged on its own: held beside ")
    assert "held alone, at " in failed.failure, "what the plugin answered alone is quoted"
    assert f"{judged}(" in failed.failure, "hypothesis' counter-example"
    assert "ExitScenario: TEST-USDT-SWAP" in failed.failure, "the shrunk scenario is shown"


def test_a_plugin_that_never_answers_has_zero_coverage(broken: Settings) -> None:
    report = run_configured_suites(broken, "dev", ["secretly_patient"])
    assert report.failures == ()
    [coverage] = report.coverage
    assert coverage.examples > 0
    assert (coverage.answered, coverage.share) == (0, 0.0)


def test_unknown_plugins_and_profiles_are_refused() -> None:
    with pytest.raises(UnknownPluginError, match="bracket"):
        run_configured_suites(PAPER, "dev", ["bracket"])
    with pytest.raises(UnknownProfileError, match="dev, ci, golive"):
        run_configured_suites(PAPER, "thorough")


def test_a_property_runs_under_the_profile_chosen_after_it_was_decorated() -> None:
    """golive chooses its profile after the suites were imported; the runner must honour it.

    Hypothesis binds a property to the profile in force at ``@given``: without
    :func:`profile_in_force`, ``--profile golive`` ran ``dev``'s 50 examples.
    """
    calls: list[int] = []
    with profile_without_database("dev"):

        @given(st.integers())
        def prop(number: int) -> None:
            calls.append(number)

    with profile_without_database("ci"):
        with profile_in_force(prop):
            prop()
        ci_calls = len(calls)
        calls.clear()
        prop()  # restored: the profile it was decorated under again
    assert ci_calls >= PROFILES["ci"].max_examples > PROFILES["dev"].max_examples
    assert len(calls) <= PROFILES["dev"].max_examples
