"""The circuit breaker's state as a pure function of history and the clock.

:func:`breaker_state` folds the ordered history — closed positions, order rejections and latency
breaches — over the window ``[now - history, now]`` and returns closed, open (until when, and
why) or half-open. Nothing else goes in, so the same history and instant always give the same
state: a host that replays its journal after a restart (see ``on_position_closed`` in the hook
contract) finds the breaker exactly as the uninterrupted run would have it.

The fold, event by event, oldest first:

* an *open* breaker whose cool-down has passed becomes *half-open*;
* a closed position updates the losing streak, the UTC day's realised PnL and the drawdown of
  realised PnL from its peak; a rejection enters the reject window; a latency breach trips;
* a *closed* breaker trips (becomes *open*) when a limit is reached; a *half-open* one closes on
  the next closed position if it did not lose money and trips again if it did (or if rejections
  pile up). A trip restarts the losing streak and the drawdown peak, so the breaker judges fresh
  results after its cool-down; the day's loss is the day's, and a daily-loss trip lasts at least
  until the next UTC midnight.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from host import ClosedPosition, OrderRejection


@dataclass(frozen=True, slots=True)
class LatencyBreach:
    """The exchange answered slower than the breaker's limit at ``at`` (live, never journaled)."""

    at: datetime
    latency: timedelta


BreakerEvent = ClosedPosition | OrderRejection | LatencyBreach


def event_time(event: BreakerEvent) -> datetime:
    """When an event happened, for ordering the history."""
    return event.closed_at if isinstance(event, ClosedPosition) else event.at


class BreakerStatus(StrEnum):
    """Closed lets entries through; open vetoes them; half-open lets them through on probation."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class BreakerLimits:
    """The thresholds the fold applies (the plugin's settings, in the units the fold needs)."""

    max_consecutive_losses: int
    max_daily_loss: Decimal
    max_drawdown: Decimal
    max_rejects: int
    reject_window: timedelta
    cooldown: timedelta
    history: timedelta


@dataclass(frozen=True, slots=True)
class BreakerState:
    """The breaker at one instant: its status, why it last tripped, when it half-opens."""

    status: BreakerStatus
    reason: str = ""
    until: datetime | None = None


CLOSED = BreakerState(BreakerStatus.CLOSED)


class _Fold:
    """The running totals of one fold; lives only inside :func:`breaker_state`."""

    def __init__(self, limits: BreakerLimits) -> None:
        self.limits = limits
        self.state = CLOSED
        self.streak = 0
        self.day: date | None = None
        self.day_pnl = Decimal(0)
        self.cumulative = Decimal(0)
        self.peak = Decimal(0)
        self.rejects: deque[datetime] = deque()

    def advance(self, now: datetime) -> None:
        self.state = at_instant(self.state, now)

    def trip(self, at: datetime, reason: str, *, until_midnight: bool = False) -> None:
        until = at + self.limits.cooldown
        if until_midnight:
            midnight = datetime.combine(
                at.date() + timedelta(days=1), datetime.min.time(), at.tzinfo
            )
            until = max(until, midnight)
        self.state = BreakerState(BreakerStatus.OPEN, reason, until)
        self.streak = 0
        self.peak = self.cumulative

    def closed(self, position: ClosedPosition) -> None:
        net, at = position.pnl.net, position.closed_at
        self.streak = self.streak + 1 if net < 0 else 0
        if at.date() != self.day:
            self.day, self.day_pnl = at.date(), Decimal(0)
        self.day_pnl += net
        self.cumulative += net
        self.peak = max(self.peak, self.cumulative)
        status = self.state.status
        if status is BreakerStatus.HALF_OPEN:
            if net >= 0:
                self.state, self.streak = CLOSED, 0
            else:
                self.trip(at, f"lost {net} on probation after: {self.state.reason}")
        elif status is BreakerStatus.CLOSED:
            self._judge(at)

    def _judge(self, at: datetime) -> None:
        limits = self.limits
        if self.day_pnl <= -limits.max_daily_loss:
            self.trip(
                at,
                f"daily loss {self.day_pnl} reached -{limits.max_daily_loss}",
                until_midnight=True,
            )
        elif self.streak >= limits.max_consecutive_losses:
            self.trip(at, f"{self.streak} losses in a row")
        elif self.peak - self.cumulative >= limits.max_drawdown:
            self.trip(
                at,
                f"drawdown {self.peak - self.cumulative} from peak reached {limits.max_drawdown}",
            )

    def rejected(self, at: datetime) -> None:
        self.rejects.append(at)
        while self.rejects[0] <= at - self.limits.reject_window:
            self.rejects.popleft()
        if (
            self.state.status is not BreakerStatus.OPEN
            and len(self.rejects) >= self.limits.max_rejects
        ):
            self.trip(at, f"{len(self.rejects)} rejected orders within {self.limits.reject_window}")

    def slow(self, breach: LatencyBreach) -> None:
        if self.state.status is not BreakerStatus.OPEN:
            self.trip(breach.at, f"exchange latency {breach.latency}")


def fold(window: Iterable[BreakerEvent], limits: BreakerLimits) -> BreakerState:
    """The state right after the last of ``window``'s events (oldest first, all in the window)."""
    state = _Fold(limits)
    for event in window:
        at = event_time(event)
        state.advance(at)
        if isinstance(event, ClosedPosition):
            state.closed(event)
        elif isinstance(event, OrderRejection):
            state.rejected(at)
        else:
            state.slow(event)
    return state.state


def at_instant(state: BreakerState, now: datetime) -> BreakerState:
    """``state`` seen at ``now``: an open breaker whose cool-down has passed is half-open."""
    if state.status is BreakerStatus.OPEN and state.until is not None and now >= state.until:
        return BreakerState(BreakerStatus.HALF_OPEN, state.reason, state.until)
    return state


def breaker_state(
    events: Iterable[BreakerEvent], now: datetime, limits: BreakerLimits
) -> BreakerState:
    """The breaker's state at ``now`` after the events of ``[now - history, now]``, oldest first."""
    start = now - limits.history
    window = [e for e in sorted(events, key=event_time) if start <= event_time(e) <= now]
    return at_instant(fold(window, limits), now)
