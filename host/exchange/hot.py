"""Typed decoding of the hot market-data channels: one pass from bytes to the host's events.

``tickers``, ``bbo-tbt``, ``books5`` and ``mark-price`` are most of what the exchange sends, and
each of their frames sits on the path from the socket to a decision on an open position. The
general decoder (:mod:`host.exchange.decode`) parses a frame into dicts and then reads them field
by field; here msgspec decodes it straight into structs of the fields the host uses, checking
their JSON types as it goes, at about the cost of a bare parse.

This is a *fast path*, never a second set of rules: it takes only frames whose every field has
the expected JSON type, and turns them into exactly the events the general decoder would
(Decimal through the same finite-number check, aware UTC from the same integer milliseconds).
Anything else — a missing field, a number where OKX sends a string, ``NaN``, a timestamp out of
range, a channel it does not know — makes :func:`decode_hot` answer ``None``, and the general
decoder decides, counts and logs the frame as it always has.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from host.clock import EPOCH, MAX_OKX_MS_DIGITS
from host.domain import Tick
from host.exchange.events import ExchangeEvent, MarkPricePush, QuotePush, TickerPush


class _Push(msgspec.Struct):
    """A push: ``arg`` and ``data``; a frame with an ``event`` is a control frame instead."""

    event: Any = msgspec.UNSET


class _Arg(msgspec.Struct):
    channel: str
    instId: str


class _TickerItem(msgspec.Struct):
    instId: str
    last: str
    bidPx: str
    askPx: str
    ts: str


class _TickerFrame(_Push, kw_only=True):
    arg: _Arg
    data: list[_TickerItem]


class _QuoteItem(msgspec.Struct):
    bids: list[list[str]]
    asks: list[list[str]]
    ts: str
    seqId: int
    prevSeqId: int = -1


class _QuoteFrame(_Push, kw_only=True):
    arg: _Arg
    data: list[_QuoteItem]


class _MarkItem(msgspec.Struct):
    instId: str
    markPx: str
    ts: str


class _MarkFrame(_Push, kw_only=True):
    arg: _Arg
    data: list[_MarkItem]


class _NotForTheFastPath(ValueError):
    """A field the general decoder must judge (it may refuse it, or read it another way)."""


_LEAVE_TO_GENERAL = (msgspec.DecodeError, ValueError, ArithmeticError, IndexError)
"""What sends a frame back to the general decoder: a type or shape msgspec refused, a number
``Decimal`` cannot read (InvalidOperation is an ArithmeticError), an empty side of the book, a
time out of ``datetime``'s range (OverflowError)."""


def _money(text: str) -> Decimal:
    """A finite Decimal, as :func:`host.money.parse_decimal` reads one from a string."""
    value = Decimal(text)
    if not value.is_finite():
        raise _NotForTheFastPath(text)
    return value


def _milliseconds(text: str) -> int:
    """OKX milliseconds as :func:`host.clock.from_okx_ms` accepts them, read once."""
    if not text.isdigit() or len(text) > MAX_OKX_MS_DIGITS:
        raise _NotForTheFastPath(text)
    return int(text)


def _at(milliseconds: int) -> datetime:
    """The aware UTC instant of OKX milliseconds: integer arithmetic, as ``from_okx_ms``."""
    return EPOCH + timedelta(0, 0, milliseconds * 1000)


def _tickers(frame: _TickerFrame) -> tuple[ExchangeEvent, ...]:
    """The busiest channel: :func:`_milliseconds`, :func:`_money` and :func:`_at`, inline."""
    events: list[ExchangeEvent] = []
    for item in frame.data:
        text = item.ts
        if not text.isdigit() or len(text) > MAX_OKX_MS_DIGITS:
            raise _NotForTheFastPath(text)
        stamp = int(text)
        last, bid, ask = Decimal(item.last), Decimal(item.bidPx), Decimal(item.askPx)
        if not (last.is_finite() and bid.is_finite() and ask.is_finite()):
            raise _NotForTheFastPath("a price is not a finite number")
        at = EPOCH + timedelta(0, 0, stamp * 1000)
        events.append(TickerPush(Tick(item.instId, at, last, bid, ask), stamp))
    return tuple(events)


def _quotes(frame: _QuoteFrame) -> tuple[ExchangeEvent, ...]:
    channel, inst_id = frame.arg.channel, frame.arg.instId
    events: list[ExchangeEvent] = []
    for item in frame.data:
        (bid, bid_size, *_), (ask, ask_size, *_) = item.bids[0], item.asks[0]
        events.append(
            QuotePush(
                channel,
                inst_id,
                _at(_milliseconds(item.ts)),
                _money(bid),
                _money(bid_size),
                _money(ask),
                _money(ask_size),
                item.seqId,
                item.prevSeqId,
            )
        )
    return tuple(events)


def _marks(frame: _MarkFrame) -> tuple[ExchangeEvent, ...]:
    events: list[ExchangeEvent] = []
    for item in frame.data:
        stamp = _milliseconds(item.ts)
        events.append(MarkPricePush(item.instId, _at(stamp), _money(item.markPx), stamp))
    return tuple(events)


_Channel = tuple[msgspec.json.Decoder[Any], Callable[[Any], tuple[ExchangeEvent, ...]]]

_TICKERS: _Channel = (msgspec.json.Decoder(_TickerFrame), _tickers)
_QUOTES: _Channel = (msgspec.json.Decoder(_QuoteFrame), _quotes)
_MARKS: _Channel = (msgspec.json.Decoder(_MarkFrame), _marks)

_BY_NAME: dict[str | bytes, _Channel] = {
    "tickers": _TICKERS,
    "bbo-tbt": _QUOTES,
    "books5": _QUOTES,
    "mark-price": _MARKS,
}
_HOT_CHANNELS: dict[str | bytes, _Channel] = {
    **_BY_NAME,
    **{str(name).encode(): kind for name, kind in _BY_NAME.items()},
}
"""By the channel's name as text (a ``str`` frame) or as bytes (a ``bytes`` frame)."""


def _channel_named(frame: str | bytes) -> str | bytes | None:
    """The text of the first string after a ``"channel"`` key: where OKX names a push's channel.

    Only a hint for choosing the struct (a frame spelt oddly may mislead it); the decoded
    ``arg.channel`` is what counts.
    """
    if isinstance(frame, str):
        key = frame.find('"channel"')
        opening = frame.find('"', key + 9)
        closing = frame.find('"', opening + 1)
    else:
        key = frame.find(b'"channel"')
        opening = frame.find(b'"', key + 9)
        closing = frame.find(b'"', opening + 1)
    return frame[opening + 1 : closing] if key >= 0 and closing > 0 else None


def decode_hot(frame: str | bytes) -> tuple[ExchangeEvent, ...] | None:
    """The events of a hot-channel push, or ``None``: the general decoder must take the frame.

    The channel is read from the raw text to choose the struct; the decoded ``arg.channel``
    must then name a channel of that struct, so a frame that only mentions a hot channel
    somewhere is never taken for one.
    """
    channel = _channel_named(frame)
    kind = None if channel is None else _HOT_CHANNELS.get(channel)
    if kind is None:
        return None
    decoder, events_of = kind
    try:
        message = decoder.decode(frame)
        if message.event is not msgspec.UNSET or _HOT_CHANNELS.get(message.arg.channel) is not kind:
            return None
        return events_of(message)
    except _LEAVE_TO_GENERAL:
        return None
