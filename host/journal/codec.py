"""How Decimal money and UTC instants are stored: exact text, never REAL, never naive.

SQLite has no decimal type, and a REAL column would silently turn ``0.1`` into a binary fraction,
the very rounding the host exists to avoid. Money is therefore stored as ``str(Decimal)``, which
:class:`~decimal.Decimal` parses back to the same value, digits and exponent included.

Instants are stored as ISO 8601 text in UTC with microseconds and an explicit ``+00:00`` offset:
always the same width, so SQL's text comparison orders them in time (``closed_at >= ?`` is a
time comparison), and no reader can mistake them for local time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from host.clock import NaiveDatetimeError, ensure_utc
from host.money import parse_decimal


class StoredValueError(ValueError):
    """A value read from the journal is not what the schema promises (a corrupted row)."""


def money_text(value: Decimal) -> str:
    """Store a finite Decimal as its exact text."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"money must be a finite Decimal, got {value!r}")
    return str(value)


def optional_money_text(value: Decimal | None) -> str | None:
    """Like :func:`money_text`, keeping ``None`` as SQL NULL."""
    return None if value is None else money_text(value)


def money(text: object) -> Decimal:
    """Read money stored by :func:`money_text`."""
    if not isinstance(text, str):
        raise StoredValueError(f"money stored as {type(text).__name__}, not text: {text!r}")
    return parse_decimal(text)


def optional_money(text: object) -> Decimal | None:
    """Read money that may be NULL."""
    return None if text is None else money(text)


def time_text(moment: datetime) -> str:
    """Store an aware instant as fixed-width UTC ISO text; a naive datetime is refused."""
    return ensure_utc(moment).isoformat(timespec="microseconds")


def optional_time_text(moment: datetime | None) -> str | None:
    """Like :func:`time_text`, keeping ``None`` as SQL NULL."""
    return None if moment is None else time_text(moment)


def instant(text: object) -> datetime:
    """Read an instant stored by :func:`time_text`, as an aware UTC datetime."""
    if not isinstance(text, str):
        raise StoredValueError(f"time stored as {type(text).__name__}, not text: {text!r}")
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except (ValueError, NaiveDatetimeError) as error:
        raise StoredValueError(f"not an aware ISO instant: {text!r}") from error
