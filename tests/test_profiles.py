"""Hypothesis profiles: chosen by option, environment or CI; unknown names refused."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from host.conformance.profiles import (
    PROFILE_ENV,
    PROFILES,
    UnknownProfileError,
    choose_profile,
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
