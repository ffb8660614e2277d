"""The pytest plugin behind scalphost's property suites: ``--scalphost-profile`` and its default.

It is loaded with ``-p host.conformance.pytest_plugin`` (our ``pyproject.toml`` does so, and
``scalphost golive`` will), not through a ``pytest11`` entry point: installing scalphost must not
change the hypothesis settings of somebody else's test suite.
"""

from __future__ import annotations

import os

import pytest

# The shipped suites are plain asserts; have pytest explain a failure as it does in a test module.
pytest.register_assert_rewrite(
    "host.conformance.calls",
    "host.conformance.exits",
    "host.conformance.limit_orders",
    "host.conformance.breakers",
    "host.conformance.regimes",
)

from host.conformance.profiles import (  # noqa: E402 - after the rewrite registration
    PROFILES,
    UnknownProfileError,
    choose_profile,
    load_profile,
)

PROFILE_KEY = pytest.StashKey[str]()
"""Where the chosen profile name is kept for the report header."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--scalphost-profile``."""
    parser.addoption(
        "--scalphost-profile",
        choices=sorted(PROFILES),
        default=None,
        help="hypothesis profile: dev (default), ci (default when CI is set), golive (thorough)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Load the chosen profile before any test module is imported."""
    try:
        name = choose_profile(config.getoption("--scalphost-profile"), os.environ)
    except UnknownProfileError as error:
        raise pytest.UsageError(str(error)) from error
    load_profile(name)
    config.stash[PROFILE_KEY] = name


def pytest_report_header(config: pytest.Config) -> str:
    """Say which profile ran, so a report shows how hard the properties were pushed."""
    return f"scalphost hypothesis profile: {config.stash.get(PROFILE_KEY, '?')}"
