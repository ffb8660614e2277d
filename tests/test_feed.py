"""The feed between sockets and engine: snapshot pages joined, re-sends dropped, snapshots whole."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from plugin_factory import NOW
from samples import sample

from host.clock import ManualClock
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.exchange.credibility import PriceCredibility
from host.exchange.decode import position_report
from host.exchange.events import (
    ExchangeEvent,
    MarkPricePush,
    PositionReport,
    PositionsEventType,
    PositionsPush,
    QuotePush,
)
from host.exchange.feed import ExchangeFeed
from host.settings import CredibilitySettings

ITEM = sample("ws_positions_push_swap_net_real_ccxt.json")["data"][0]


def report(pos_id: str, pos: str = "1") -> PositionReport:
    return position_report({**ITEM, "posId": pos_id, "pos": pos})


def feed() -> tuple[ExchangeFeed, list[ExchangeEvent]]:
    out: list[ExchangeEvent] = []
    clock = ManualClock(NOW)
    dedup = PrivateEventDedup(100, 60, clock)
    credibility = PriceCredibility(CredibilitySettings(), clock)
    return ExchangeFeed(out.append, dedup, MarketDataWatermark(), credibility), out


def snapshot(*reports: PositionReport, page: int = 1, last: bool = True) -> PositionsPush:
    return PositionsPush(PositionsEventType.SNAPSHOT, reports, page=page, last_page=last)


def test_snapshot_pages_are_joined_and_handed_on_once_complete() -> None:
    pipeline, out = feed()
    pipeline((snapshot(report("1"), report("2"), last=False),))
    assert out == []
    pipeline((snapshot(report("3"), page=2),))
    (complete,) = out
    assert isinstance(complete, PositionsPush)
    assert [r.position.pos_id for r in complete.reports] == ["1", "2", "3"]
    assert complete.last_page


def test_a_repeated_snapshot_is_never_filtered_but_a_resent_update_is() -> None:
    pipeline, out = feed()
    update = PositionsPush(PositionsEventType.EVENT_UPDATE, (report("1"), report("2")))
    pipeline((update, update, snapshot(report("1")), snapshot(report("1"))))
    assert [len(push.reports) for push in out if isinstance(push, PositionsPush)] == [2, 1, 1]
    resized = PositionsPush(PositionsEventType.EVENT_UPDATE, (report("1", "2"), report("2")))
    pipeline((resized,))
    assert isinstance(out[-1], PositionsPush)
    assert [r.position.size for r in out[-1].reports] == [Decimal(2)]  # only the real change


def test_a_book_sequence_reset_lets_the_new_sequence_through() -> None:
    pipeline, out = feed()
    mark = MarkPricePush("BTC-USDT-SWAP", NOW, Decimal("1.5"), 1)
    quote = QuotePush(
        "bbo-tbt", "BTC-USDT-SWAP", NOW, Decimal(1), Decimal(1), Decimal(2), Decimal(1), 100
    )
    pipeline((mark, quote, replace(quote, stamp=90)))
    assert out == [mark, quote]  # an older sequence number without a reset is stale
    pipeline((replace(quote, stamp=5, prev_stamp=120),))
    assert len(out) == 3
