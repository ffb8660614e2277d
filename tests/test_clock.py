"""Properties of ``host.clock``: every instant is aware UTC, and OKX timestamps convert exactly.

Proves that:

* ``from_okx_ms`` turns any OKX millisecond string into an aware UTC datetime at exactly that
  many milliseconds after the epoch (checked with :func:`calendar.timegm`), round-trips through
  ``to_okx_ms``, and refuses anything that is not a string of ASCII digits;
* ``to_okx_ms`` / ``to_okx_iso`` truncate (never round up) to the millisecond, from any offset;
* ``ensure_utc`` refuses naive datetimes and maps any aware one (fixed offsets and IANA zones) to
  the same instant in UTC;
* ``ManualClock`` moves only forward, by exactly what it was told, and ``monotonic`` follows it;
  ``LiveClock`` reads aware UTC wall time.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import NOW

from host.clock import (
    EPOCH,
    Clock,
    LiveClock,
    ManualClock,
    NaiveDatetimeError,
    ensure_utc,
    from_okx_ms,
    is_aware_utc,
    to_okx_iso,
    to_okx_ms,
)

MS = timedelta(milliseconds=1)
LAST_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - EPOCH) // MS
OKX_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

fixed_offsets = st.builds(
    timezone,
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)
# Naive bounds (hypothesis applies them to local time), kept a day inside 1970..9999 so that
# converting to UTC can neither fall before the epoch nor overflow.
aware = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.one_of(fixed_offsets, st.timezones()),
    allow_imaginary=False,
)
naive = st.datetimes()


def ms_since_epoch(moment: datetime) -> int:
    """Independent oracle: whole milliseconds of a UTC datetime since 1970 via calendar."""
    return calendar.timegm(moment.utctimetuple()) * 1000 + moment.microsecond // 1000


@given(st.integers(0, LAST_MS))
def test_okx_ms_is_aware_utc_and_round_trips(millis: int) -> None:
    moment = from_okx_ms(str(millis))
    assert moment.tzinfo is UTC
    assert is_aware_utc(moment)
    assert moment.microsecond % 1000 == 0
    assert ms_since_epoch(moment) == millis
    assert to_okx_ms(moment) == str(millis)


@given(st.text(alphabet=st.characters(codec="ascii")).filter(lambda t: not t.isdigit()))
def test_from_okx_ms_refuses_non_digit_text(text: str) -> None:
    with pytest.raises(ValueError, match="not an OKX millisecond timestamp"):
        from_okx_ms(text)


@given(aware)
def test_to_okx_ms_truncates_to_the_millisecond(moment: datetime) -> None:
    back = from_okx_ms(to_okx_ms(moment))
    assert timedelta(0) <= moment - back < MS


@given(aware)
def test_to_okx_iso_is_okx_format_and_truncates(moment: datetime) -> None:
    text = to_okx_iso(moment)
    assert OKX_ISO.fullmatch(text)
    back = datetime.fromisoformat(text)
    assert back.utcoffset() == timedelta(0)
    assert timedelta(0) <= moment - back < MS
    assert text == to_okx_iso(from_okx_ms(to_okx_ms(moment)))


def test_known_okx_timestamps() -> None:
    # OKX's REST authentication: the signing timestamp looks like 2020-12-08T09:08:57.715Z.
    moment = datetime(2020, 12, 8, 9, 8, 57, 715999, tzinfo=UTC)
    assert to_okx_iso(moment) == "2020-12-08T09:08:57.715Z"
    assert to_okx_iso(moment.astimezone(timezone(timedelta(hours=8)))) == (
        "2020-12-08T09:08:57.715Z"
    )
    assert to_okx_ms(moment) == "1607418537715"
    assert from_okx_ms("1607418537715") == datetime(2020, 12, 8, 9, 8, 57, 715000, tzinfo=UTC)
    assert from_okx_ms("0") == EPOCH


@given(aware)
def test_ensure_utc_keeps_the_instant_and_uses_utc(moment: datetime) -> None:
    result = ensure_utc(moment)
    assert result.tzinfo is UTC
    assert is_aware_utc(result)
    # Subtraction compares instants even where == is defined as False (PEP 495 folds).
    assert result - moment == timedelta(0)


@given(naive)
def test_naive_datetimes_are_refused(moment: datetime) -> None:
    assert not is_aware_utc(moment)
    with pytest.raises(NaiveDatetimeError):
        ensure_utc(moment)
    with pytest.raises(NaiveDatetimeError):
        to_okx_ms(moment)
    with pytest.raises(NaiveDatetimeError):
        to_okx_iso(moment)
    with pytest.raises(NaiveDatetimeError):
        ManualClock(moment)


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: as good as naive."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None


def test_tzinfo_without_offset_is_refused() -> None:
    moment = datetime(2026, 1, 1, tzinfo=_NoOffset())
    assert not is_aware_utc(moment)
    with pytest.raises(NaiveDatetimeError):
        ensure_utc(moment)


def test_is_aware_utc_rejects_other_offsets_and_non_datetimes() -> None:
    assert is_aware_utc(NOW)
    assert not is_aware_utc(NOW.astimezone(timezone(timedelta(hours=1))))
    assert not is_aware_utc("2026-11-24T12:00:00Z")
    assert not is_aware_utc(None)


@given(
    aware,
    st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)), max_size=20),
)
def test_manual_clock_moves_forward_by_exactly_what_it_is_told(start, steps) -> None:
    clock = ManualClock(start)
    assert clock.now().tzinfo is UTC
    assert clock.now() - start == timedelta(0)
    assert clock.monotonic() == 0.0
    elapsed = timedelta(0)
    for step in steps:
        before = clock.monotonic()
        returned = clock.advance(step)
        elapsed += step
        assert returned == clock.now()
        assert clock.now().tzinfo is UTC
        assert clock.now() - start == elapsed
        assert clock.monotonic() >= before
    assert clock.monotonic() == pytest.approx(elapsed.total_seconds(), rel=1e-9, abs=1e-6)


@given(st.timedeltas(max_value=-timedelta(microseconds=1)))
def test_manual_clock_refuses_to_go_back_and_stays_put(step: timedelta) -> None:
    clock = ManualClock(NOW)
    clock.advance(timedelta(seconds=5))
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(step)
    assert clock.now() == NOW + timedelta(seconds=5)
    assert clock.monotonic() == 5.0


def test_live_clock_reads_aware_utc_wall_time() -> None:
    clock = LiveClock()
    before = datetime.now(UTC)
    now = clock.now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert before <= now <= after
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(LiveClock(), Clock)
    assert isinstance(ManualClock(NOW), Clock)
