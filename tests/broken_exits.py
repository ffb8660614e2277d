"""Exit plugins with the bugs third-party plugins really had, and two correct patient trails.

Each broken one is correct in the cases the old suite generated (one position of one contract,
a few ticks, the real clock), which is why it used to pass.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from host import CloseNow, ExitProposal, HookContext, Position, StopAt, Tick, hookimpl

PERCENT = Decimal("0.01")


def executable(tick: Tick, position: Position) -> Decimal:
    return tick.bid if position.side.sign > 0 else tick.ask


def stop_or_close(
    tick: Tick, position: Position, ctx: HookContext, raw: Decimal, reason: str
) -> ExitProposal | None:
    """A close if the level is reached, a stop if it is tighter than the position's, else None."""
    sign, price = position.side.sign, executable(tick, position)
    level = ctx.instrument.protective_stop(position.side, raw)
    if sign * (price - level) <= 0:
        return CloseNow(f"{reason}: {price} reached {level}")
    if position.stop is None or sign * (level - position.stop) > 0:
        return StopAt(level, reason)
    return None


def answers(found: dict[str, ExitProposal | None]) -> dict[str, ExitProposal] | None:
    kept = {pos_id: answer for pos_id, answer in found.items() if answer is not None}
    return kept or None


class FloatStop:
    """Answers its stops in float: found on the first call, whatever the market."""

    @hookimpl
    def on_tick_exit(self, tick: Tick, positions: Sequence[Position]) -> dict[str, StopAt]:
        return {p.pos_id: StopAt(float(tick.bid) / 2, "float") for p in positions}  # type: ignore[arg-type]


class LoosensBigPositions:
    """A 1 % stop-loss; for more than one contract it re-anchors on the price, without the
    tighter-only check, so it loosens as soon as the price turns."""

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        found: dict[str, ExitProposal | None] = {}
        for p in positions:
            if p.size > 1:
                price = executable(tick, p)
                level = ctx.instrument.protective_stop(
                    p.side, price - p.side.sign * price * PERCENT
                )
                found[p.pos_id] = StopAt(level, "1 % from the price")
            else:
                raw = p.entry_price - p.side.sign * p.entry_price * PERCENT
                found[p.pos_id] = stop_or_close(tick, p, ctx, raw, "1 % stop-loss")
        return answers(found)


class RemembersByInstrument:
    """Trails 0.5 % of entry behind the best price, remembered per instrument, not per position."""

    def __init__(self) -> None:
        self.best: dict[str, Decimal] = {}

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        found: dict[str, ExitProposal | None] = {}
        for p in positions:
            price, sign = executable(tick, p), p.side.sign
            best = self.best.get(tick.inst_id, price)
            best = price if sign * (price - best) > 0 else best
            self.best[tick.inst_id] = best
            raw = best - sign * p.entry_price * PERCENT / 2
            found[p.pos_id] = stop_or_close(tick, p, ctx, raw, f"trailing from {best}")
        return answers(found)


class JudgesByTheFirst:
    """A 1 % stop-loss computed from the first position's entry, for every position."""

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        entry = positions[0].entry_price
        return answers(
            {
                p.pos_id: stop_or_close(
                    tick, p, ctx, entry - p.side.sign * entry * PERCENT, "1 % stop-loss"
                )
                for p in positions
            }
        )


class HoldsByTheWallClock:
    """Closes a position 15 minutes after it first saw it, timed with ``time.time()``."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    @hookimpl
    def on_tick_exit(self, positions: Sequence[Position]) -> dict[str, ExitProposal] | None:
        now = time.time()
        found: dict[str, ExitProposal | None] = {}
        for p in positions:
            first = self.seen.setdefault(p.pos_id, now)
            found[p.pos_id] = CloseNow("held 15 minutes") if now - first >= 900 else None
        return answers(found)


class SaysHowLongByTheWallClock:
    """A correct 1 % stop-loss whose reason says how long it has held, by naive ``now()``."""

    def __init__(self) -> None:
        self.seen: dict[str, datetime] = {}

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        now = datetime.now()  # noqa: DTZ005 - the bug under test
        found: dict[str, ExitProposal | None] = {}
        for p in positions:
            held = now - self.seen.setdefault(p.pos_id, now)
            raw = p.entry_price - p.side.sign * p.entry_price * PERCENT
            found[p.pos_id] = stop_or_close(tick, p, ctx, raw, f"1 % stop-loss, held {held}")
        return answers(found)


class _PatientTrail:
    """A correct trail 0.3 % of entry behind the best price, once a position has seen
    ``window`` distinct ticks (a repeated tick is not counted twice)."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.heard: dict[str, tuple[int, datetime, Decimal]] = {}  # pos_id -> count, last, best

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        found: dict[str, ExitProposal | None] = {}
        for p in positions:
            price, sign = executable(tick, p), p.side.sign
            count, last, best = self.heard.get(p.pos_id, (0, tick.ts, price))
            if count == 0 or tick.ts > last:
                count += 1
            best = price if sign * (price - best) > 0 else best
            self.heard[p.pos_id] = (count, tick.ts, best)
            if count >= self.window:
                raw = best - sign * p.entry_price * Decimal("0.003")
                found[p.pos_id] = stop_or_close(tick, p, ctx, raw, f"trailing from {best}")
        return answers(found)


class PatientTrail(_PatientTrail):
    """The patient trail with its warm-up in its settings, where the suite can read it."""

    class Settings(BaseModel):
        window: int = 200

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.window)


class SecretlyPatientTrail(_PatientTrail):
    """The same trail with its 200-tick warm-up hidden in the code."""

    def __init__(self) -> None:
        super().__init__(200)


class FailsOnBigPositions:
    """Raises for any position of more than one contract (a unit mix-up in its sizing)."""

    @hookimpl
    def on_tick_exit(self, positions: Sequence[Position]) -> None:
        for p in positions:
            if p.size > 1:
                raise ValueError(f"cannot size a stop for {p.size} contracts")
