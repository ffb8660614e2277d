"""Real OKX messages, copied from the team's shared material.

The WebSocket samples are package data of the hostile-input corpus (``host/faults/samples``,
sources in its SOURCES.md), read here from there; the REST samples are the tests' alone
(``okx_samples``, sources in its SOURCES.md). One copy of each file.
"""

from __future__ import annotations

import json
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from host.faults.corpus import SAMPLES as WS_SAMPLES

REST_SAMPLES = Path(__file__).resolve().parent / "okx_samples"


def sample_file(name: str) -> Traversable:
    """Where one sample is: a WebSocket one (``ws_*``) in the package, a REST one here."""
    return (WS_SAMPLES if name.startswith("ws_") else REST_SAMPLES) / name


def sample_text(name: str) -> str:
    """The raw text of one sample, as it arrived on the wire (re-indented)."""
    return sample_file(name).read_text(encoding="utf-8")


def sample(name: str) -> Any:
    """One sample, parsed."""
    return json.loads(sample_text(name))


def mark_push(inst_id: str, mark_px: str, ts: str) -> dict[str, Any]:
    """A ``mark-price`` push: the host believes ticks only once it has a mark to judge them by."""
    return {
        "arg": {"channel": "mark-price", "instId": inst_id},
        "data": [{"instType": "SWAP", "instId": inst_id, "markPx": mark_px, "ts": ts}],
    }


UNI_MARK = mark_push("UNI-USD-SWAP", "5.13", "1652459223000")
"""A mark for the instrument of ``ws_tickers_push_swap_real_cryptofeed.json``."""
