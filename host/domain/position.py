"""Positions, the drift between the registry and the exchange, and closed-position records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from host.domain.pnl import PnL
from host.domain.sides import PositionSide


class PositionOrigin(StrEnum):
    """Whether the host opened the position or found it on the exchange (``drift add``)."""

    OWN = "own"
    ADOPTED = "adopted"


@dataclass(frozen=True, slots=True)
class Position:
    """An open position.

    The exchange owns ``side``, ``size``, ``entry_price``, ``entry_time`` (OKX ``cTime``) and
    ``updated_at`` (``uTime``). The host owns ``origin`` and ``stop``, the protective level the exit
    plugins have set so far — journaled, so a restart never loosens it.
    """

    pos_id: str
    inst_id: str
    side: PositionSide
    size: Decimal
    entry_price: Decimal
    entry_time: datetime
    updated_at: datetime
    origin: PositionOrigin = PositionOrigin.OWN
    stop: Decimal | None = None

    @property
    def exchange_state(self) -> tuple[PositionSide, Decimal, Decimal]:
        """The fields whose disagreement with the exchange is drift."""
        return (self.side, self.size, self.entry_price)


class DriftKind(StrEnum):
    """How the registry disagrees with an exchange snapshot."""

    ADD = "add"
    REMOVE = "remove"
    CHANGE = "change"


@dataclass(frozen=True, slots=True)
class Drift:
    """One disagreement between the registry and the exchange, which is the source of truth.

    ``exchange`` is the position as the exchange reports it (``None`` when it is gone), and
    ``known`` the registry's version (``None`` when the host never knew it). ``mark_price`` is the
    current mark, so an adopted position's stop is placed from the market, not from "now".
    """

    kind: DriftKind
    pos_id: str
    inst_id: str
    exchange: Position | None
    known: Position | None
    mark_price: Decimal | None = None

    @property
    def acceptable_as_is(self) -> bool:
        """Whether taking the exchange's version keeps the position protected.

        True for a *remove* (nothing left to protect) and for a *change* on the same side whose
        known stop carries over. A flipped side would leave the stop on the wrong side of the
        market, and an *add* has no stop at all, so those must be adopted or flattened.
        """
        if self.kind is DriftKind.REMOVE:
            return True
        return (
            self.kind is DriftKind.CHANGE
            and self.known is not None
            and self.exchange is not None
            and self.known.stop is not None
            and self.known.side is self.exchange.side
        )


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A position that is flat now, with the PnL OKX would report for it."""

    position: Position
    exit_price: Decimal
    closed_at: datetime
    pnl: PnL
    reason: str
