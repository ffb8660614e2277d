"""The session's figures, and the summary ``scalphost run`` ends with.

Kept by the engine's parts as they go (closes with their regime at entry and exit reason,
entries, drift adoptions and how long each took to protect), so the summary needs no second
pass over the journal. The plugins' health (errors, switched-off plugins, budget overruns) is the
plugin guard's :class:`~host.plugin_guard.FaultLog`, which the runner hands over. PnL stays
Decimal to the end; only the printed summary formats it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
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


@dataclass(slots=True)
class SessionStats:
    """Counters and closed trades of one run."""

    ticks: int = 0
    signals: int = 0
    vetoed: int = 0
    entries_sent: int = 0
    entries_filled: int = 0
    entries_expired: int = 0
    adopted: int = 0
    protect_seconds: list[float] = field(default_factory=list)
    """Seconds from finding a position on the exchange to its exchange-side stop."""
    trades: list[ClosedTrade] = field(default_factory=list)
    faults: FaultLog = field(default_factory=FaultLog)
    """The plugins' failures and overruns (the plugin host's log, set by the runner)."""
    _entry_regimes: dict[str, Regime] = field(default_factory=dict, init=False, repr=False)
    """The regime each open position was entered (or adopted, or restored) in, by ``posId``."""

    def entered(self, pos_id: str, regime: Regime) -> None:
        """Note the regime a position was opened in (its close is counted under it)."""
        self._entry_regimes[pos_id] = regime

    def record_close(self, closed: ClosedPosition) -> None:
        """Count one closed position, under the regime it was entered in (if known)."""
        regime = self._entry_regimes.pop(closed.position.pos_id, None)
        self.trades.append(ClosedTrade(closed, regime))

    @property
    def wins(self) -> int:
        """Closed positions with a positive net PnL."""
        return sum(1 for trade in self.trades if trade.closed.pnl.net > 0)

    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        """Gross PnL, fees and net PnL of every closed position."""
        gross = sum((t.closed.pnl.gross for t in self.trades), Decimal(0))
        fees = sum((t.closed.pnl.fees for t in self.trades), Decimal(0))
        return gross, fees, gross + fees

    def net_by(self, key: str) -> dict[str, Decimal]:
        """Net PnL grouped by ``"regime"`` (at entry) or ``"reason"`` (of the exit)."""
        groups: dict[str, Decimal] = defaultdict(Decimal)
        for trade in self.trades:
            name = (
                str(trade.regime or "unknown") if key == "regime" else _reason(trade.closed.reason)
            )
            groups[name] += trade.closed.pnl.net
        return dict(sorted(groups.items()))

    def max_drawdown(self) -> Decimal:
        """The largest fall of cumulative net PnL from a previous peak (closes in time order)."""
        peak = equity = drawdown = Decimal(0)
        for trade in sorted(self.trades, key=lambda t: t.closed.closed_at):
            equity += trade.closed.pnl.net
            peak = max(peak, equity)
            drawdown = max(drawdown, peak - equity)
        return drawdown

    def render(self, journal: Path | None = None, trips: Sequence[str] = ()) -> str:
        """The human summary printed at the end of a run.

        Gross, fees and net are rounded so that they add up as shown; the maximum drawdown is
        shown as the loss it is. ``trips`` are the circuit-breaker trips of the run, one line
        each (the journal has them; the counters here do not).
        """
        _, fees_exact, net_exact = self.totals()
        gross, fees, net = shown_pnl(net_exact, fees_exact)
        count = len(self.trades)
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
        if self.protect_seconds:
            worst = max(self.protect_seconds)
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
