"""Limit-order policies and circuit breakers with the bugs third-party plugins really had.

Each is correct in the cases the old suites generated — policies held only to the 300 s ceiling,
breakers never restarted and never shown a replayed close without ``ctx.load`` — which is why
each used to pass. They live in a module, not in a test, so they can also be installed as
third-party plugins (:mod:`installed_plugins`) and put through ``scalphost golive``.
"""

from __future__ import annotations

from datetime import timedelta

from host import ClosedPosition, HookContext, Regime, hookimpl
from plugins.circuit_breaker import CircuitBreaker


class WaitsTwoMinutesWhenRanging:
    """The original bot's bug: 120 s in a ranging market, within the old 300 s ceiling."""

    @hookimpl
    def limit_order_ttl(self, ctx: HookContext) -> timedelta:
        return timedelta(seconds=120 if ctx.regime is Regime.RANGING else 30)


class ForgetsOnStartup(CircuitBreaker):
    """The built-in, but it starts "afresh" in on_startup, dropping the history replayed before."""

    @hookimpl
    def on_startup(self) -> None:
        self.__init__(self.settings)  # type: ignore[misc]


class IgnoresReplayedCloses(CircuitBreaker):
    """The built-in, but it skips closes whose ctx.load is missing, which is every replayed one."""

    @hookimpl
    def on_position_closed(self, closed: ClosedPosition, ctx: HookContext) -> None:
        if ctx.load is not None:
            super().on_position_closed(closed)
