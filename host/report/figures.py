"""The report's figures, computed from the journal's rows; Decimal until something is drawn.

The session totals, the net PnL by regime and by exit, the win count and the maximum drawdown
are the session summary's own computations (:class:`host.engine.stats.SessionStats`), run on the
journal's closes instead of the engine's live counters, so a report and the summary a run ends
with cannot disagree on them. What the summary has no figure for (by instrument, holding
times, fills, slippage, balances, the post-mortem events) is computed here.

What the journal does not record is listed in :data:`NOT_RECORDED`, so a report says so rather
than showing a zero that would pass for a measurement.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from host.domain import ClosedPosition, Side
from host.engine.stats import ClosedTrade, SessionStats
from host.report.source import Balance, EntryOrder, Event, JournalRows
from host.settings import HookSettings

BASIS_POINTS = Decimal(10_000)

NOT_RECORDED = (
    "funding fees: the journal records no account bills (see --against-exchange)",
    "reconnects: counted by the connection's health while a session runs, not journaled",
    "exchange-side stops OKX refused to place: logged, not journaled",
    "each plugin error: only a plugin switched off for its errors is journaled",
    "cancels and reprices of resting entries: an unfilled limit entry shows only as unfilled",
)
"""Figures the issue asks for that the journal cannot give."""


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Cumulative net PnL after one close, and how far it stands below its previous peak."""

    at: datetime
    equity: Decimal
    drawdown: Decimal
    """Zero at a new peak, negative below one: a drawdown is a loss."""


@dataclass(frozen=True, slots=True)
class LimitEntry:
    """A limit entry OKX acknowledged: how long it took to fill against the longest wait allowed.

    ``time_to_fill`` runs from the acknowledgement (when its wait starts) to its first fill;
    ``None`` when it never filled. ``max_wait`` is the host's bound for its regime.
    """

    order: EntryOrder
    time_to_fill: timedelta | None
    max_wait: timedelta | None


@dataclass(frozen=True, slots=True)
class Slippage:
    """How far an entry's average fill price was from its signal's price, in basis points.

    Positive: worse for the trader (a buy above, a sell below the signal's price).
    """

    order: EntryOrder
    average_price: Decimal
    bps: Decimal


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything a report shows, from one period of one journal."""

    trades: tuple[ClosedTrade, ...]
    gross: Decimal
    fees: Decimal
    net: Decimal
    wins: int
    max_drawdown: Decimal
    """The deepest fall of cumulative net PnL below a previous peak: zero or negative."""
    equity: tuple[EquityPoint, ...]
    net_by_regime: dict[str, Decimal]
    net_by_exit: dict[str, Decimal]
    net_by_instrument: dict[str, Decimal]
    holding: tuple[timedelta, ...]
    open_positions: int
    signals: int
    vetoed: int
    entries: int
    limit_entries: tuple[LimitEntry, ...]
    market_entries: int
    slippage: tuple[Slippage, ...]
    fill_fees: tuple[tuple[datetime, Decimal], ...]
    balances: tuple[Balance, ...]
    trips: tuple[Event, ...]
    errors: tuple[Event, ...]
    rejections: tuple[Event, ...]

    @property
    def fills_of_limit_entries(self) -> int:
        """Acknowledged limit entries that filled, at least partly."""
        return sum(1 for entry in self.limit_entries if entry.time_to_fill is not None)

    @property
    def filled_past_wait(self) -> int:
        """Limit entries whose first fill came after their regime's longest wait."""
        return sum(
            1
            for entry in self.limit_entries
            if entry.time_to_fill is not None
            and entry.max_wait is not None
            and entry.time_to_fill > entry.max_wait
        )

    @property
    def fees_paid_on_fills(self) -> Decimal:
        """Every fill's fee in the period, OKX-signed (negative: charged), open positions too."""
        return sum((fee for _, fee in self.fill_fees), Decimal(0))

    @property
    def plugin_errors(self) -> dict[str, int]:
        """Plugins switched off for their errors (the journaled plugin errors), per plugin."""
        prefix = "plugin:"
        return dict(
            Counter(e.source[len(prefix) :] for e in self.errors if e.source.startswith(prefix))
        )

    @property
    def rejections_by_code(self) -> dict[str, int]:
        """Refused or failed order requests per OKX code, most frequent first."""
        return dict(Counter(event.source for event in self.rejections).most_common())


def exact_seconds(duration: timedelta) -> Decimal:
    """A duration in seconds, exactly (a float's ``total_seconds()`` is not)."""
    return Decimal(duration // timedelta(microseconds=1)).scaleb(-6)


def compute(rows: JournalRows, hooks: HookSettings) -> Figures:
    """The figures of ``rows``; ``hooks`` gives the per-regime waits a fill is measured against."""
    trades = tuple(ClosedTrade(closed, regime) for closed, regime in rows.closed)
    stats = SessionStats.of(trades)
    gross, fees, net = stats.totals()
    return Figures(
        trades=trades,
        gross=gross,
        fees=fees,
        net=net,
        wins=stats.wins,
        max_drawdown=-stats.max_drawdown(),
        equity=equity_curve(closed for closed, _ in rows.closed),
        net_by_regime=stats.net_by("regime"),
        net_by_exit=stats.net_by("reason"),
        net_by_instrument=_net_by_instrument(closed for closed, _ in rows.closed),
        holding=tuple(closed.closed_at - closed.position.entry_time for closed, _ in rows.closed),
        open_positions=rows.open_positions,
        signals=rows.signals,
        vetoed=rows.vetoed,
        entries=len(rows.entries),
        limit_entries=tuple(e for e in (_limit_entry(o, hooks) for o in rows.entries) if e),
        market_entries=sum(1 for e in rows.entries if e.price is None),
        slippage=tuple(s for s in map(_slippage, rows.entries) if s is not None),
        fill_fees=rows.fill_fees,
        balances=rows.balances,
        trips=rows.trips,
        errors=rows.errors,
        rejections=rows.rejections,
    )


def equity_curve(closes: Iterable[ClosedPosition]) -> tuple[EquityPoint, ...]:
    """Cumulative net PnL close by close (in the order given: time order), with its drawdown."""
    points = []
    peak = equity = Decimal(0)
    for closed in closes:
        equity += closed.pnl.net
        peak = max(peak, equity)
        points.append(EquityPoint(closed.closed_at, equity, equity - peak))
    return tuple(points)


def _net_by_instrument(closes: Iterable[ClosedPosition]) -> dict[str, Decimal]:
    groups: dict[str, Decimal] = defaultdict(Decimal)
    for closed in closes:
        groups[closed.position.inst_id] += closed.pnl.net
    return dict(sorted(groups.items()))


def _limit_entry(order: EntryOrder, hooks: HookSettings) -> LimitEntry | None:
    """The limit entry's wait for a fill; ``None`` for a market order or one OKX never took."""
    if order.price is None or order.acked_at is None:
        return None
    first_fill = order.fills[0].ts - order.acked_at if order.fills else None
    wait = None if order.regime is None else hooks.limit_order_max_wait_seconds.of(order.regime)
    return LimitEntry(order, first_fill, wait)


def _slippage(order: EntryOrder) -> Slippage | None:
    """The entry's slippage; ``None`` without fills or without a signal price to measure from."""
    size = sum((fill.size for fill in order.fills), Decimal(0))
    if not size or not order.signal_price:
        return None
    average = sum((fill.price * fill.size for fill in order.fills), Decimal(0)) / size
    sign = 1 if order.side is Side.BUY else -1
    bps = sign * (average - order.signal_price) / order.signal_price * BASIS_POINTS
    return Slippage(order, average, bps)
