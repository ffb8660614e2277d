"""The three hypothesis profiles, registered in one place so every suite means the same thing.

* ``dev`` — quick feedback while editing;
* ``ci`` — more examples, derandomized so a red build reproduces on a laptop;
* ``golive`` — thorough: thousands of examples per property, run by ``scalphost golive`` before
  real money is at stake.

A suite subclass loads the chosen profile itself (:func:`ensure_profile`, called when the class
is defined), so a plugin author's test module runs under a scalphost profile with no pytest flag
to remember; a profile chosen explicitly before (``--scalphost-profile``, ``--hypothesis-profile``,
``settings.load_profile``, ``scalphost golive --profile``) is left alone.

No profile has a deadline: speed is measured in ``bench/``, and a test that fails because a
shared CI machine was slow would teach people to ignore red builds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

PROFILE_ENV = "SCALPHOST_HYPOTHESIS_PROFILE"
"""Environment variable naming the profile to load."""

_HYPOTHESIS_DEFAULT = "default"
"""The profile hypothesis starts with: nobody has chosen one yet."""

PROFILES: dict[str, settings] = {
    "dev": settings(max_examples=50, deadline=None),
    "ci": settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    ),
    "golive": settings(
        max_examples=5000,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    ),
}


class UnknownProfileError(ValueError):
    """A profile name that is not one of :data:`PROFILES`."""


def register_profiles() -> None:
    """Register every profile with hypothesis (idempotent: re-registering replaces)."""
    for name, profile in PROFILES.items():
        settings.register_profile(f"scalphost-{name}", profile)


def choose_profile(requested: str | None, environ: Mapping[str, str]) -> str:
    """Pick a profile: the request, else the environment, else ``ci`` on CI, else ``dev``."""
    name = requested or environ.get(PROFILE_ENV) or ("ci" if environ.get("CI") else "dev")
    if name not in PROFILES:
        known = ", ".join(PROFILES)
        raise UnknownProfileError(f"unknown hypothesis profile {name!r}; choose one of {known}")
    return name


def load_profile(name: str) -> None:
    """Make ``name`` the active hypothesis profile (registering the profiles first)."""
    register_profiles()
    settings.load_profile(f"scalphost-{name}")


@contextmanager
def profile_without_database(name: str) -> Iterator[None]:
    """Run the block under ``name`` with hypothesis' example database off (``scalphost golive``).

    The database is a developer's convenience: it replays failures from earlier runs out of a
    ``.hypothesis`` folder in the working directory. A go-live check must neither leave that
    folder in the user's directory nor depend on what an earlier run left there. The profile in
    force before is restored afterwards: hypothesis' profile is process-wide, and a caller's own
    tests (pytest's chosen profile, say) must not run on under ours.
    """
    register_profiles()
    before = settings.get_current_profile_name()
    run = f"scalphost-{name}-no-database"
    settings.register_profile(run, settings(PROFILES[name], database=None))
    settings.load_profile(run)
    try:
        yield
    finally:
        settings.load_profile(before)


def ensure_profile(environ: Mapping[str, str] = os.environ) -> str:
    """Load the environment's profile (see :func:`choose_profile`) unless one is already chosen.

    Hypothesis starts on its own ``default`` profile; anything else was chosen on purpose and
    is kept. Returns the name of the profile in force.
    """
    current = settings.get_current_profile_name()
    if current != _HYPOTHESIS_DEFAULT:
        return current
    name = choose_profile(None, environ)
    load_profile(name)
    return f"scalphost-{name}"
