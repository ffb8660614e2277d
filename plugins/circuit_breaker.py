"""circuit_breaker: stops new entries when results, the exchange or the host itself go wrong.

It trips (**open**: every entry signal vetoed) on a losing streak, on the UTC day's realised
loss, on the drawdown of realised PnL from its peak, on a burst of rejected or failed orders and
on exchange latency. After ``cooldown_seconds`` (a daily-loss trip: at least until the next UTC
midnight) it is **half-open**: entries go through, and the next closed position decides — no loss
closes the breaker, a loss opens it again. With ``flatten_when_open`` it also closes every open
position while open; otherwise positions keep their exits (entries only are stopped, which is
what reduce-only means for a strategy that only ever reduces through its exits).

Its state is a pure function of the journaled history (:mod:`plugins.breaker_state`), so a
restart that replays the journal through ``on_position_closed`` / ``on_order_rejected`` does not
reset a tripped breaker. Latency breaches are live measurements the host does not journal: after
a restart, latency is judged afresh.

The adaptive-load guard (``adapt_load``, the old bot's hard-coded ``ADAPT_LOAD``) is separate:
while the event loop lags or the exchange is slow beyond its thresholds, it lets through at most
one entry signal per ``min_seconds_between_signals`` and vetoes the rest.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from host import (
    ClosedPosition,
    CloseNow,
    ExitProposal,
    HookContext,
    OrderRejection,
    Position,
    Tick,
    Veto,
    hookimpl,
)
from plugins.breaker_state import (
    BreakerEvent,
    BreakerLimits,
    BreakerState,
    BreakerStatus,
    LatencyBreach,
    at_instant,
    event_time,
    fold,
)

DAY = timedelta(days=1)


class AdaptLoad(BaseModel):
    """When the host counts as loaded, and how few signals it then takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    loop_lag_ms: PositiveFloat = Field(
        default=100.0, description="Event-loop lag from which the host counts as loaded."
    )
    exchange_latency_ms: PositiveFloat = Field(
        default=500.0, description="Exchange round trip from which the host counts as loaded."
    )
    min_seconds_between_signals: PositiveFloat = Field(
        default=10.0, description="While loaded, at most one entry signal per this many seconds."
    )


