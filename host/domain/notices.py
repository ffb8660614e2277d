"""What the host tells its notifier plugins about: one value per event worth a message.

A notifier plugin (hook ``notification_for``) decides whether an event is worth telling and to
whom; the host delivers. The event is plain data — a kind, an id, an instant, a one-line summary
and its details as exact text (money never as a float) — so a plugin can turn it into any
message format without reaching into the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    """The events a notifier hears of."""

    FILL = "fill"
    CLOSE = "close"
    BREAKER_TRIP = "breaker_trip"
    PLUGIN_OFF = "plugin_off"
    CONNECTION_LOST = "connection_lost"
    CONNECTION_RESTORED = "connection_restored"
    UNPROTECTED = "unprotected"
    GOLIVE_REFUSED = "golive_refused"


@dataclass(frozen=True, slots=True)
class HostEvent:
    """One event for the notifiers.

    ``event_id`` names the event, not the attempt: every retry of its delivery carries the same
    id, so a receiver that saw it already (a reply lost after it was processed) drops the repeat.
    It is built from the event's own identity where it has one (a fill's ``tradeId``), so the
    same fill heard twice is one id too. ``details`` holds the event's figures as text, money
    exactly as the journal has it.
    """

    kind: EventKind
    event_id: str
    at: datetime
    summary: str
    details: Mapping[str, str]
