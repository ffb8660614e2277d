"""trailing_stop: a stop that follows the best price and never gives ground back.

Every distance is a fraction of the position's **entry price** (``0.002`` = 0.2 % of entry), so
the stop does not depend on the price level, and a long and a short mirrored around their entry
get mirrored stops. Per position, with the settings of the regime it was armed in:

* it remembers the best executable price seen (the bid for a long, the ask for a short);
* once the best price is ``activation_offset`` past the entry, the stop trails ``trail_distance``
  behind the best price;
* once the best price is ``breakeven_trigger`` past the entry, the stop is at least the entry plus
  ``min_locked_profit``;
* the stop only ever tightens, is rounded to the tick toward the market, and when the executable
  price reaches it the answer is a close, never a stop at or through the market.

Before activation it has no opinion (the position keeps whatever stop it has). It arms on
``on_fill`` for the host's own entries and on ``on_position_drift`` for positions adopted from the
exchange. An adopted position's history is unknown, so it trails at once from the current mark:
its entry price and time are the exchange's, never the moment the host found it. A position the
plugin has not seen armed (a restart) is armed on its first tick from the position itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from host import (
    ClosedPosition,
    CloseNow,
    Drift,
    DriftKind,
    ExitProposal,
    HookContext,
    InstrumentSpec,
    Position,
    PositionOrigin,
    Regime,
    StopAt,
    Tick,
    hookimpl,
)
from plugins.per_regime import PerRegime


class TrailParams(BaseModel):
    """How one regime trails; every value is a fraction of the entry price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    activation_offset: Decimal = Field(
        ge=0, lt=1, description="Favourable move past the entry before the stop starts trailing."
    )
    trail_distance: Decimal = Field(
        gt=0, lt=1, description="Distance of the stop behind the best price seen."
    )
    breakeven_trigger: Decimal = Field(
        gt=0, lt=1, description="Favourable move past the entry that moves the stop to break-even."
    )
    min_locked_profit: Decimal = Field(
        ge=0, lt=1, description="Profit the break-even move locks in (entry plus this)."
    )

    @model_validator(mode="after")
    def _locks_less_than_it_waited_for(self) -> Self:
        if self.min_locked_profit >= self.breakeven_trigger:
            raise ValueError("min_locked_profit must be below breakeven_trigger")
        return self


def _params(activation: str, trail: str, breakeven: str, locked: str) -> TrailParams:
    return TrailParams(
        activation_offset=Decimal(activation),
        trail_distance=Decimal(trail),
        breakeven_trigger=Decimal(breakeven),
        min_locked_profit=Decimal(locked),
    )


class _Trail:
    """The per-position memory: entry, side, settings, best price and the stop reached so far."""

    __slots__ = ("adopted", "best", "dirty", "entry", "level", "params", "side", "sign")

    def __init__(
        self, position: Position, params: TrailParams, best: Decimal | None, *, adopted: bool
    ) -> None:
        self.side = position.side
        self.sign = position.side.sign
        self.entry = position.entry_price
        self.adopted = adopted
        self.params = params
        self.best = best
        self.level: Decimal | None = None
        self.dirty = True  # the level must be recomputed (new best price or new entry)

    def follow(self, position: Position) -> None:
        """Take a changed entry price (an add-on fill); the level reached stays."""
        self.entry = position.entry_price
        self.dirty = True

    def update(self, tick: Tick, spec: InstrumentSpec) -> Decimal | None:
        """Fold one tick into the best price and return the stop level (``None``: not active)."""
        sign = self.sign
        price = tick.bid if sign > 0 else tick.ask
        if self.best is None or sign * (price - self.best) > 0:
            self.best, self.dirty = price, True
        if not self.dirty:
            return self.level  # the candidates depend only on the best price and the entry
        self.dirty = False
        excursion = sign * (self.best - self.entry)
        candidates: list[Decimal] = []
        if self.adopted or excursion >= self.params.activation_offset * self.entry:
            candidates.append(self.best - sign * self.params.trail_distance * self.entry)
        if excursion >= self.params.breakeven_trigger * self.entry:
            candidates.append(self.entry + sign * self.params.min_locked_profit * self.entry)
        for raw in candidates:
            if raw < spec.tick_sz:
                continue  # a trail deeper than the price itself protects nothing yet
            level = spec.protective_stop(self.side, raw)
            if self.level is None or sign * (level - self.level) > 0:
                self.level = level
        return self.level


