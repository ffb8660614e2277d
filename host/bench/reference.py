"""The plain reference loop: what "bytes to decision" costs with nothing of the host in it.

orjson parses the frame, a dict keyed by instrument holds the open positions as dicts, one
pluggy hook asks a trailing stop written on floats, and a stop the bid reaches is a close. No
Decimal, no credibility, no de-duplication, no journal: a floor to compare with, run over the
same frames in the same run, not a design to copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import pluggy

from host.clock import monotonic_ns

PROJECT = "scalphost-bench-reference"
_spec = pluggy.HookspecMarker(PROJECT)
_impl = pluggy.HookimplMarker(PROJECT)

Position = dict[str, Any]


class _Spec:
    @_spec
    def on_tick(self, positions: list[Position], bid: float) -> dict[str, float]:  # type: ignore[empty-body]
        """New stops by position id."""


class FloatTrailingStop:
    """Trails ``distance`` below the best bid once the price is ``activation`` above entry."""

    def __init__(self, activation: float = 50.0, distance: float = 30.0) -> None:
        self.activation = activation
        self.distance = distance

    @_impl
    def on_tick(self, positions: list[Position], bid: float) -> dict[str, float]:
        """Tighter stops for the positions far enough in profit."""
        moves = {}
        for position in positions:
            if bid - position["entry"] >= self.activation:
                level = bid - self.distance
                if level > position["stop"]:
                    moves[position["id"]] = level
        return moves


class ReferenceLoop:
    """Frames in, decisions out: ``close`` or ``move`` per position, or nothing."""

    def __init__(self, positions: dict[str, list[Position]]) -> None:
        self.registry = positions
        self._plugins = pluggy.PluginManager(PROJECT)
        self._plugins.add_hookspecs(_Spec)
        self._plugins.register(FloatTrailingStop())
        self.closes = 0

    def decide(self, frame: str | bytes) -> None:
        """One frame: parse, look up the positions, ask the plugin, act on the answers."""
        message = orjson.loads(frame)
        item = message["data"][0]
        positions = self.registry.get(message["arg"]["instId"])
        if not positions:
            return
        bid = float(item["bidPx"] if "bidPx" in item else item["bids"][0][0])
        for answer in self._plugins.hook.on_tick(positions=positions, bid=bid):
            for position in positions:
                if position["id"] in answer:
                    position["stop"] = answer[position["id"]]
        for position in positions:
            if bid <= position["stop"]:
                self.closes += 1

    def time_each(self, frames: Sequence[str]) -> list[int]:
        """Nanoseconds per frame, each frame timed on its own."""
        samples = []
        for frame in frames:
            started = monotonic_ns()
            self.decide(frame)
            samples.append(monotonic_ns() - started)
        return samples


def reference_positions(
    inst_ids: Sequence[str], entry: float, stop: float
) -> dict[str, list[Position]]:
    """One open long per instrument of ``inst_ids``."""
    return {
        inst_id: [{"id": f"r{n}", "entry": entry, "stop": stop}]
        for n, inst_id in enumerate(inst_ids)
    }
