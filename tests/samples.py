"""Real OKX messages, copied from the team's shared material (sources: okx_samples/SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent / "okx_samples"


def sample_text(name: str) -> str:
    """The raw text of one sample, as it arrived on the wire (re-indented)."""
    return (SAMPLES / name).read_text(encoding="utf-8")


def sample(name: str) -> Any:
    """One sample, parsed."""
    return json.loads(sample_text(name))
