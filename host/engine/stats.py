"""The session's figures, and the summary ``scalphost run`` ends with.

Kept by the engine's parts as they go (closes with their regime at entry and exit reason,
entries, drift adoptions and how long each took to protect), so the summary needs no second
pass over the journal. The plugins' health (errors, switched-off plugins, budget overruns) is the
plugin guard's :class:`~host.plugin_guard.FaultLog`, which the runner hands over. PnL stays
Decimal to the end; only the printed summary formats it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from host.domain import ClosedPosition, Regime
from host.money import shown_pnl, usdt
from host.plugin_guard import FaultLog, format_ns


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A closed position with the regime it was entered in."""

    closed: ClosedPosition
    regime: Regime | None


RECENT_TRADES = 1_000
"""Closed trades a session keeps to look at (tests, a debugger). Its figures are running totals
over every trade, so a host that runs for weeks does not hold each one (the journal has them)."""


@dataclass(slots=True)
class SessionStats:
    """Counters and running totals of one run; the latest closed trades.

    Every figure of the summary is kept up to date as positions close, in the order they are
    recorded (the engine records a close as the exchange reports it; the report hands them over
    oldest first), so nothing here grows with the length of a session but :attr:`trades`, which
    keeps the last :data:`RECENT_TRADES`.
    """

    ticks: int = 0
    signals: int = 0
    vetoed: int = 0
    entries_sent: int = 0
    entries_filled: int = 0
    entries_expired: int = 0
    adopted: int = 0
    slowest_protect_seconds: float | None = None
    """Longest seconds from finding a position on the exchange to its exchange-side stop."""
    trades: deque[ClosedTrade] = field(
        default_factory=lambda: deque(maxlen=RECENT_TRADES), init=False
    )
    """The latest closed trades, oldest first."""
    closed: int = 0
    """Positions closed in the session."""
    wins: int = 0
    """Closed positions with a positive net PnL."""
    faults: FaultLog = field(default_factory=FaultLog)
    """The plugins' failures and overruns (the plugin host's log, set by the runner)."""
    _gross: Decimal = field(default=Decimal(0), init=False, repr=False)
    _fees: Decimal = field(default=Decimal(0), init=False, repr=False)
    _net_by: dict[str, dict[str, Decimal]] = field(
        default_factory=lambda: {"regime": defaultdict(Decimal), "reason": defaultdict(Decimal)},
        init=False,
        repr=False,
    )
    _peak: Decimal = field(default=Decimal(0), init=False, repr=False)
    _drawdown: Decimal = field(default=Decimal(0), init=False, repr=False)
    _entry_regimes: dict[str, Regime] = field(default_factory=dict, init=False, repr=False)
    """The regime each open position was entered (or adopted, or restored) in, by ``posId``."""

    @classmethod
    def of(cls, trades: Iterable[ClosedTrade]) -> SessionStats:
        """The figures of ``trades``, given oldest first (a report's, from the journal)."""
        stats = cls()
        for trade in trades:
            stats.count(trade)
        return stats

    def entered(self, pos_id: str, regime: Regime) -> None:
        """Note the regime a position was opened in (its close is counted under it)."""
        self._entry_regimes[pos_id] = regime

    def record_close(self, closed: ClosedPosition) -> None:
        """Count one closed position, under the regime it was entered in (if known)."""
        regime = self._entry_regimes.pop(closed.position.pos_id, None)
        self.count(ClosedTrade(closed, regime))

    def count(self, trade: ClosedTrade) -> None:
        """Add one closed trade to the figures."""
        pnl = trade.closed.pnl
        self.trades.append(trade)
        self.closed += 1
        self.wins += pnl.net > 0
        self._gross += pnl.gross
        self._fees += pnl.fees
        self._net_by["regime"][str(trade.regime or "unknown")] += pnl.net
        self._net_by["reason"][_reason(trade.closed.reason)] += pnl.net
        equity = self._gross + self._fees
        self._peak = max(self._peak, equity)
        self._drawdown = max(self._drawdown, self._peak - equity)

    def protected_after(self, seconds: float) -> None:
        """Note how long an adopted position waited for its exchange-side stop."""
        slowest = self.slowest_protect_seconds
        self.slowest_protect_seconds = seconds if slowest is None else max(slowest, seconds)

    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        """Gross PnL, fees and net PnL of every closed position."""
        return self._gross, self._fees, self._gross + self._fees

    def net_by(self, key: str) -> dict[str, Decimal]:
        """Net PnL grouped by ``"regime"`` (at entry) or ``"reason"`` (of the exit)."""
        return dict(sorted(self._net_by[key].items()))

    def max_drawdown(self) -> Decimal:
        """The largest fall of cumulative net PnL from a previous peak (closes in record order)."""
        return self._drawdown

    def render(self, journal: Path | None = None, trips: Sequence[str] = ()) -> str:
        """The human summary printed at the end of a run.

        Gross, fees and net are rounded so that they add up as shown; the maximum drawdown is
        shown as the loss it is. ``trips`` are the circuit-breaker trips of the run, one line
        each (the journal has them; the counters here do not).
        """
        _, fees_exact, net_exact = self.totals()
        gross, fees, net = shown_pnl(net_exact, fees_exact)
        count = self.closed
        win_rate = f"{100 * self.wins / count:.1f} %" if count else "n/a"
        lines = [
            "Session summary",
            f"  ticks {self.ticks}, signals {self.signals} ({self.vetoed} vetoed), entries sent "
            f"{self.entries_sent}, filled {self.entries_filled}, expired {self.entries_expired}",
            f"  trades {count}, win rate {win_rate}",
            f"  PnL gross {usdt(gross)}, fees {usdt(fees)}, net {usdt(net)}",
            f"  max drawdown {usdt(-self.max_drawdown())}",
            "  net by regime: " + _groups(self.net_by("regime")),
            "  net by exit:   " + _groups(self.net_by("reason")),
        ]
        if self.slowest_protect_seconds is not None:
            worst = self.slowest_protect_seconds
            lines.append(
                f"  adopted positions {self.adopted}, detection to exchange-side stop: "
                f"max {worst * 1000:.0f} ms"
            )
        lines.append(f"  circuit-breaker trips: {len(trips) or 'none'}")
        lines.extend(f"    {trip}" for trip in trips)
        lines.extend(_plugin_health(self.faults) or ["  plugin errors: none"])
        if journal is not None:
            lines.append(f"  journal {journal}")
        return "\n".join(lines)


def _plugin_health(faults: FaultLog) -> list[str]:
    """Plugins that failed or ran over their hook's budget; nothing when every plugin behaved.

    A failing plugin shows its error count and, if it came to that, why it was switched off.
    """
    lines = []
    for plugin, count in faults.by_plugin().items():
        switched_off = faults.switched_off.get(plugin)
        lines.append(
            f"  plugin {plugin}: {count} errors" + (f", {switched_off}" if switched_off else "")
        )
    lines.extend(
        f"  plugin {slow.plugin}: over budget in {slow.hook}, at least {format_ns(slow.took_ns)} "
        f"a call (budget {format_ns(slow.budget_ns)})"
        for slow in faults.slow
    )
    return lines


def _reason(reason: str) -> str:
    """An exit reason's kind: the plugin or cause before any detail (``trailing_stop: ...``)."""
    return reason.split(":", 1)[0].strip() or "unknown"


def _groups(groups: dict[str, Decimal]) -> str:
    return ", ".join(f"{name} {usdt(value)}" for name, value in groups.items()) or "none"
