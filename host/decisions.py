"""What plugins may answer: small frozen decisions with Decimal prices, never ratios or floats.

The dispatch facade (:mod:`host.dispatch`) validates every answer before the host acts on it, so
a plugin that returns a float price or a naive datetime is treated as a failing plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

# --- entry -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Veto:
    """Block an entry signal; ``reason`` is journaled with the name of the plugin that vetoed."""

    reason: str


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """Where to rest the entry limit order; the host rounds ``price`` so it never pays more."""

    price: Decimal
    post_only: bool = True


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """On limit-order time-out: cancel the rest of the order."""

    reason: str


@dataclass(frozen=True, slots=True)
class RepriceOrder:
    """On limit-order time-out: move the rest of the order to ``price`` and wait again."""

    price: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class CrossSpread:
    """On limit-order time-out: take the rest of the order at the market."""

    reason: str


ExpiryAction = CancelOrder | RepriceOrder | CrossSpread

# --- exit ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StopAt:
    """Set the position's protective stop to ``price`` (the host only ever tightens it)."""

    price: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class CloseNow:
    """Close the position now."""

    reason: str


ExitProposal = StopAt | CloseNow

# --- reconciliation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Adopt:
    """Take a position found on the exchange under the host's care, protected at ``stop``."""

    stop: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Accept:
    """Accept the exchange's version of the position (size or entry changed, or it is gone)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Flatten:
    """Close the drifted position at the market instead of keeping it."""

    reason: str


DriftResolution = Adopt | Accept | Flatten

# --- notification -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notification:
    """A message a notifier plugin wants delivered: where to, what, and how long to wait.

    The host POSTs ``body`` as JSON to ``url`` with ``headers`` (plus ``Idempotency-Key``: the
    event's id), from its own queue, with its own retries and rate limit; the plugin does no I/O.
    ``url`` may hold a token (a bot's, a webhook's): the host never logs it.
    """

    url: str
    body: Mapping[str, object]
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 10.0
