"""Seeded random fault schedules: many different failure sequences, each replayable from a seed.

A chaos run draws faults from the catalogue at random simulated times; faults that leave the
exchange in a broken state (silence, clock skew, slow logins) are paired with their healing a
little later, so a schedule tests recovery, not just breakage. The schedule is returned so a run
can print it next to its seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from host.sim.faults import REST_FAILURES, Faults, Scheduled
from host.sim.push import CORRUPTIONS

Draw = Callable[[random.Random], tuple[dict[str, Any], tuple[str, dict[str, Any]] | None]]
"""Parameters for one fault, and the fault (with parameters) that heals it, if any."""

KINDS = ("public", "private", "business")

CATALOGUE: dict[str, Draw] = {
    "drop_sockets": lambda r: ({"kind": r.choice(KINDS)}, None),
    "silence_sockets": lambda r: ({"kind": r.choice(KINDS)}, ("heal_sockets", {})),
    "notice_upgrade": lambda r: ({"close_after_seconds": r.randint(5, 60)}, None),
    "fail_logins": lambda r: ({"count": r.randint(1, 2)}, None),
    "delay_logins": lambda r: ({"seconds": r.randint(1, 10)}, ("delay_logins", {"seconds": 0})),
    "duplicate_pushes": lambda r: ({"count": r.randint(1, 3)}, None),
    "drop_pushes": lambda r: ({"count": 1}, None),
    "reorder_pushes": lambda r: ({"count": r.randint(2, 4)}, None),
    "corrupt_pushes": lambda r: ({"kind": r.choice(CORRUPTIONS)}, None),
    "fail_rest": lambda r: (
        {"kind": r.choice([*REST_FAILURES, "lose_reply"]), "count": r.randint(1, 3)},
        None,
    ),
    "race_cancel_with_fill": lambda r: ({"count": 1}, None),
    "skew_clock": lambda r: (
        {"seconds": r.choice((-1, 1)) * r.randint(10, 120)},
        ("skew_clock", {"seconds": 0}),
    ),
}


def chaos(
    faults: Faults, seed: int, start: datetime, duration: timedelta, count: int
) -> list[Scheduled]:
    """Schedule ``count`` random faults (and their healing) within ``duration`` from ``start``."""
    rng = random.Random(f"chaos:{seed}")  # noqa: S311 -- a replayable schedule, not a secret
    seconds = max(1, int(duration.total_seconds()))
    for _ in range(count):
        name = rng.choice(sorted(CATALOGUE))
        params, heal = CATALOGUE[name](rng)
        at = start + timedelta(seconds=rng.randint(0, seconds))
        faults.schedule(at, name, **params)
        if heal is not None:
            faults.schedule(at + timedelta(seconds=rng.randint(5, 30)), heal[0], **heal[1])
    return sorted(faults.scheduled, key=lambda item: item.at or start)
