"""A run's figures, and a configuration's over all its runs — exact, so tables compare equal.

PnL stays ``Decimal``. A trade's return is its net PnL over the entry notional the engine commits
(``engine.entry_notional_usdt``), so configs with different entry sizes compare fairly; the
Sharpe ratio is the mean of the per-trade returns over their sample standard deviation, not
annualised (trades are not evenly spaced in time). It needs two trades and some spread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from host.report.figures import Figures as ReportFigures

PLACES = Decimal("0.000001")
"""Ratios are rounded to six places: enough to rank, short enough to read."""


@dataclass(frozen=True, slots=True)
class Figures:
    """What a run (or a configuration over its runs) made of the market."""

    trades: int
    wins: int
    net_pnl: Decimal
    fees: Decimal
    max_drawdown: Decimal
    """The largest fall of cumulative net PnL from a peak, as a positive amount."""
    returns: tuple[Decimal, ...]
    """Each closed trade's net PnL over the entry notional, in close order."""

    @property
    def win_rate(self) -> Decimal | None:
        """Wins over trades (``None`` without a trade)."""
        return (Decimal(self.wins) / self.trades).quantize(PLACES) if self.trades else None

    @property
    def sharpe(self) -> Decimal | None:
        """Mean over sample standard deviation of the per-trade returns (``None``: undefined)."""
        return sharpe(self.returns)


def figures_of(report: ReportFigures, entry_notional: Decimal) -> Figures:
    """A run's figures from its journal (as ``scalphost report`` reads it).

    The journal, not the engine's session statistics: those keep only the latest trades, and a
    long replay's Sharpe ratio must cover every one.
    """
    closes = sorted(report.trades, key=lambda trade: trade.closed.closed_at)
    return Figures(
        trades=len(report.trades),
        wins=report.wins,
        net_pnl=report.net,
        fees=report.fees,
        max_drawdown=-report.max_drawdown,
        returns=tuple(trade.closed.pnl.net / entry_notional for trade in closes),
    )


def pooled(runs: Sequence[Figures]) -> Figures:
    """A configuration's figures over its runs: sums, the worst drawdown, every trade's return."""
    return Figures(
        trades=sum(run.trades for run in runs),
        wins=sum(run.wins for run in runs),
        net_pnl=sum((run.net_pnl for run in runs), Decimal(0)),
        fees=sum((run.fees for run in runs), Decimal(0)),
        max_drawdown=max((run.max_drawdown for run in runs), default=Decimal(0)),
        returns=tuple(r for run in runs for r in run.returns),
    )


def sharpe(returns: Iterable[Decimal]) -> Decimal | None:
    """Mean over sample standard deviation; ``None`` for fewer than two or identical returns."""
    values = list(returns)
    if len(values) < 2:
        return None
    with localcontext() as context:
        context.prec = 28
        mean = sum(values, Decimal(0)) / len(values)
        variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / (len(values) - 1)
        if variance == 0:
            return None
        return (mean / variance.sqrt()).quantize(PLACES)
