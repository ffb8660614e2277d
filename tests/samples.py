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


def mark_push(inst_id: str, mark_px: str, ts: str) -> dict[str, Any]:
    """A ``mark-price`` push: the host believes ticks only once it has a mark to judge them by."""
    return {
        "arg": {"channel": "mark-price", "instId": inst_id},
        "data": [{"instType": "SWAP", "instId": inst_id, "markPx": mark_px, "ts": ts}],
    }


UNI_MARK = mark_push("UNI-USD-SWAP", "5.13", "1652459223000")
"""A mark for the instrument of ``ws_tickers_push_swap_real_cryptofeed.json``."""
