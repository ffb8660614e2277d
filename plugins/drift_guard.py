"""drift_guard: the essential last word on positions the registry and the exchange disagree on.

The bot scalphost replaces left positions it found on the exchange without a stop ("drift add").
This plugin answers every drift, last (``trylast``), so an installed alternative may decide first
but a drift is never left unanswered: a position found on the exchange is adopted with a
protective stop placed from the current mark (or, before the first mark, from the exchange's entry
price), a changed position keeps its stop, and a vanished one is accepted as closed.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from host import Accept, Adopt, Drift, DriftKind, DriftResolution, HookContext, hookimpl


class DriftGuard:
    """Adopt with a protective stop; accept changes and removals."""

    class Settings(BaseModel):
        """How far from the market an adopted position's first stop is placed."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        stop_distance: Decimal = Field(
            default=Decimal("0.01"),
            gt=0,
            lt=1,
            description="Distance of the first stop from the mark, as a fraction of the mark "
            "(0.01 = 1 %). The trailing stop tightens it from there.",
        )

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @hookimpl(trylast=True)
    def on_position_drift(self, drift: Drift, ctx: HookContext) -> DriftResolution:
        """Protect what the exchange has; accept what it no longer has."""
        position = drift.exchange
        if drift.kind is DriftKind.REMOVE or position is None:
            return Accept("gone from the exchange")
        if drift.acceptable_as_is:
            return Accept("size or entry changed on the same side; the stop stays")
        reference = drift.mark_price if drift.mark_price is not None else position.entry_price
        offset = reference * self.settings.stop_distance
        raw_stop = reference - offset if position.side.sign > 0 else reference + offset
        stop = ctx.instrument.protective_stop(position.side, raw_stop)
        return Adopt(stop, f"protective stop {self.settings.stop_distance:%} from {reference}")
