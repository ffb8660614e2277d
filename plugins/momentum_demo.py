"""momentum_demo: a signal generator that exists to exercise the host in paper mode.

**This is a demonstration, not alpha.** It has no edge that anyone has measured; it is here so
that ``scalphost run`` in paper mode places, fills, trails and closes positions end to end, and as
an example of a signal plugin. It refuses to start in live mode unless ``allow_live`` is set.

Rule: per instrument, when the mid price has moved at least ``threshold`` (a fraction) from the
oldest mid within the last ``lookback_seconds``, signal in the direction of the move, then stay
quiet on that instrument for ``cooldown_seconds``. Time is the exchange's tick time, and a tick
not newer than the last one seen is ignored, so duplicated or replayed ticks change nothing.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from host import HookContext, HostInfo, PositionSide, Signal, Tick, hookimpl


class _Window:
    """One instrument's recent mids and its last signal."""

    __slots__ = ("last_signal", "last_ts", "mids")

    def __init__(self) -> None:
        self.mids: deque[tuple[datetime, Decimal]] = deque()
        self.last_ts: datetime | None = None
        self.last_signal: datetime | None = None


class MomentumDemo:
    """Short-term momentum with a per-instrument cooldown. A demonstration, not alpha."""

    class Settings(BaseModel):
        """Window, threshold, cooldown, and the live-mode guard."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        lookback_seconds: PositiveFloat = Field(
            default=30.0, description="How far back the reference mid price may be."
        )
        threshold: Decimal = Field(
            default=Decimal("0.001"),
            gt=0,
            lt=1,
            description="Move of the mid, as a fraction of the reference mid, that signals.",
        )
        cooldown_seconds: PositiveFloat = Field(
            default=120.0, description="Quiet time on an instrument after a signal."
        )
        allow_live: bool = Field(
            default=False,
            description="Allow this demonstration to trade real money (it has no proven edge).",
        )

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._windows: dict[str, _Window] = {}

    @hookimpl
    def on_startup(self, host: HostInfo) -> None:
        """Refuse live trading unless explicitly allowed."""
        if host.mode == "live" and not self.settings.allow_live:
            raise RuntimeError(
                "momentum_demo is a demonstration, not alpha: disable it "
                "(plugins.momentum_demo.enabled: false) or set allow_live: true"
            )

    @hookimpl
    def generate_signals(self, tick: Tick, ctx: HookContext) -> list[Signal] | None:
        """Signal in the direction of a large enough move, at most once per cooldown."""
        window = self._windows.setdefault(tick.inst_id, _Window())
        if window.last_ts is not None and tick.ts <= window.last_ts:
            return None
        window.last_ts = tick.ts
        mid = (tick.bid + tick.ask) / 2
        window.mids.append((tick.ts, mid))
        horizon = tick.ts - timedelta(seconds=self.settings.lookback_seconds)
        while window.mids[0][0] < horizon:
            window.mids.popleft()
        reference = window.mids[0][1]
        move = mid - reference
        cooldown = timedelta(seconds=self.settings.cooldown_seconds)
        if abs(move) < self.settings.threshold * reference or (
            window.last_signal is not None and tick.ts - window.last_signal < cooldown
        ):
            return None
        window.last_signal = tick.ts
        side = PositionSide.LONG if move > 0 else PositionSide.SHORT
        reason = f"mid {reference} -> {mid} within {self.settings.lookback_seconds} s (demo)"
        return [Signal(tick.inst_id, side, ctx.now, "momentum_demo", reason, mid)]