class TrailingStop:
    """Per-regime trailing stop with activation, break-even move and locked profit."""

    class Settings(BaseModel):
        """The trailing parameters of each regime."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        by_regime: PerRegime[TrailParams] = Field(
            default=PerRegime[TrailParams](
                trending=_params("0.003", "0.002", "0.002", "0.0005"),
                ranging=_params("0.002", "0.0012", "0.0015", "0.0004"),
                choppy=_params("0.0015", "0.0008", "0.001", "0.0003"),
            ),
            description="Trailing parameters per regime, chosen with the regime the position "
            "was armed in.",
        )

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._trails: dict[str, dict[str, _Trail]] = {}  # inst_id -> pos_id -> memory

    def _arm(
        self, position: Position, regime: Regime, best: Decimal | None, *, adopted: bool = False
    ) -> _Trail:
        trails = self._trails.setdefault(position.inst_id, {})
        trail = trails.get(position.pos_id)
        if trail is not None and trail.side is position.side:
            trail.follow(position)
            return trail
        adopted = adopted or position.origin is PositionOrigin.ADOPTED
        trail = _Trail(position, self.settings.by_regime.of(regime), best, adopted=adopted)
        trails[position.pos_id] = trail
        return trail

    def _forget(self, inst_id: str, pos_id: str) -> None:
        self._trails.get(inst_id, {}).pop(pos_id, None)

    @hookimpl
    def on_fill(self, position: Position | None, ctx: HookContext) -> None:
        """Arm (or follow an add-on fill of) one of the host's own positions."""
        if position is not None:
            self._arm(position, ctx.regime, None)

    @hookimpl
    def on_position_drift(self, drift: Drift, ctx: HookContext) -> None:
        """Arm adopted positions from the mark; never answers (``drift_guard`` decides)."""
        if drift.kind is DriftKind.REMOVE or drift.exchange is None:
            self._forget(drift.inst_id, drift.pos_id)
        else:
            adopted = drift.kind is DriftKind.ADD
            self._arm(drift.exchange, ctx.regime, drift.mark_price, adopted=adopted)

    @hookimpl
    def on_position_closed(self, closed: ClosedPosition) -> None:
        """Forget a closed position."""
        self._forget(closed.position.inst_id, closed.position.pos_id)

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        """Tighten each active stop, or close where the executable price reached it."""
        answers: dict[str, ExitProposal] = {}
        trails = self._trails.get(tick.inst_id) or self._trails.setdefault(tick.inst_id, {})
        for position in positions:
            trail = trails.get(position.pos_id) or self._arm(position, ctx.regime, None)
            level = trail.update(tick, ctx.instrument)
            if level is None:
                continue
            sign = trail.sign
            price = tick.bid if sign > 0 else tick.ask
            if sign * (price - level) <= 0:
                answers[position.pos_id] = CloseNow(f"price {price} reached trailing stop {level}")
            elif position.stop is None or sign * (level - position.stop) > 0:
                answers[position.pos_id] = StopAt(level, f"trailing from best {trail.best}")
        if len(trails) > len(positions):  # every open position was armed above: one is gone
            self._forget_missing(trails, positions)
        return answers or None

    @staticmethod
    def _forget_missing(trails: dict[str, _Trail], positions: Sequence[Position]) -> None:
        """Drop the memory of this instrument's positions that are no longer open."""
        open_ids = {position.pos_id for position in positions}
        for pos_id in [pos_id for pos_id in trails if pos_id not in open_ids]:
            del trails[pos_id]
