"""bracket: a fixed take-profit and stop-loss around the entry price.

The simplest exit there is, and a second example of one: the stop-loss is proposed as the
position's protective stop (rounded to the tick toward the market, only if tighter than the
stop it already has), and the position is closed when the executable price (the bid for a long,
the ask for a short) reaches either side of the bracket. Both distances are fractions of the
entry price, so the bracket is the same at any price level and mirrors between longs and shorts.
Stateless. It can replace the trailing stop (disable ``trailing_stop``) or sit beside it — the
host keeps the more protective stop of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from host import CloseNow, ExitProposal, HookContext, Position, StopAt, Tick, hookimpl


class Bracket:
    """Take profit at +``take_profit``, stop out at -``stop_loss`` (fractions of the entry)."""

    class Settings(BaseModel):
        """Both sides of the bracket, as fractions of the entry price."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        take_profit: Decimal = Field(
            default=Decimal("0.004"), gt=0, lt=1, description="Profit that closes the position."
        )
        stop_loss: Decimal = Field(
            default=Decimal("0.003"), gt=0, lt=1, description="Loss at which the stop sits."
        )

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @hookimpl
    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        """Close at either side of the bracket; otherwise keep the stop-loss in place."""
        answers: dict[str, ExitProposal] = {}
        for position in positions:
            answer = self._judge(position, tick, ctx)
            if answer is not None:
                answers[position.pos_id] = answer
        return answers or None

    def _judge(self, position: Position, tick: Tick, ctx: HookContext) -> ExitProposal | None:
        sign, entry = position.side.sign, position.entry_price
        price = tick.bid if sign > 0 else tick.ask
        if sign * (price - entry) >= self.settings.take_profit * entry:
            return CloseNow(f"take profit: {price} is {self.settings.take_profit:%} past {entry}")
        stop = ctx.instrument.protective_stop(
            position.side, entry - sign * self.settings.stop_loss * entry
        )
        if sign * (price - stop) <= 0:
            return CloseNow(f"stop loss: {price} reached {stop}")
        if position.stop is None or sign * (stop - position.stop) > 0:
            return StopAt(stop, f"stop loss {self.settings.stop_loss:%} from {entry}")
        return None
