"""Plugins that raise while a session trades, for the sweep's failed runs.

One raises on every tick: the plugin guard switches it off after a few failures in a row and the
session trades on without it. The other raises on one tick only and stays on. Either way the
session ends normally, so only the plugin's fault count shows that the figures are not the
configuration's.
"""

from __future__ import annotations

from host import Tick, hookimpl


class RaisesOnEveryTick:
    """No signal, ever: a lookup that cannot succeed."""

    @hookimpl
    def generate_signals(self, tick: Tick) -> None:
        raise KeyError(f"no model for {tick.inst_id}")


class RaisesOnce:
    """Fails its first tick (a cold cache), then answers nothing, correctly."""

    def __init__(self) -> None:
        self.warm = False

    @hookimpl
    def generate_signals(self, tick: Tick) -> None:
        if not self.warm:
            self.warm = True
            raise ZeroDivisionError("no ticks seen yet")
