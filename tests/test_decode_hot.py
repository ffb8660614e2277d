"""The typed fast path of the hot channels (host/exchange/hot.py) against the general decoder.

The fast path may decline any frame, but a frame it takes must give exactly the events the
general decoder gives, with nothing counted as malformed; and through :class:`FrameDecoder` a
frame must give the same events and the same malformed count whichever path took it. Hostile
values — huge numbers, NaN and infinity strings, numbers and booleans where OKX sends strings,
missing fields, empty book sides, a control frame dressed as a push — are generated and listed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from samples import sample

from host.clock import from_okx_ms
from host.domain import Tick
from host.exchange.decode import FrameDecoder
from host.exchange.events import ExchangeEvent, MarkPricePush, QuotePush, TickerPush
from host.exchange.hot import decode_hot

HOT_SAMPLES = {
    "ws_tickers_push_docs.json": TickerPush,
    "ws_tickers_push_swap_real_cryptofeed.json": TickerPush,
    "ws_bbo_tbt_push_docs.json": QuotePush,
    "ws_bbo_tbt_push_nautilus.json": QuotePush,
    "ws_books5_push_docs.json": QuotePush,
    "ws_mark_price_push_docs.json": MarkPricePush,
}

HOSTILE = [
    "NaN",
    "nan",
    "sNaN",
    "NaN123",
    "inf",
    "-Infinity",
    "1e999999",
    "1e9999999999",
    "9" * 400,
    "",
    " 65000.1 ",
    "1_000",
    "0x10",
    "-0",
    "300000000000000",
    "9" * 30,
    "١٢٣",
    "1.5",
    65000.1,
    65000,
    2**64 - 1,
    -(2**63),
    -1,
    True,
    None,
    [],
    ["65000.1"],
    {},
]
"""Values put in place of one field: each is either read exactly as the general decoder reads it
or left to it (where it is then counted as malformed, or read its own way)."""


def general(frame: bytes) -> tuple[tuple[ExchangeEvent, ...], int]:
    """What the general decoder (orjson, field by field) makes of a frame, and what it counts."""
    decoder = FrameDecoder()
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return (), 1
    return decoder.decode_message(message, frame), decoder.malformed


def disagreement(fast: Callable[[bytes], Any], frame: bytes) -> str | None:
    """Why ``fast`` is not a faithful fast path for ``frame``; ``None`` when it is."""
    taken = fast(frame)
    events, malformed = general(frame)
    if taken is not None and (taken != events or malformed):
        return f"fast path gave {taken!r}; the general decoder {events!r} ({malformed} malformed)"
    decoder = FrameDecoder()
    through = decoder.decode(frame)
    if (through, decoder.malformed) != (events, malformed):
        return f"FrameDecoder gave {through!r}, {decoder.malformed} malformed"
    return None


def compact(message: Any) -> bytes:
    return orjson.dumps(message)


@pytest.mark.parametrize(("name", "kind"), sorted(HOT_SAMPLES.items()))
def test_every_hot_sample_takes_the_fast_path(name: str, kind: type) -> None:
    frame = compact(sample(name))
    events = decode_hot(frame)
    assert events is not None
    assert all(isinstance(event, kind) for event in events)
    assert events == general(frame)[0]
    assert decode_hot(frame.decode()) == events  # text frames too


def test_a_ticker_keeps_decimal_and_aware_utc_and_its_stamp() -> None:
    (push,) = decode_hot(compact(sample("ws_tickers_push_swap_real_cryptofeed.json")))  # type: ignore[misc]
    assert isinstance(push, TickerPush)
    assert isinstance(push.tick.last, Decimal)
    assert push.tick.ts.utcoffset() is not None
    assert push.stamp == int(sample("ws_tickers_push_swap_real_cryptofeed.json")["data"][0]["ts"])


def test_spacing_does_not_matter() -> None:
    frame = sample("ws_bbo_tbt_push_docs.json")
    spaced = orjson.dumps(frame, option=orjson.OPT_INDENT_2)
    assert decode_hot(spaced) == decode_hot(compact(frame)) is not None


@pytest.mark.parametrize(
    "frame",
    [
        b'{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[]}',
        b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[],"x":{"channel":"tickers"}}',
        b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"channel":"x"}]}',
        b'{"arg":{"channel":"orders","instType":"SWAP"},"data":[]}',
        b"[1, 2]",
        b'{"arg":{"channel":"tickers"',
    ],
)
def test_frames_it_leaves_to_the_general_decoder(frame: bytes) -> None:
    assert decode_hot(frame) is None
    assert disagreement(decode_hot, frame) is None


TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=6)
"""Short strings JSON can carry (a lone surrogate cannot be encoded)."""


def hostile_frames() -> st.SearchStrategy[bytes]:
    """A hot sample with one field of an item (or of ``arg``) replaced, added or removed."""

    def mutate(name: str, data: st.DataObject) -> bytes:
        message = copy.deepcopy(sample(name))
        target = data.draw(st.sampled_from([message["data"][0], message["arg"], message]))
        key = data.draw(st.sampled_from([*sorted(target), "event", "prevSeqId"]))
        if data.draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = data.draw(
                st.sampled_from(HOSTILE)
                | st.text(st.characters(blacklist_categories=["Cs"]), max_size=6)
            )
        return compact(message)

    return st.builds(mutate, st.sampled_from(sorted(HOT_SAMPLES)), st.data())


@given(frame=hostile_frames())
@example(frame=b'{"arg":{"channel":"tickers","instId":"X"},"data":[{"instId":"X","last":"NaN",'
         b'"bidPx":"1","askPx":"2","ts":"1"}]}')  # fmt: skip
def test_the_fast_path_never_disagrees_with_the_general_decoder(frame: bytes) -> None:
    assert disagreement(decode_hot, frame) is None


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("ws_tickers_push_swap_real_cryptofeed.json", "last"),
        ("ws_tickers_push_swap_real_cryptofeed.json", "bidPx"),
        ("ws_tickers_push_swap_real_cryptofeed.json", "ts"),
        ("ws_bbo_tbt_push_docs.json", "seqId"),
        ("ws_bbo_tbt_push_docs.json", "bids"),
        ("ws_mark_price_push_docs.json", "markPx"),
    ],
)
def test_each_hostile_value_is_read_as_the_general_decoder_reads_it(
    name: str, field: str, value: object
) -> None:
    message = sample(name)
    message["data"][0][field] = value
    assert disagreement(decode_hot, compact(message)) is None


class LooseItem(msgspec.Struct):
    """A ticker item read with msgspec's own ``Decimal`` fields (they take numbers and NaN)."""

    instId: str
    last: Decimal
    bidPx: Decimal
    askPx: Decimal
    ts: str


