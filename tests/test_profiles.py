"""Hypothesis profiles: chosen by option, environment or CI; unknown names refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import settings

from host.conformance.profiles import (
    PROFILE_ENV,
    PROFILES,
    UnknownProfileError,
    choose_profile,
    profile_without_database,
)


@pytest.mark.parametrize(
    ("requested", "environ", "expected"),
    [
        (None, {}, "dev"),
        (None, {"CI": "true"}, "ci"),
        (None, {"CI": "true", PROFILE_ENV: "golive"}, "golive"),
        ("dev", {"CI": "true", PROFILE_ENV: "golive"}, "dev"),
    ],
)
def test_choice_prefers_option_then_environment_then_ci(
    requested: str | None, environ: dict[str, str], expected: str
) -> None:
    assert choose_profile(requested, environ) == expected


def test_an_unknown_profile_is_refused_with_the_choices() -> None:
    with pytest.raises(UnknownProfileError, match="dev, ci, golive"):
        choose_profile(None, {PROFILE_ENV: "thorough"})


def test_golive_is_thorough_and_no_profile_fails_on_timing() -> None:
    assert PROFILES["golive"].max_examples >= 1000
    assert PROFILES["golive"].max_examples > PROFILES["ci"].max_examples
    assert PROFILES["ci"].max_examples > PROFILES["dev"].max_examples
    assert all(profile.deadline is None for profile in PROFILES.values())


def test_the_suite_runs_under_a_scalphost_profile(pytestconfig: pytest.Config) -> None:
    chosen = pytestconfig.getoption("--scalphost-profile") or choose_profile(None, os.environ)
    assert settings().max_examples == PROFILES[chosen].max_examples


CHECKS_WITHOUT_FLAGS = """
import os

from hypothesis import settings

{before}
from host.conformance.exits import ExitPluginSuite
from plugins.time_stop import TimeStop


class ChecksTimeStop(ExitPluginSuite):  # defined, not collected: the profile is what is tested
    plugin_class = TimeStop


def test_profile_in_force():
    assert settings.get_current_profile_name() == os.environ["EXPECTED_PROFILE"]
"""


def run_plain_pytest(tmp_path, environ: dict[str, str], before: str = "") -> None:
    """Run a plugin author's test module with no ``-p`` and no flags, outside our pytest config."""
    (tmp_path / "test_mine.py").write_text(CHECKS_WITHOUT_FLAGS.format(before=before))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if k not in (PROFILE_ENV, "CI")} | environ
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, "scalphost-dev"), ({PROFILE_ENV: "golive"}, "scalphost-golive")],
)
def test_a_suite_subclass_loads_a_scalphost_profile_by_itself(
    tmp_path, environ: dict[str, str], expected: str
) -> None:
    run_plain_pytest(tmp_path, environ | {"EXPECTED_PROFILE": expected})


def test_a_profile_chosen_before_the_subclass_is_kept(tmp_path) -> None:
    mine = 'settings.register_profile("mine", max_examples=7)\nsettings.load_profile("mine")'
    run_plain_pytest(tmp_path, {"EXPECTED_PROFILE": "mine"}, before=mine)


def test_a_golive_run_in_process_leaves_the_callers_profile_in_force() -> None:
    before = settings.get_current_profile_name()
    with profile_without_database("golive"):
        assert settings().max_examples == PROFILES["golive"].max_examples
        assert settings().database is None
    assert settings.get_current_profile_name() == before
