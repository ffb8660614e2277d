"""What decoding one OKX frame costs, from raw text to domain events, and through the feed.

Run: ``python bench/bench_decode.py``. Prints figures; never asserts (speed is measured, not
asserted). Frames are the real samples in ``host/faults/samples`` re-serialised compactly, as OKX
sends them. Market-data frames through the feed get a fresh stamp each time so the watermark
passes them, as it would on a live stream, after a mark at their own price so the credibility
check judges them as credible ticks. Each figure is the best of several runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal

import orjson

from host.clock import EPOCH, LiveClock
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.exchange.credibility import PriceCredibility
from host.exchange.decode import FrameDecoder
from host.exchange.events import ExchangeEvent, MarkPricePush, QuotePush, TickerPush, TradePush
from host.exchange.feed import ExchangeFeed
from host.faults.corpus import SAMPLES
from host.settings import CredibilitySettings, DedupSettings

CALLS = 20_000
REPEATS = 5

CASES = {
    "tickers (SWAP)": ("ws_tickers_push_swap_real_cryptofeed.json", "ts"),
    "trades": ("ws_trades_push_docs.json", "tradeId"),
    "bbo-tbt": ("ws_bbo_tbt_push_docs.json", "seqId"),
    "books5": ("ws_books5_push_docs.json", "seqId"),
    "mark-price": ("ws_mark_price_push_docs.json", "ts"),
    "orders (filled)": ("ws_orders_push_swap_market_filled_nautilus.json", None),
    "positions": ("ws_positions_push_swap_net_real_ccxt.json", None),
}


def frames(name: str, stamp_key: str | None) -> list[bytes]:
    """``CALLS`` frames of one sample; market data with increasing stamps."""
    message = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    if stamp_key is None:
        return [orjson.dumps(message)] * CALLS
    item = message["data"][0]
    base = int(item[stamp_key])
    out = []
    for n in range(CALLS):
        value = base + n + 1
        item[stamp_key] = value if isinstance(item[stamp_key], int) else str(value)
        out.append(orjson.dumps(message))
    return out


def best_us_per_call(run: Callable[[], None]) -> float:
    best = min(_timed(run) for _ in range(REPEATS))
    return best / CALLS / 1000


def credible_marks(frame: bytes, decoder: FrameDecoder) -> tuple[MarkPricePush, ...]:
    """A mark at each market event's own price, so the feed judges them as in a live session."""
    priced = (_price_of(event) for event in decoder.decode(frame))
    return tuple(MarkPricePush(inst_id, EPOCH, price, 0) for inst_id, price in filter(None, priced))


def _price_of(event: ExchangeEvent) -> tuple[str, Decimal] | None:
    if isinstance(event, TickerPush):
        return event.tick.inst_id, event.tick.last
    if isinstance(event, TradePush):
        return event.trade.inst_id, event.trade.price
    if isinstance(event, QuotePush):
        return event.inst_id, event.bid
    if isinstance(event, MarkPricePush):
        return event.inst_id, event.mark
    return None


def _timed(run: Callable[[], None]) -> int:
    start = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - start


def main() -> None:
    print(f"{'frame':<18}{'bytes':>7}{'orjson µs':>11}{'decode µs':>11}{'+feed µs':>10}")
    for label, (name, stamp_key) in CASES.items():
        batch = frames(name, stamp_key)
        decoder = FrameDecoder()

        def parse_only(batch: list[bytes] = batch) -> None:
            for frame in batch:
                orjson.loads(frame)

        def decode(batch: list[bytes] = batch, decoder: FrameDecoder = decoder) -> None:
            for frame in batch:
                decoder.decode(frame)

        def through_feed(batch: list[bytes] = batch, decoder: FrameDecoder = decoder) -> None:
            clock = LiveClock()
            dedup = PrivateEventDedup.from_settings(DedupSettings(), clock)
            credibility = PriceCredibility(CredibilitySettings(), clock)
            feed = ExchangeFeed(lambda _: None, dedup, MarketDataWatermark(), credibility)
            feed(credible_marks(batch[0], decoder))
            for frame in batch:
                feed(decoder.decode(frame))

        row = (
            best_us_per_call(parse_only),
            best_us_per_call(decode),
            best_us_per_call(through_feed),
        )
        assert decoder.malformed == 0
        print(f"{label:<18}{len(batch[0]):>7}{row[0]:>11.2f}{row[1]:>11.2f}{row[2]:>10.2f}")


if __name__ == "__main__":
    main()
