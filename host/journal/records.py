"""What the journal records and what it hands back at restart.

The domain's own value objects (:class:`~host.domain.Fill`, :class:`~host.domain.ClosedPosition`)
are records as they are. The classes here add what only the host knows at the moment of writing:
why an order was sent, who vetoed a signal, which plugin moved a stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from host.domain import (
    ClosedPosition,
    Fill,
    Order,
    OrderRejection,
    OrderState,
    Position,
    Regime,
    Signal,
)


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """A signal and what became of it: ``vetoed_by`` names the vetoing plugin, else it passed."""

    signal: Signal
    regime: Regime | None = None
    vetoed_by: str | None = None
    veto_reason: str | None = None


class IntentPurpose(StrEnum):
    """Why an order is sent: to open a position, to close one, or as its exchange-side stop."""

    ENTRY = "entry"
    CLOSE = "close"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order about to be sent, keyed by its ``clOrdId``; journal it durably *before* sending.

    ``pos_id`` names the position a close or stop order is for (``None`` for an entry).
    """

    order: Order
    purpose: IntentPurpose
    reason: str
    pos_id: str | None = None


class Outcome(StrEnum):
    """What happened to an intent.

    *acked* / *rejected*: the exchange answered. *unknown*: the request went out and no answer
    came back (time-out, dropped connection) — the order may or may not exist. *resolved*: an
    unknown was settled by querying the ``clOrdId``; ``exchange_state`` then says what the
    exchange holds, ``None`` meaning it never placed the order.
    """

    ACKED = "acked"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class IntentOutcome:
    """One step in an intent's life; the last one recorded is its current outcome."""

    cl_ord_id: str
    outcome: Outcome
    at: datetime
    ord_id: str | None = None
    exchange_state: OrderState | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PositionOpened:
    """A position the host now holds, own or adopted (``position.origin``).

    When ``position.stop`` is set, it is journaled in the same transaction as the first stop
    level, credited to ``stop_by`` for ``stop_reason``: a position never exists in the journal
    without the stop it was opened with.
    """

    position: Position
    regime: Regime | None = None
    entry_cl_ord_id: str | None = None
    stop_by: str = ""
    stop_reason: str = ""


@dataclass(frozen=True, slots=True)
class PositionChanged:
    """The exchange changed an open position's size, entry or side (applied by reconciliation)."""

    position: Position


@dataclass(frozen=True, slots=True)
class StopMove:
    """A plugin moved the protective stop of the open position ``pos_id``."""

    pos_id: str
    stop: Decimal
    plugin: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BalanceSnapshot:
    """The account's equity and available balance in one currency at ``at``."""

    currency: str
    equity: Decimal
    available: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Something that went wrong, for the post-mortem: where and what."""

    at: datetime
    source: str
    message: str


@dataclass(frozen=True, slots=True)
class BreakerTrip:
    """The circuit breaker tripped: entries blocked until ``until`` (``None``: until reset)."""

    at: datetime
    plugin: str
    reason: str
    until: datetime | None = None


Record = (
    SignalRecord
    | OrderIntent
    | IntentOutcome
    | Fill
    | PositionOpened
    | PositionChanged
    | StopMove
    | ClosedPosition
    | BalanceSnapshot
    | ErrorEvent
    | BreakerTrip
    | OrderRejection
)
"""Everything :meth:`host.journal.Journal.write` and :meth:`~host.journal.Journal.commit` take."""


# --- what a restart reads back ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """An open position as journaled: ``position.stop`` is its last stop level.

    ``stop_by`` / ``stop_reason`` say which plugin set that stop and why (``None`` when the
    position has no stop, e.g. while it is being flattened).
    """

    position: Position
    regime: Regime | None
    stop_by: str | None
    stop_reason: str | None


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """What :func:`host.journal.queries.integrity` found; empty ``problems`` means consistent."""

    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the journal passed every check."""
        return not self.problems
