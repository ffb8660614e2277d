"""The one way a notification leaves the host: an HTTP POST of JSON, with its own time-out.

The host owns the transport so that no plugin does I/O. What comes back is only whether to try
again: a 2xx is delivered; a 408, 429 or 5xx, a time-out or a refused connection is worth
another attempt; any other 4xx is refused for good (the receiver will never take it). The
failure is described by its status or exception type alone: an aiohttp error's text may carry
the URL, and a webhook URL may carry a token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

import aiohttp

from host.decisions import Notification

RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""4xx answers that mean "not now" rather than "never"."""

IDEMPOTENCY_HEADER = "Idempotency-Key"
"""Carries the event's id on every attempt, so a receiver can drop a repeat."""


class Verdict(Enum):
    """What one attempt came to."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt's verdict and a secret-free description (``HTTP 500``, ``TimeoutError``)."""

    verdict: Verdict
    detail: str


Transport = Callable[[Notification, str], Awaitable[Attempt]]
"""Sends one notification for the event with the given id; never raises for a failed send."""


class WebhookTransport:
    """POSTs notifications as JSON over one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __call__(self, notification: Notification, event_id: str) -> Attempt:
        """One attempt, bounded by the notification's own time-out."""
        headers = {
            "Content-Type": "application/json",
            **notification.headers,
            IDEMPOTENCY_HEADER: event_id,
        }
        try:
            data = json.dumps(notification.body, default=str)
        except ValueError:  # a body that refers to itself: no attempt will ever send it
            return Attempt(Verdict.REFUSED, "body is not JSON")
        try:
            async with self._session.post(
                notification.url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=notification.timeout_seconds),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as failed:
            return Attempt(Verdict.RETRY, type(failed).__name__)
        if 200 <= status < 300:
            return Attempt(Verdict.DELIVERED, f"HTTP {status}")
        if status >= 500 or status in RETRYABLE_STATUSES:
            return Attempt(Verdict.RETRY, f"HTTP {status}")
        return Attempt(Verdict.REFUSED, f"HTTP {status}")
