"""Well-formed nonsense never moves money: absurd prices and times are dropped before the engine."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from engine_harness import BTC, BuyOnce, Session, journal_rows, run_session
from plugin_factory import NOW
from samples import sample

from host.clock import ManualClock
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.domain import Side, Tick, Trade
from host.exchange.credibility import PriceCredibility
from host.exchange.decode import position_report
from host.exchange.events import (
    ExchangeEvent,
    MarkPricePush,
    PositionsEventType,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)
from host.exchange.feed import ExchangeFeed
from host.settings import CredibilitySettings

ETH = "ETH-USDT-SWAP"
MARK = Decimal(60000)


class Pushes:
    """Builds market pushes for one instrument, each newer than the last."""

    def __init__(self, clock: ManualClock, inst_id: str = BTC) -> None:
        self.clock = clock
        self.inst_id = inst_id
        self.stamp = 0

    def _next(self) -> int:
        self.stamp += 1
        return self.stamp

    def mark(self, price: Decimal | int) -> MarkPricePush:
        return MarkPricePush(self.inst_id, self.clock.now(), Decimal(price), self._next())

    def ticker(
        self, bid: Decimal | int, ask: Decimal | int, last: Decimal | int | None = None
    ) -> TickerPush:
        bid, ask = Decimal(bid), Decimal(ask)
        traded = bid if last is None else Decimal(last)
        tick = Tick(self.inst_id, self.clock.now(), traded, bid, ask)
        return TickerPush(tick, self._next())

    def quote(self, bid: Decimal | int, ask: Decimal | int) -> QuotePush:
        one = Decimal(1)
        return QuotePush(
            "bbo-tbt", self.inst_id, self.clock.now(), Decimal(bid), one, Decimal(ask), one,
            self._next(),
        )  # fmt: skip

    def trade(self, price: Decimal | int) -> TradePush:
        stamp = self._next()
        now, size = self.clock.now(), Decimal(1)
        trade = Trade(self.inst_id, str(stamp), now, Decimal(price), size, Side.BUY)
        return TradePush(trade, stamp)


def pipeline(
    settings: CredibilitySettings | None = None,
) -> tuple[ExchangeFeed, list[ExchangeEvent], Pushes]:
    clock = ManualClock(NOW)
    out: list[ExchangeEvent] = []
    credibility = PriceCredibility(settings or CredibilitySettings(), clock)
    feed = ExchangeFeed(
        out.append, PrivateEventDedup(100, 60, clock), MarketDataWatermark(), credibility
    )
    return feed, out, Pushes(clock)


ABSURD_TICKS = {
    "bid 1 / ask 1.1": (Decimal(1), Decimal("1.1"), None),
    "a last of zero": (MARK, MARK + 1, Decimal(0)),
    "a negative bid": (Decimal(-5), MARK, None),
    "a last of 1e400": (MARK, MARK + 1, Decimal("1e400")),
    "a book crossed by 1 %": (MARK * Decimal("1.01"), MARK, None),
    "a bid 10 % under the mark": (MARK * Decimal("0.9"), MARK * Decimal("0.9") + 1, None),
}


@pytest.mark.parametrize("case", sorted(ABSURD_TICKS))
def test_an_absurd_tick_never_reaches_the_engine(case: str) -> None:
    feed, out, push = pipeline()
    feed((push.mark(MARK), push.ticker(MARK - 1, MARK + 1)))
    bid, ask, last = ABSURD_TICKS[case]
    feed((push.ticker(bid, ask, last),))
    assert [type(e) for e in out] == [MarkPricePush, TickerPush]  # only the credible ones
    assert sum(feed.credibility.dropped.values()) == 1
    feed((push.ticker(MARK, MARK + 2),))
    assert len(out) == 3  # and the next real tick passes


def test_ticks_wait_for_the_first_mark_they_can_be_judged_against() -> None:
    feed, out, push = pipeline()
    feed((push.ticker(1, 2), push.trade(1)))
    assert out == []
    assert feed.credibility.dropped["no mark yet"] == 2
    feed((push.mark(MARK), push.ticker(MARK - 1, MARK + 1), push.trade(MARK)))
    assert len(out) == 3


def test_one_outlier_between_credible_ticks_is_dropped_but_a_real_gap_is_followed() -> None:
    feed, out, push = pipeline(CredibilitySettings(gap_confirmations=3))
    feed((push.mark(MARK), push.ticker(MARK - 1, MARK + 1)))
    up = MARK * Decimal("1.025")  # inside the 3 % mark band, beyond the 2 % jump band
    feed((push.ticker(up - 1, up + 1), push.ticker(MARK, MARK + 2)))
    assert len(out) == 3  # the lone spike was dropped; the market had not moved
    assert feed.credibility.dropped["jump unconfirmed"] == 1
    # The market really gaps: the mark moves first (confirmed by marks in a row), then the book.
    gapped = MARK * Decimal("1.05")
    feed(tuple(push.mark(gapped) for _ in range(3)))
    ticks = tuple(push.ticker(gapped - 1, gapped + 1) for _ in range(3))
    before = len(out)  # the third mark passed
    feed(ticks[:2])
    assert len(out) == before  # two agreeing ticks are not yet enough
    feed(ticks[2:])
    assert out[-1] == ticks[2]  # three agreeing ticks, each within the mark band: a real gap


def test_a_gap_the_mark_does_not_confirm_is_never_believed() -> None:
    feed, out, push = pipeline()
    feed((push.mark(MARK), push.ticker(MARK - 1, MARK + 1)))
    far = MARK * Decimal("1.2")
    feed(tuple(push.ticker(far - 1, far + 1) for _ in range(20)))
    assert len(out) == 2
    assert feed.credibility.dropped["far from the mark"] == 20


def test_a_quote_and_a_trade_are_judged_like_a_tick() -> None:
    feed, out, push = pipeline()
    feed((push.mark(MARK), push.quote(MARK + 10, MARK), push.trade(0), push.trade(MARK * 2)))
    assert len(out) == 1
    dropped = {"crossed book": 1, "not positive": 1, "far from the mark": 1}
    assert feed.credibility.dropped == dropped


def test_a_push_from_the_far_future_does_not_freeze_its_stream() -> None:
    feed, out, push = pipeline()
    feed((push.mark(MARK),))
    future = push.ticker(MARK - 1, MARK + 1)
    future = replace(future, tick=replace(future.tick, ts=NOW + timedelta(days=3650)))
    future = replace(future, stamp=10**15)
    feed((future, push.ticker(MARK - 1, MARK + 1)))
    assert [type(e) for e in out] == [MarkPricePush, TickerPush]
    assert out[-1] != future
    assert feed.credibility.dropped["from the future"] == 1


def test_a_position_report_loses_a_mark_from_another_instrument() -> None:
    feed, out, push = pipeline()
    eth = Pushes(push.clock, ETH)
    feed((push.mark(MARK), eth.mark(3000)))
    item = sample("ws_positions_push_swap_net_real_ccxt.json")["data"][0]
    wrong = position_report({**item, "instId": ETH, "posId": "9", "markPx": str(MARK)})
    right = position_report({**item, "instId": ETH, "posId": "8", "markPx": "3001"})
    feed((PositionsPush(PositionsEventType.EVENT_UPDATE, (wrong, right)),))
    (update,) = out[2:]
    assert isinstance(update, PositionsPush)
    assert [r.mark for r in update.reports] == [None, Decimal(3001)]


BOGUS_TICKERS = (
    {"bidPx": "1", "askPx": "1.1", "last": "1"},
    {"last": "0"},
    {"bidPx": "-5"},
    {"last": "1e400"},
    {"ts": "300000000000000"},
)


async def test_absurd_tickers_neither_close_a_long_nor_move_its_stop(tmp_path: Path) -> None:
    """The reproduction of the reliability issue, through the real host and the simulator."""
    dropped: list[Counter[str]] = []

    async def script(session: Session) -> None:
        sim, engine = session.sim, session.engine
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await session.advance(2)
        market = sim.engine.market(BTC)
        crossed = market.book.asks[0].px * Decimal("1.01")
        for fields in (*BOGUS_TICKERS, {"bidPx": str(crossed), "last": str(crossed)}):
            sim.faults.bogus_ticker(BTC, **fields)
            await session.advance(1)
        await session.advance(3)
        assert engine.registry.positions(), "the long was closed on a bogus price"
        dropped.append(Counter(session.connection.feed.credibility.dropped))

    await run_session(tmp_path, script, BuyOnce, builtins=("trailing_stop",))
    (reasons,) = dropped  # the century-ahead ts was malformed; the others were not believed
    assert reasons["far from the mark"] >= 2
    assert reasons["not positive"] >= 2
    assert reasons["crossed book"] >= 1
    closes = journal_rows(tmp_path, "SELECT COUNT(*) FROM order_intents WHERE purpose = 'close'")
    assert closes == [(0,)]
    entry = journal_rows(tmp_path, "SELECT price FROM fills ORDER BY id LIMIT 1")[0][0]
    stops = journal_rows(tmp_path, "SELECT stop FROM stop_levels")
    assert stops
    assert all(Decimal(stop) < Decimal(entry) for (stop,) in stops)
