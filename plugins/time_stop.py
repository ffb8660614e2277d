"""time_stop: closes a position that has been open longer than its regime allows.

A scalp that has not worked within minutes rarely starts working later; holding it only ties up
margin and risk. The holding time is measured from the exchange's own entry time (OKX ``cTime``,
also for adopted positions) to the host's clock, never from when the host learned of the position.
The limit is the *current* regime's, so a market turning choppy shortens every open position's
leash. Stateless: the same position and instant always give the same answer.

It is the smallest example of an exit plugin: copy it to write your own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from host import CloseNow, ExitProposal, HookContext, Position, Regime, hookimpl
from plugins.per_regime import PerRegime


class TimeStop:
    """Close after a maximum holding time per regime."""

    class Settings(BaseModel):
        """The maximum holding time in each regime."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        max_hold_seconds: PerRegime[PositiveFloat] = Field(
            default=PerRegime[PositiveFloat](trending=1800.0, ranging=900.0, choppy=600.0),
            description="Longest a position may stay open, per current regime.",
        )

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._limits = {
            regime: timedelta(seconds=settings.max_hold_seconds.of(regime)) for regime in Regime
        }  # read on every tick: built once, the settings are frozen

    @hookimpl
    def on_tick_exit(
        self, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        """Close every position held at least the current regime's limit."""
        limit, now = self._limits[ctx.regime], ctx.now
        answers: dict[str, ExitProposal] | None = None  # a loop, not a comprehension: every tick
        for position in positions:
            held = now - position.entry_time
            if held >= limit:
                answers = answers or {}
                answers[position.pos_id] = CloseNow(f"held {held}, limit {limit} ({ctx.regime})")
        return answers
