"""The whole fault suite at one scale: the state machine, then the hostile-input corpus.

``scalphost faults`` calls :func:`run_fault_suite` and prints the figures; the default test suite
runs it at a small scale. The scales follow the hypothesis profiles (``dev`` quick, ``ci``
derandomized, ``golive`` thorough) but count examples of a much costlier kind: one state-machine
example is a trading session of simulated minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from host.conformance.profiles import PROFILES
from host.faults.corpus import run_command_lines, run_configs, run_frames
from host.faults.figures import Figures
from host.faults.machine import machine_for
from host.settings import Settings


@dataclass(frozen=True, slots=True)
class Scale:
    """How much of each kind one run tries."""

    examples: int
    """State-machine examples (trading sessions)."""
    steps: int
    """Most rules per example."""
    frames: int
    configs: int
    command_lines: int


SCALES = {
    "dev": Scale(examples=4, steps=15, frames=150, configs=50, command_lines=20),
    "ci": Scale(examples=20, steps=25, frames=1000, configs=200, command_lines=60),
    "golive": Scale(examples=100, steps=40, frames=5000, configs=1000, command_lines=200),
}


def scale_for(profile: str, examples: int | None = None) -> Scale:
    """The profile's scale, with ``examples`` state-machine examples if given."""
    scale = SCALES[profile]
    return scale if examples is None else replace(scale, examples=examples)


def run_fault_suite(
    base: Settings,
    profile: str,
    scale: Scale,
    invoke: Callable[[list[str]], Any],
) -> tuple[Figures, float]:
    """Run everything at ``scale`` under hypothesis ``profile``; the figures and wall seconds.

    ``invoke`` runs one command line (typer's ``CliRunner`` on the ``scalphost`` app).
    """
    started = time.perf_counter()
    figures = Figures()
    machine = settings(
        PROFILES[profile],
        max_examples=scale.examples,
        stateful_step_count=scale.steps,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    run_state_machine_as_test(machine_for(base, figures, survey=True), settings=machine)
    hostile = PROFILES[profile]
    run_frames(base, scale.frames, hostile, figures)
    run_configs(scale.configs, hostile, figures)
    run_command_lines(scale.command_lines, hostile, figures, invoke)
    return figures, time.perf_counter() - started
