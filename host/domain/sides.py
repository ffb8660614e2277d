"""Order sides and position sides, and the one mapping between them."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """The side of an order, as OKX spells it."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The side that reduces what this side opened."""
        return Side.SELL if self is Side.BUY else Side.BUY


class PositionSide(StrEnum):
    """The direction of a position (OKX net mode encodes it as the sign of ``pos``)."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for a long, -1 for a short: the factor applied to a price move to get PnL."""
        return 1 if self is PositionSide.LONG else -1

    @property
    def entry_side(self) -> Side:
        """The order side that opens or adds to this position."""
        return Side.BUY if self is PositionSide.LONG else Side.SELL

    @property
    def opposite(self) -> PositionSide:
        """The mirrored direction."""
        return PositionSide.SHORT if self is PositionSide.LONG else PositionSide.LONG