class CircuitBreaker:
    """Closed → open → half-open → closed, from journaled history; plus the adaptive-load guard."""

    class Settings(BaseModel):
        """Trip thresholds, cool-down, and the adaptive-load guard."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        max_consecutive_losses: int = Field(
            default=4, ge=1, description="Losing positions in a row that trip the breaker."
        )
        max_daily_loss: Decimal = Field(
            default=Decimal(100),
            gt=0,
            description="Realised net loss (USDT) in one UTC day that trips the breaker.",
        )
        max_drawdown: Decimal = Field(
            default=Decimal(150),
            gt=0,
            description="Fall (USDT) of realised PnL from its peak, within history_hours, that "
            "trips the breaker.",
        )
        max_rejects: int = Field(
            default=5,
            ge=1,
            description="Rejected or failed orders within reject_window_seconds "
            "that trip the breaker.",
        )
        reject_window_seconds: PositiveFloat = Field(
            default=60.0, description="Window in which rejected orders are counted."
        )
        max_exchange_latency_ms: PositiveFloat = Field(
            default=2000.0, description="Exchange round trip that trips the breaker."
        )
        cooldown_seconds: PositiveFloat = Field(
            default=900.0, description="How long the breaker stays open before half-opening."
        )
        history_hours: PositiveFloat = Field(
            default=48.0,
            le=48,
            description="History the breaker judges: at least a day plus the cool-down, at most "
            "the 48 hours the host replays after a restart.",
        )
        flatten_when_open: bool = Field(
            default=False, description="Also close every open position while the breaker is open."
        )
        adapt_load: AdaptLoad = Field(default_factory=AdaptLoad)

        @model_validator(mode="after")
        def _history_covers_a_day_and_a_cooldown(self) -> Self:
            if timedelta(hours=self.history_hours) < DAY + timedelta(seconds=self.cooldown_seconds):
                raise ValueError("history_hours must cover 24 hours plus cooldown_seconds")
            return self

        def limits(self) -> BreakerLimits:
            """The thresholds in the units the fold needs."""
            return BreakerLimits(
                max_consecutive_losses=self.max_consecutive_losses,
                max_daily_loss=self.max_daily_loss,
                max_drawdown=self.max_drawdown,
                max_rejects=self.max_rejects,
                reject_window=timedelta(seconds=self.reject_window_seconds),
                cooldown=timedelta(seconds=self.cooldown_seconds),
                history=timedelta(hours=self.history_hours),
            )

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._limits = settings.limits()
        self._events: list[BreakerEvent] = []  # oldest first
        self._times: list[datetime] = []  # their instants, for bisecting the window
        self._heard: set[object] = set()
        self._folded: tuple[tuple[int, int, int], BreakerState] | None = None
        self._version = 0
        self._last_admitted_under_load: datetime | None = None

    def state(self, now: datetime) -> BreakerState:
        """The breaker's state at ``now``: :func:`breaker_state` of the history it heard.

        The fold is cached for as long as the same events are in the window, so a signal costs a
        bisection, not a pass over the whole history.
        """
        lo = bisect_left(self._times, now - self._limits.history)
        hi = bisect_right(self._times, now)
        key = (self._version, lo, hi)
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, fold(self._events[lo:hi], self._limits))
        return at_instant(self._folded[1], now)

    def _remember(self, event: BreakerEvent, identity: object) -> None:
        """Keep an event once (replays and live pushes may repeat it); forget expired ones."""
        if identity in self._heard:
            return
        self._heard.add(identity)
        at = event_time(event)
        index = bisect_right(self._times, at)
        self._times.insert(index, at)
        self._events.insert(index, event)
        expired = bisect_left(self._times, self._times[-1] - self._limits.history)
        for old in self._events[:expired]:
            self._heard.discard(_identity(old))
        del self._events[:expired], self._times[:expired]
        self._version += 1

    @hookimpl
    def on_position_closed(self, closed: ClosedPosition) -> None:
        """Count a realised result (live or replayed from the journal)."""
        self._remember(closed, _identity(closed))

    @hookimpl
    def on_order_rejected(self, rejection: OrderRejection) -> None:
        """Count a rejected or failed order (live or replayed from the journal)."""
        self._remember(rejection, _identity(rejection))

    @hookimpl
    def on_signal(self, ctx: HookContext) -> Veto | None:
        """Veto while open; under load, let through one signal per the configured interval."""
        self._watch_latency(ctx)
        state = self.state(ctx.now)
        if state.status is BreakerStatus.OPEN:
            return Veto(
                f"circuit breaker open until {state.until:%Y-%m-%d %H:%M:%S}Z: {state.reason}"
            )
        if not self._loaded(ctx):
            return None
        spacing = timedelta(seconds=self.settings.adapt_load.min_seconds_between_signals)
        last = self._last_admitted_under_load
        if last is not None and ctx.now - last < spacing:
            return Veto(f"adapt_load: host loaded, one signal per {spacing}")
        self._last_admitted_under_load = ctx.now
        return None

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        """With ``flatten_when_open``, close every position while the breaker is open."""
        if not self.settings.flatten_when_open:
            return None
        state = self.state(ctx.now)
        if state.status is not BreakerStatus.OPEN:
            return None
        return {p.pos_id: CloseNow(f"circuit breaker open: {state.reason}") for p in positions}

    def _watch_latency(self, ctx: HookContext) -> None:
        limit = timedelta(milliseconds=self.settings.max_exchange_latency_ms)
        if ctx.load is not None and ctx.load.exchange_latency >= limit:
            breach = LatencyBreach(ctx.now, ctx.load.exchange_latency)
            self._remember(breach, _identity(breach))

    def _loaded(self, ctx: HookContext) -> bool:
        guard = self.settings.adapt_load
        return ctx.load is not None and (
            ctx.load.loop_lag >= timedelta(milliseconds=guard.loop_lag_ms)
            or ctx.load.exchange_latency >= timedelta(milliseconds=guard.exchange_latency_ms)
        )


def _identity(event: BreakerEvent) -> object:
    if isinstance(event, ClosedPosition):
        return ("closed", event.position.pos_id, event.closed_at)
    if isinstance(event, OrderRejection):
        return ("rejected", event.cl_ord_id, event.at, event.code)
    return ("slow", event.at)
