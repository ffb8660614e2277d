"""Logging to stderr, with every known secret redacted before a record is written.

Redaction sits in a filter on the host's handler rather than in each log call, because secrets
reach logs by accident: an exception from an HTTP client quoting a signed header, a repr of a
request. Base64 forms are redacted too, since credentials travel base64-encoded (Basic auth,
signed payloads) more often than in the clear.
"""

from __future__ import annotations

import base64
import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.highlighter import NullHighlighter
from rich.logging import RichHandler

from host.clock import Clock, LiveClock

REDACTED = "**********"

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MIN_ENCODED_LENGTH = 8
"""Shorter base64 fragments would match innocent text; the raw secret is redacted at any length."""


class SecretRedactingFilter(logging.Filter):
    """Replaces each known secret, raw or base64-encoded, with ``**********`` in a record.

    The message is formatted here (and the args dropped) so a secret passed as an argument is
    caught too; the traceback and stack text are formatted and redacted here for the same reason.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        needles = {form for secret in secrets if secret for form in _forms(secret)}
        self._needles = sorted(needles, key=len, reverse=True)
        self._formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret form replaced."""
        for needle in self._needles:
            text = text.replace(needle, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drop it."""
        record.msg = self.redact(_message(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class RepeatLimitingFilter(logging.Filter):
    """Lets ``burst`` records of one kind through per ``window_seconds``, then counts the rest.

    A kind is the logger, the level and the message *template* (``record.msg`` before its
    arguments): 5,000 malformed frames are one kind, logged ten times and then summed up in the
    next record of that kind once the window has passed ("… 4,990 more like this suppressed").
    A flood of one warning must not fill the disk or bury the line that matters. Critical
    records always pass. Time is the injected clock's monotonic time.
    """

    MAX_KINDS = 1000
    """Kinds tracked at once; past it the table starts afresh (templates are few in practice)."""

    def __init__(self, clock: Clock, burst: int = 10, window_seconds: float = 60.0) -> None:
        super().__init__()
        self._clock = clock
        self._burst = burst
        self._window = window_seconds
        self._kinds: dict[tuple[str, int, object], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass or count ``record``; a passing record reports what was suppressed before it."""
        if record.levelno >= logging.CRITICAL:
            return True
        now = self._clock.monotonic()
        key = (record.name, record.levelno, record.msg)
        window = self._kinds.get(key)
        if window is None or now - window.started >= self._window:
            if len(self._kinds) >= self.MAX_KINDS:
                self._kinds.clear()
            self._kinds[key] = _Window(now)
            if window is not None and window.suppressed:
                record.msg = f"{_message(record)} ({window.suppressed} more like this suppressed)"
                record.args = None
            return True
        window.passed += 1
        if window.passed <= self._burst:
            return True
        window.suppressed += 1
        return False


@dataclass(slots=True)
class _Window:
    started: float
    passed: int = 1
    suppressed: int = 0


def configure_logging(
    level: str, secrets: Iterable[str], console: Console | None = None
) -> logging.Handler:
    """Send log records at ``level`` and above to stderr, with ``secrets`` redacted.

    With ``console``, records go through that rich console instead, so a progress bar drawn on
    it stays whole below them. Replaces the handler installed by an earlier call, so
    reconfiguring never duplicates lines. Repeated records are rate-limited
    (:class:`RepeatLimitingFilter`). Timestamps are UTC, like every other time in the host.
    Returns the installed handler.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _HostHandler | _HostConsoleHandler)]:
        root.removeHandler(old)
    handler: logging.Handler = (
        _HostHandler(sys.stderr) if console is None else _HostConsoleHandler(console)
    )
    formatter = logging.Formatter(_FORMAT)
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    handler.setFormatter(formatter)
    handler.addFilter(RepeatLimitingFilter(LiveClock()))
    handler.addFilter(SecretRedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    return handler


class _HostHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure_logging` owns, told apart from pytest's or a library's."""


class _HostConsoleHandler(RichHandler):
    """:class:`_HostHandler` on a rich console: the same line, printed around a live display."""

    def __init__(self, console: Console) -> None:
        super().__init__(
            console=console,
            show_time=False,
            show_level=False,
            show_path=False,
            markup=False,
            highlighter=NullHighlighter(),
            rich_tracebacks=False,
        )


def _message(record: logging.LogRecord) -> str:
    """The formatted message; a call with mismatched args must not crash the caller."""
    try:
        return record.getMessage()
    except (TypeError, ValueError):
        return f"unformattable log message {record.msg!r} with args {record.args!r}"


def _forms(secret: str) -> set[str]:
    """The secret itself and what of its base64 encodings is recognisable inside other text."""
    raw = secret.encode()
    forms = {secret, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + raw).decode()
        # Keep only the 4-character groups made of secret bytes alone: a group shared with the
        # preceding or following bytes encodes differently in every context.
        start = 4 if shift else 0
        end = (shift + len(raw)) // 3 * 4
        core = encoded[start:end]
        if len(core) >= _MIN_ENCODED_LENGTH:
            forms.update({core, core.replace("+", "-").replace("/", "_")})
    return forms
