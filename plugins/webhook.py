"""webhook: a generic JSON webhook notifier — the chosen events, POSTed to one URL.

It only decides: which events are worth a message (``events``), where to (``url``) and how long
a try may take (``timeout_seconds``). The host queues, retries, rate-limits and sends
(docs/notifications.md). The URL is a secret: it often carries the receiver's token, so it is a
``SecretStr``, redacted in ``scalphost plugins --settings`` and never logged by the host.

The body, one JSON object per event::

    {"event_id": "fill:BTC-USDT-SWAP:123", "kind": "fill", "at": "2025-01-06T08:00:01+00:00",
     "mode": "paper", "summary": "BTC-USDT-SWAP: buy 0.01 @ 97000.1", "details": {...}}

``event_id`` is also sent as the ``Idempotency-Key`` header: a receiver that has seen it drops
the repeat a retry may bring.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from host import EventKind, HostEvent, Notification, hookimpl


class Webhook:
    """POSTs the configured events as JSON to one URL."""

    class Settings(BaseModel):
        """Where to, which events, how long one try may take."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        url: SecretStr = Field(description="The receiver's http(s) URL (may hold a token).")
        events: tuple[EventKind, ...] = Field(
            default=tuple(EventKind), description="Which events to send (default: all)."
        )
        timeout_seconds: float = Field(
            default=10.0, gt=0, le=300, description="How long one delivery attempt may take."
        )

        @field_validator("url")
        @classmethod
        def _http_url(cls, url: SecretStr) -> SecretStr:
            parts = urlsplit(url.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http or https URL")  # the value is not echoed
            return url

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @hookimpl
    def notification_for(self, event: HostEvent, mode: str) -> Notification | None:
        """The event as a JSON object, if it is one of the configured kinds."""
        if event.kind not in self.settings.events:
            return None
        return Notification(
            url=self.settings.url.get_secret_value(),
            body={
                "event_id": event.event_id,
                "kind": str(event.kind),
                "at": event.at.isoformat(),
                "mode": mode,
                "summary": event.summary,
                "details": dict(event.details),
            },
            timeout_seconds=self.settings.timeout_seconds,
        )
