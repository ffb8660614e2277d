"""The Chandelier exit: a stop hung from the best price by a multiple of the market's own noise.

For a long the stop sits at the highest bid seen since the plugin started watching the position,
less ``k × volatility``; for a short at the lowest ask plus the same distance. The volatility is
the mean absolute change of the mid price from one tick to the next over the position's last
``window`` ticks, so the stop gives a jumpy market room and hugs a quiet one. ``min_distance``
(a fraction of the entry price) is the least room it ever gives: a frozen tape has no noise, and a
stop at the best price would close the position on the next tick.

Why each rule:

* **Warm-up.** No answer until ``window`` ticks of the position have been seen: a volatility from
  two ticks is noise itself. "No opinion" is safe, the position keeps the stop it has.
* **State per position**, keyed by ``pos_id`` and checked against the position's identity (side
  and entry time, the host journal's key), forgotten when the position closes: two positions on
  one instrument, or one after another with a reused ``pos_id``, never share a history.
* **Tick time only.** A tick no later than the last one counted is a repeat (the host may deliver
  one twice after a reconnect) and is not counted again. The wall clock is never read, so the same
  tape gives the same stops in a test, a paper session and live.
* **Only tighter, on the grid, clear of the market.** The level reached is kept and only ever moves
  toward the market; it is rounded to the tick toward the market; once the executable price (the
  bid for a long, the ask for a short) reaches it the answer is a close, never a stop at the price.
* **Decimal only.** Prices, the noise and the settings are ``Decimal``; no float touches money.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from host import (
    ClosedPosition,
    CloseNow,
    Drift,
    ExitProposal,
    HookContext,
    InstrumentSpec,
    Position,
    PositionSide,
    Regime,
    StopAt,
    Tick,
    hookimpl,
)
from pydantic import BaseModel, ConfigDict, Field


class RegimeFactors(BaseModel):
    """A factor on ``k`` per market regime (the regime the position was first seen in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trending: Decimal = Field(default=Decimal(1), gt=0, le=10, description="Factor when trending.")
    ranging: Decimal = Field(default=Decimal(1), gt=0, le=10, description="Factor when ranging.")
    choppy: Decimal = Field(default=Decimal(1), gt=0, le=10, description="Factor when choppy.")

    def of(self, regime: Regime) -> Decimal:
        """The factor for ``regime``."""
        factor: Decimal = getattr(self, regime.value)
        return factor


class ChandelierSettings(BaseModel):
    """How far the stop hangs from the best price, and how much tape measures the noise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    multiplier: Decimal = Field(
        default=Decimal(3),
        gt=0,
        le=20,
        description="k: the stop's distance from the best price, in units of the volatility.",
    )
    window: int = Field(
        default=30,
        ge=2,
        le=10_000,
        description="Ticks the volatility is measured over; also the warm-up before any answer.",
    )
    min_distance: Decimal = Field(
        default=Decimal("0.0005"),
        gt=0,
        le=Decimal("0.2"),
        description="Least distance from the best price, as a fraction of the entry price.",
    )
    regime_factors: RegimeFactors = Field(
        default_factory=RegimeFactors,
        description="Factor on the multiplier for the regime the position was first seen in.",
    )


class _Watch:
    """What the chandelier remembers of one position: its best price, noise and stop so far."""

    __slots__ = (
        "best",
        "changes",
        "dirty",
        "entry_time",
        "floor",
        "k",
        "last_mid",
        "last_ts",
        "level",
        "long",
        "side",
        "total",
    )

    def __init__(self, position: Position, k: Decimal, settings: ChandelierSettings) -> None:
        self.side = position.side
        self.long = position.side is PositionSide.LONG
        self.entry_time = position.entry_time
        self.k = k
        self.floor = settings.min_distance * position.entry_price
        self.changes: deque[Decimal] = deque(maxlen=settings.window - 1)
        self.total = Decimal(0)  # the sum of ``changes``, kept as they come and go
        self.last_ts: datetime | None = None
        self.last_mid: Decimal | None = None
        self.best: Decimal | None = None
        self.level: Decimal | None = None
        self.dirty = False  # the best price or the noise moved since the level was computed

    def is_for(self, position: Position) -> bool:
        """Whether ``position`` is the one watched, not a new one under a reused ``pos_id``."""
        return position.side is self.side and position.entry_time == self.entry_time

    def ahead(self, a: Decimal, b: Decimal) -> bool:
        """Whether price ``a`` is ahead of ``b`` for this position: higher for a long."""
        return a > b if self.long else a < b

    def observe(self, tick: Tick, mid: Decimal) -> None:
        """Fold a new tick into the best price and the noise; a repeated tick is not counted."""
        if self.last_ts is not None and tick.ts <= self.last_ts:
            return
        self.last_ts = tick.ts
        if self.last_mid is not None:
            change = abs(mid - self.last_mid)
            full = len(self.changes) == self.changes.maxlen
            if not full or change != self.changes[0]:  # else the sum stays as it is
                self.total += change - self.changes[0] if full else change
                self.dirty = True
            self.changes.append(change)
        self.last_mid = mid
        price = executable(tick, self.side)
        if self.best is None or self.ahead(price, self.best):
            self.best, self.dirty = price, True

    def stop(self, spec: InstrumentSpec) -> Decimal | None:
        """The tightest level reached so far, on the tick grid; ``None`` while warming up."""
        if not self.dirty or len(self.changes) != self.changes.maxlen or self.best is None:
            return self.level
        self.dirty = False
        distance = max(self.k * self.total / len(self.changes), self.floor)
        raw = self.best - distance if self.long else self.best + distance
        if raw < spec.tick_sz:
            return self.level  # a stop below one tick protects nothing yet
        level = spec.protective_stop(self.side, raw)
        if self.level is None or self.ahead(level, self.level):
            self.level = level
        return self.level


def executable(tick: Tick, side: PositionSide) -> Decimal:
    """The price the position could be closed at now: the bid for a long, the ask for a short."""
    return tick.bid if side is PositionSide.LONG else tick.ask


class Chandelier:
    """Chandelier exit: trail the best price since entry by ``k`` × the tick-to-tick noise."""

    Settings = ChandelierSettings

    def __init__(self, settings: ChandelierSettings) -> None:
        self.settings = settings
        self._watches: dict[str, _Watch] = {}  # pos_id -> memory, never per instrument

    @property
    def warmup_ticks(self) -> int:
        """Ticks of a position seen before the first answer (the conformance suites read it)."""
        return self.settings.window

    def _watch(self, position: Position, regime: Regime) -> _Watch:
        """The memory of ``position``, started afresh for a position not seen before."""
        watch = self._watches.get(position.pos_id)
        if watch is None or not watch.is_for(position):
            k = self.settings.multiplier * self.settings.regime_factors.of(regime)
            watch = self._watches[position.pos_id] = _Watch(position, k, self.settings)
        return watch

    @hookimpl
    def on_fill(self, position: Position | None, ctx: HookContext) -> None:
        """Start watching one of the host's own positions when its entry fills."""
        if position is not None:
            self._watch(position, ctx.regime)

    @hookimpl
    def on_position_drift(self, drift: Drift, ctx: HookContext) -> None:
        """Watch a position found on the exchange, forget one gone; ``drift_guard`` answers."""
        if drift.exchange is None:
            self._watches.pop(drift.pos_id, None)
        else:
            self._watch(drift.exchange, ctx.regime)

    @hookimpl
    def on_position_closed(self, closed: ClosedPosition) -> None:
        """Forget a closed position (only that one: a replayed old close may share a pos_id)."""
        watch = self._watches.get(closed.position.pos_id)
        if watch is not None and watch.is_for(closed.position):
            del self._watches[closed.position.pos_id]

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        """Tighten each warmed-up stop, or close where the executable price has reached it.

        A position not seen before (the host restarted) is watched from this tick on.
        """
        answers: dict[str, ExitProposal] = {}
        mid = (tick.bid + tick.ask) / 2
        for position in positions:
            watch = self._watch(position, ctx.regime)
            watch.observe(tick, mid)
            level = watch.stop(ctx.instrument)
            if level is None:
                continue
            price = executable(tick, position.side)
            if not watch.ahead(price, level):
                answers[position.pos_id] = CloseNow(f"price {price} reached chandelier {level}")
            elif position.stop is None or watch.ahead(level, position.stop):
                answers[position.pos_id] = StopAt(level, f"chandelier from best {watch.best}")
        return answers or None
