"""De-duplication: exact re-sends are dropped, every real update passes, memory is bounded in
size and time as configured, and the market-data watermark is a per-stream "strictly newer" filter.

Concrete values come from the OKX samples in ``/work/shared/okx/samples/`` (named per test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_factory import NOW

from host.clock import ManualClock, from_okx_ms
from host.dedup import (
    MarketDataWatermark,
    PrivateEvent,
    PrivateEventDedup,
    event_identity,
)
from host.domain import Fill, Order, OrderState, Position, PositionOrigin, PositionSide, Side
from host.settings import DedupSettings, Settings

INSTRUMENTS = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "XRP-USDT-SWAP")


def fresh_dedup(clock: ManualClock | None = None) -> PrivateEventDedup:
    return PrivateEventDedup.from_settings(DedupSettings(), clock or ManualClock(NOW))


def passed(dedup: PrivateEventDedup, stream: Sequence[PrivateEvent]) -> list[PrivateEvent]:
    return [event for event in stream if dedup.first_time(event)]


# --- realistic events (values from the OKX samples) -------------------------------------------

# ws_positions_push_swap_net_real_ccxt.json: XRP-USDT-SWAP, net mode, pos "1".
XRP_POSITION = Position(
    pos_id="616057041198907393",
    inst_id="XRP-USDT-SWAP",
    side=PositionSide.LONG,
    size=Decimal(1),
    entry_price=Decimal("0.52668"),
    entry_time=from_okx_ms("1693151444408"),
    updated_at=from_okx_ms("1693151444408"),
)

# ws_orders_push_swap_market_filled_nautilus.json: BTC-USDT-SWAP market buy 0.03, filled.
BTC_ORDER = Order(
    cl_ord_id="001BTCUSDT20250106001",
    inst_id="BTC-USDT-SWAP",
    side=Side.BUY,
    size=Decimal("0.03"),
    price=None,
    created_at=from_okx_ms("1746947317401"),
    state=OrderState.FILLED,
    filled_size=Decimal("0.03"),
    average_price=Decimal("103698.9"),
    ord_id="2497956918703120384",
)
BTC_FILL = Fill(
    inst_id="BTC-USDT-SWAP",
    trade_id="1518905529",
    ord_id="2497956918703120384",
    cl_ord_id="001BTCUSDT20250106001",
    side=Side.BUY,
    price=Decimal("103698.9"),
    size=Decimal("0.03"),
    fee=Decimal("-0.021776769"),
    ts=from_okx_ms("1746947317402"),
)


# --- strategies: streams of distinct private events -------------------------------------------

instruments = st.sampled_from(INSTRUMENTS)
contracts = st.integers(min_value=1, max_value=500).map(lambda n: Decimal(n) / 100)
prices = st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n) / 10_000)


@st.composite
def fills(draw: st.DrawFn) -> list[PrivateEvent]:
    """Executions with distinct trade ids (OKX's ids are per instrument, ours globally unique)."""
    trade_ids = draw(st.lists(st.integers(1, 10**12), unique=True, max_size=8))
    return [
        Fill(
            inst_id=draw(instruments),
            trade_id=str(trade_id),
            ord_id=str(10**15 + trade_id),
            cl_ord_id=f"c{trade_id}",
            side=draw(st.sampled_from(Side)),
            price=draw(prices),
            size=draw(contracts),
            fee=-draw(contracts) / 1000,
            ts=NOW + timedelta(milliseconds=trade_id % 10**6),
        )
        for trade_id in trade_ids
    ]


@st.composite
def order_life(draw: st.DrawFn, number: int) -> list[PrivateEvent]:
    """One order's pushes: ack, maybe an amend, partial fills, then filled, canceled or open."""
    size = Decimal(draw(st.integers(2, 100)))
    price = draw(prices)
    live = Order(
        cl_ord_id=f"o{number}",
        inst_id=draw(instruments),
        side=draw(st.sampled_from(Side)),
        size=size,
        price=price,
        created_at=NOW,
        ord_id=draw(st.none() | st.just(str(2 * 10**18 + number))),
    )
    pushes: list[Order] = [live]
    if draw(st.booleans()):
        pushes.append(replace(live, price=price + Decimal("0.1")))
    for filled in sorted(draw(st.sets(st.integers(1, int(size) - 1), max_size=4))):
        pushes.append(
            replace(pushes[-1], state=OrderState.PARTIALLY_FILLED, filled_size=Decimal(filled))
        )
    end = draw(st.sampled_from(("filled", "canceled", "open")))
    if end == "filled":
        pushes.append(replace(pushes[-1], state=OrderState.FILLED, filled_size=size))
    elif end == "canceled":
        pushes.append(replace(pushes[-1], state=OrderState.CANCELED))
    return list(pushes)


@st.composite
def position_life(draw: st.DrawFn, number: int) -> list[PrivateEvent]:
    """One posId's event pushes: sizes may repeat (1 → 2 → 1) or reach 0, uTime always moves on."""
    base = Position(
        pos_id=str(6 * 10**17 + number),
        inst_id=draw(instruments),
        side=draw(st.sampled_from(PositionSide)),
        size=Decimal(1),
        entry_price=draw(prices),
        entry_time=NOW,
        updated_at=NOW,
    )
    sizes = draw(st.lists(st.integers(0, 3).map(Decimal), min_size=1, max_size=6))
    gaps = draw(st.lists(st.integers(1, 60_000), min_size=len(sizes), max_size=len(sizes)))
    pushes: list[PrivateEvent] = []
    updated_at = NOW
    for size, gap in zip(sizes, gaps, strict=True):
        updated_at += timedelta(milliseconds=gap)
        pushes.append(replace(base, size=size, updated_at=updated_at))
    return pushes


@st.composite
def distinct_streams(draw: st.DrawFn) -> list[PrivateEvent]:
    """Fills, orders and positions interleaved, each order's and position's pushes in order."""
    lives = [[fill] for fill in draw(fills())]
    lives += [draw(order_life(n)) for n in range(draw(st.integers(0, 4)))]
    lives += [draw(position_life(n)) for n in range(draw(st.integers(0, 4)))]
    turns = draw(st.permutations([i for i, life in enumerate(lives) for _ in life]))
    queues = [iter(life) for life in lives]
    return [next(queues[i]) for i in turns]


@st.composite
def with_resends(draw: st.DrawFn, stream: list[PrivateEvent]) -> list[PrivateEvent]:
    """``stream`` with copies of its events re-sent at random later positions."""
    if not stream:
        return []
    index = st.integers(0, len(stream) - 1)
    after: dict[int, list[PrivateEvent]] = {}
    for a, b in draw(st.lists(st.tuples(index, index), max_size=2 * len(stream))):
        source, at = min(a, b), max(a, b)
        after.setdefault(at, []).append(replace(stream[source]))  # equal, not the same object
    return [sent for i, event in enumerate(stream) for sent in (event, *after.get(i, []))]


# --- private events ---------------------------------------------------------------------------


@given(data=st.data())
def test_resent_events_are_dropped_and_the_original_stream_comes_out(data: st.DataObject) -> None:
    stream = data.draw(distinct_streams())
    noisy = data.draw(with_resends(stream))
    dedup = fresh_dedup()

    assert len({event_identity(event) for event in stream}) == len(stream)
    assert passed(dedup, noisy) == stream
    assert dedup.dropped == len(noisy) - len(stream)


def test_every_real_update_of_one_pos_id_passes() -> None:
    """posId alone would keep only the first of these; the identity keeps every adjustment."""
    dedup = fresh_dedup()
    adjusted = replace(XRP_POSITION, size=Decimal(2), updated_at=from_okx_ms("1693151500000"))
    reverted = replace(XRP_POSITION, updated_at=from_okx_ms("1693151600000"))
    closed = replace(XRP_POSITION, size=Decimal(0), updated_at=from_okx_ms("1693151700000"))
    snapshot_repeat = replace(closed)  # the 5 s snapshot re-pushes uTime unchanged
    stream = [XRP_POSITION, replace(XRP_POSITION), adjusted, reverted, closed, snapshot_repeat]

    assert passed(dedup, stream) == [XRP_POSITION, adjusted, reverted, closed]
    assert reverted.exchange_state == XRP_POSITION.exchange_state
    assert dedup.dropped == 2


def test_host_owned_position_fields_do_not_change_the_identity() -> None:
    protected = replace(XRP_POSITION, stop=Decimal("0.51"), origin=PositionOrigin.ADOPTED)
    assert event_identity(protected) == event_identity(XRP_POSITION)


def test_a_fill_is_its_trade_id_on_its_instrument() -> None:
    """OKX: a tradeId is processed once per instId. A re-send that differs elsewhere (recomputed
    fee, another time) is still the same execution; the same id on another instrument is not."""
    dedup = fresh_dedup()
    resend = replace(BTC_FILL, fee=Decimal("-0.02"), ts=BTC_FILL.ts + timedelta(seconds=1))
    other_instrument = replace(BTC_FILL, inst_id="ETH-USDT-SWAP")
    next_fill = replace(BTC_FILL, trade_id="1518905530")

    assert passed(dedup, [BTC_FILL, resend, other_instrument, next_fill]) == [
        BTC_FILL,
        other_instrument,
        next_fill,
    ]


def test_an_order_resend_is_dropped_and_each_step_of_its_life_passes() -> None:
    dedup = fresh_dedup()
    live = replace(
        BTC_ORDER,
        price=Decimal("103690.0"),
        state=OrderState.LIVE,
        filled_size=Decimal(0),
        average_price=None,
    )
    amended = replace(live, price=Decimal("103695.0"))
    partial = replace(amended, state=OrderState.PARTIALLY_FILLED, filled_size=Decimal("0.01"))
    filled = replace(amended, state=OrderState.FILLED, filled_size=Decimal("0.03"))
    stream = [live, amended, replace(amended), partial, filled, replace(filled)]

    assert passed(dedup, stream) == [live, amended, partial, filled]
    assert dedup.first_time(BTC_ORDER)
    assert not dedup.first_time(replace(BTC_ORDER))


def test_an_unacknowledged_order_is_named_by_its_client_id() -> None:
    dedup = fresh_dedup()
    pending = replace(BTC_ORDER, ord_id=None)
    clash = replace(BTC_ORDER, ord_id=BTC_ORDER.cl_ord_id)  # an ordId spelt like our clOrdId

    assert passed(dedup, [pending, replace(pending), clash]) == [pending, clash]


def test_the_ttl_comes_from_config_and_then_the_identity_is_forgotten() -> None:
    """The documented trade-off: a re-send arriving a TTL after the first sighting passes."""
    clock = ManualClock(NOW)
    settings = Settings(dedup=DedupSettings(private_ttl_seconds=7.5, private_cache_size=50))
    dedup = PrivateEventDedup.from_settings(settings.dedup, clock)
    assert (dedup.ttl_seconds, dedup.maxsize) == (7.5, 50)

    assert dedup.first_time(BTC_FILL)
    clock.advance(timedelta(seconds=7))
    assert not dedup.first_time(BTC_FILL)  # a hit does not renew the window
    clock.advance(timedelta(seconds=0.5))
    assert dedup.first_time(BTC_FILL)
    assert not dedup.first_time(BTC_FILL)


def test_the_default_memory_is_five_minutes_of_ten_thousand_events() -> None:
    dedup = fresh_dedup()
    assert (dedup.ttl_seconds, dedup.maxsize) == (300.0, 10_000)


def test_maxsize_bounds_memory_and_the_oldest_identity_goes_first() -> None:
    dedup = PrivateEventDedup(maxsize=3, ttl_seconds=300, clock=ManualClock(NOW))
    events = [replace(BTC_FILL, trade_id=str(n)) for n in range(5)]

    assert passed(dedup, events) == events
    assert dedup.remembered == 3
    assert passed(dedup, events[2:]) == []
    assert dedup.first_time(events[0])


@given(stream=distinct_streams(), maxsize=st.integers(1, 8))
def test_memory_never_exceeds_maxsize(stream: list[PrivateEvent], maxsize: int) -> None:
    dedup = PrivateEventDedup(maxsize=maxsize, ttl_seconds=300, clock=ManualClock(NOW))
    for event in stream:
        dedup.first_time(event)
        assert dedup.remembered <= maxsize


def test_expired_identities_are_purged_not_just_ignored() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    dedup = PrivateEventDedup(maxsize=100, ttl_seconds=1, clock=clock)
    for n in range(10):
        dedup.first_time(replace(BTC_FILL, trade_id=str(n)))
    clock.advance(timedelta(seconds=2))
    dedup.first_time(BTC_FILL)
    assert dedup.remembered == 1


# --- public market data -----------------------------------------------------------------------

STREAMS = st.tuples(st.sampled_from(("tickers", "trades", "books5")), st.sampled_from(INSTRUMENTS))


def strictly_newer_oracle(pushes: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Keep a push iff its stamp exceeds every earlier stamp of the same stream (quadratic)."""
    return [
        (channel, inst, stamp)
        for k, (channel, inst, stamp) in enumerate(pushes)
        if all(stamp > s for c, i, s in pushes[:k] if (c, i) == (channel, inst))
    ]


@given(
    pushes=st.lists(
        st.tuples(STREAMS, st.integers(0, 30)).map(lambda p: (*p[0], p[1])), max_size=60
    )
)
def test_watermark_is_the_strictly_newer_filter_per_stream(
    pushes: list[tuple[str, str, int]],
) -> None:
    watermark = MarketDataWatermark()
    kept = [push for push in pushes if watermark.is_new(*push)]

    assert kept == strictly_newer_oracle(pushes)
    assert watermark.dropped == len(pushes) - len(kept)
    for stream in {(channel, inst) for channel, inst, _ in pushes}:
        alone = MarketDataWatermark()
        own = [push for push in pushes if push[:2] == stream]
        assert [p for p in own if alone.is_new(*p)] == [p for p in kept if p[:2] == stream]


def test_a_ticker_resend_and_an_older_ticker_are_dropped() -> None:
    """ws_tickers_push_swap_real_cryptofeed.json: UNI-USD-SWAP ts 1652459223143."""
    watermark = MarketDataWatermark()
    ts = 1652459223143

    assert watermark.is_new("tickers", "UNI-USD-SWAP", ts)
    assert not watermark.is_new("tickers", "UNI-USD-SWAP", ts)
    assert not watermark.is_new("tickers", "UNI-USD-SWAP", ts - 100)
    assert watermark.is_new("tickers", "UNI-USD-SWAP", ts + 100)
    assert watermark.is_new("trades", "UNI-USD-SWAP", ts)
    assert watermark.dropped == 2


def test_a_book_keep_alive_is_dropped_and_forget_allows_a_sequence_reset() -> None:
    """ws_books5_push_docs.json: BCH-USDT-SWAP seqId 363996337."""
    watermark = MarketDataWatermark()
    seq = 363996337

    assert watermark.is_new("books", "BCH-USDT-SWAP", seq)
    assert not watermark.is_new("books", "BCH-USDT-SWAP", seq)  # keep-alive: prevSeqId == seqId
    assert not watermark.is_new("books", "BCH-USDT-SWAP", 10)  # reset: seqId < prevSeqId
    watermark.forget("books", "BCH-USDT-SWAP")
    assert watermark.is_new("books", "BCH-USDT-SWAP", 10)
    watermark.forget("books", "never-seen")


@pytest.mark.parametrize("channel", ["tickers", "trades", "books5"])
def test_streams_of_one_channel_on_different_instruments_are_independent(channel: str) -> None:
    watermark = MarketDataWatermark()
    assert watermark.is_new(channel, "BTC-USDT-SWAP", 100)
    assert watermark.is_new(channel, "ETH-USDT-SWAP", 1)
    assert not watermark.is_new(channel, "BTC-USDT-SWAP", 99)
