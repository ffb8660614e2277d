"""The summary ``scalphost run`` ends with, as a newcomer reads it (issue 16, Deliver 3).

What tripped one up: a drawdown shown as a gain, gross + fees that did not add up to the net
after rounding, "open at the end: 0 (kept, with their exchange-side stops)", and no word of
circuit-breaker trips or of plugins that behaved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from host.clock import ManualClock
from host.domain import ClosedPosition, PnL, Position, PositionOrigin, PositionSide
from host.engine.stats import ClosedTrade, SessionStats
from host.journal import Journal
from host.journal.records import BreakerTrip
from host.money import usdt
from host.sessions.paper import PaperResult
from host.settings import JournalSettings

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def closed(n: int, gross: str, fees: str) -> ClosedTrade:
    entry = T0 + timedelta(minutes=n)
    position = Position(f"p{n}", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(65000),
                        entry, entry, PositionOrigin.OWN)  # fmt: skip
    pnl = PnL(Decimal(gross), Decimal(fees))
    return ClosedTrade(ClosedPosition(position, Decimal(65000), entry, pnl, "test"), None)


def line(summary: str, start: str) -> str:
    (found,) = [text.strip() for text in summary.splitlines() if text.strip().startswith(start)]
    return found


def test_gross_plus_fees_is_the_net_as_shown_when_rounding_each_alone_would_not_add_up() -> None:
    # Exact: gross +0.016, fees -0.004, net +0.012; each rounded alone: +0.02, -0.00, +0.01.
    stats = SessionStats.of([closed(1, "0.016", "-0.004")])
    assert line(stats.render(), "PnL") == "PnL gross +0.01 USDT, fees 0.00 USDT, net +0.01 USDT"


def test_the_maximum_drawdown_is_shown_as_the_loss_it_is() -> None:
    stats = SessionStats.of([closed(1, "2", "0"), closed(2, "-1.25", "0"), closed(3, "1", "0")])
    assert line(stats.render(), "max drawdown") == "max drawdown -1.25 USDT"


def test_no_drawdown_and_a_rounded_away_loss_show_as_plain_zero() -> None:
    never_fell = SessionStats.of([closed(1, "2", "0"), closed(2, "1", "0")])
    assert line(never_fell.render(), "max drawdown") == "max drawdown 0.00 USDT"
    assert usdt(Decimal("-0.004")) == "0.00 USDT"


def test_breaker_trips_are_listed_and_their_absence_and_plugins_that_behaved_are_said() -> None:
    calm = SessionStats().render()
    assert line(calm, "circuit-breaker trips") == "circuit-breaker trips: none"
    assert line(calm, "plugin errors") == "plugin errors: none"
    tripped = SessionStats().render(trips=["08:07:30 circuit_breaker: 3 losses in a row"])
    assert line(tripped, "circuit-breaker trips") == "circuit-breaker trips: 1"
    assert line(tripped, "08:07:30") == "08:07:30 circuit_breaker: 3 losses in a row"


async def test_the_paper_summary_reads_the_trips_from_the_journal_and_says_what_is_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "paper.sqlite3"
    journal = await Journal.open(path, ManualClock(T0), JournalSettings(directory=tmp_path))
    try:
        await journal.commit(BreakerTrip(T0, "circuit_breaker", "daily loss 3.1 % of equity"))
    finally:
        await journal.close()

    flat = PaperResult(SessionStats(), path, open_at_end=0).summary()
    assert "08:00:00 circuit_breaker: daily loss 3.1 % of equity" in flat
    assert "open at the end" not in flat
    kept = PaperResult(SessionStats(), path, open_at_end=2).summary()
    assert (
        line(kept, "open at the end") == "open at the end: 2 (kept, with their exchange-side stops)"
    )
    bare = PaperResult(SessionStats(), path, open_at_end=2, unprotected_at_end=1).summary()
    assert line(bare, "open at the end") == (
        "open at the end: 2, 1 of them WITHOUT an exchange-side stop"
    )