class LooseFrame(msgspec.Struct):
    data: list[LooseItem]


LOOSE = msgspec.json.Decoder(LooseFrame)


def loose_fast_path(frame: bytes) -> tuple[ExchangeEvent, ...] | None:
    """A deliberately broken fast path: what declaring the prices ``Decimal`` would give."""
    try:
        items = LOOSE.decode(frame).data
    except msgspec.DecodeError:
        return None
    return tuple(
        TickerPush(Tick(i.instId, from_okx_ms(i.ts), i.last, i.bidPx, i.askPx), int(i.ts))
        for i in items
    )


def test_a_fast_path_that_reads_numbers_as_decimal_is_caught() -> None:
    """The check above has teeth: the broken fast path fails it on the hostile values."""
    caught = []
    for value in HOSTILE:
        message = sample("ws_tickers_push_swap_real_cryptofeed.json")
        message["data"][0]["last"] = value
        caught.append(disagreement(loose_fast_path, compact(message)))
    assert any(caught), "the check let a fast path that takes floats and NaN through"


def test_a_declined_hostile_frame_is_still_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = sample("ws_tickers_push_swap_real_cryptofeed.json")
    message["data"][0]["last"] = "Infinity"
    decoder = FrameDecoder()
    assert decoder.decode(compact(message)) == ()
    assert decoder.malformed == 1
    assert caplog.text.count("malformed exchange frame dropped") == 1
    assert "Infinity" in caplog.text
