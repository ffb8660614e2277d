"""The report in the terminal: rich tables of the figures, money rounded to the cent.

Rounding is done only for the screen, so that what the tables show adds up: gross + fees = net
as shown (:func:`host.money.shown_pnl`, which the end-of-run summary uses too). A drawdown is
shown as what it is, a loss: negative.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from typing import TypeVar

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table

from host.domain import Regime
from host.money import CENT, shown_pnl, usdt
from host.report.figures import NOT_RECORDED, Figures, LimitEntry, exact_seconds
from host.report.source import Event

TENTH = Decimal("0.1")

T = TypeVar("T", Decimal, timedelta)


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage to a tenth, ``n/a`` of nothing."""
    if not whole:
        return "n/a"
    return f"{(Decimal(100) * part / whole).quantize(TENTH, ROUND_HALF_UP)} %"


def seconds(value: timedelta) -> str:
    """A duration in seconds, to a tenth."""
    return f"{exact_seconds(value).quantize(TENTH, ROUND_HALF_UP)} s"


def median(values: Sequence[T]) -> T:
    """The middle value (the lower of the two middle ones for an even count: a real value)."""
    return sorted(values)[(len(values) - 1) // 2]


def render_text(figures: Figures, title: str, width: int = 120) -> str:
    """The report as plain text (what the terminal shows, without colour)."""
    console = Console(file=StringIO(), width=width, no_color=True, highlight=False, record=True)
    console.print(report(figures, title))
    return console.export_text()


def report(figures: Figures, title: str) -> RenderableType:
    """Every table of the report, in reading order."""
    return Group(
        f"[bold]{title}[/bold]",
        _session(figures),
        _groups(figures),
        _limit_entries(figures.limit_entries),
        _slippage(figures),
        _events("Circuit-breaker trips", "plugin", figures.trips),
        _events("Errors", "source", figures.errors),
        _rejections(figures),
        "Not in the journal, so not in this report:",
        *(f"  - {line}" for line in NOT_RECORDED),
    )


def table(title: str, *columns: str) -> Table:
    """A report table: titled on the left, a rule under the header, no outer frame."""
    made = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for column in columns:
        made.add_column(column)
    return made


def _session(figures: Figures) -> Table:
    gross, fees, net = shown_pnl(figures.net, figures.fees)
    count = len(figures.trades)
    shown = table("Session", "figure", "value")
    rows = [
        ("trades", str(count)),
        ("wins", f"{figures.wins} ({percent(figures.wins, count)})"),
        ("net PnL", usdt(net)),
        ("gross PnL", usdt(gross)),
        ("fees of closed trades", usdt(fees)),
        ("max drawdown", usdt(figures.max_drawdown)),
        ("open at the end", str(figures.open_positions)),
        ("signals", f"{figures.signals} ({figures.vetoed} vetoed)"),
        (
            "entries sent",
            f"{figures.entries} ({len(figures.limit_entries)} limit acknowledged, "
            f"{figures.market_entries} at the market)",
        ),
        (
            "limit fill rate",
            f"{figures.fills_of_limit_entries} of {len(figures.limit_entries)} "
            f"({percent(figures.fills_of_limit_entries, len(figures.limit_entries))})",
        ),
        ("holding time", _spread(figures.holding, seconds)),
        ("fees of all fills", usdt(figures.fees_paid_on_fills)),
        (
            "plugins switched off",
            ", ".join(f"{name} ({n}x)" for name, n in figures.plugin_errors.items()) or "none",
        ),
        ("balance", _balance(figures)),
    ]
    for row in rows:
        shown.add_row(*row)
    return shown


def _spread(values: Sequence[T], show: Callable[[T], str]) -> str:
    if not values:
        return "n/a"
    return f"median {show(median(values))}, max {show(max(values))}"


def _balance(figures: Figures) -> str:
    if not figures.balances:
        return "none journaled"
    first, last = figures.balances[0], figures.balances[-1]
    return (
        f"equity {last.equity} {last.currency} at the end, "
        f"{usdt(last.equity - first.equity)} since {_time(first.at)}"
    )


def _groups(figures: Figures) -> Table:
    shown = table("Net PnL by", "group", "name", "net")
    for group, values in (
        ("regime", figures.net_by_regime),
        ("exit", figures.net_by_exit),
        ("instrument", figures.net_by_instrument),
    ):
        for name, value in values.items():
            shown.add_row(group, name, usdt(value))
    return shown


def _limit_entries(entries: Iterable[LimitEntry]) -> Table:
    shown = table(
        "Limit entries by regime (time to fill from OKX's acknowledgement)",
        "regime",
        "longest wait",
        "acknowledged",
        "filled",
        "time to fill",
        "filled after the wait",
    )
    by_regime: dict[str, list[LimitEntry]] = {}
    for entry in entries:
        regime = entry.order.regime
        by_regime.setdefault("unknown" if regime is None else regime.value, []).append(entry)
    for name in [r.value for r in Regime if r.value in by_regime] + (
        ["unknown"] if "unknown" in by_regime else []
    ):
        group = by_regime[name]
        waits = [e.time_to_fill for e in group if e.time_to_fill is not None]
        limit = group[0].max_wait
        late = sum(1 for wait in waits if limit is not None and wait > limit)
        shown.add_row(
            name,
            "n/a" if limit is None else seconds(limit),
            str(len(group)),
            str(len(waits)),
            _spread(waits, seconds),
            str(late),
        )
    return shown


def _slippage(figures: Figures) -> Table:
    shown = table("Slippage from the signal price (bps; positive: worse)", "figure", "value")
    values = [s.bps for s in figures.slippage]
    shown.add_row("filled entries measured", str(len(values)))
    if values:
        shown.add_row("mean", _bps(sum(values, Decimal(0)) / len(values)))
        shown.add_row("median", _bps(median(values)))
        shown.add_row("worst", _bps(max(values)))
    return shown


def _bps(value: Decimal) -> str:
    return f"{value.quantize(CENT, ROUND_HALF_UP):+} bps"


def _events(title: str, source: str, events: Sequence[Event]) -> RenderableType:
    if not events:
        return f"{title}: none"
    shown = table(f"{title}: {len(events)}", "at", source, "what")
    for event in events:
        shown.add_row(_time(event.at), event.source, event.text)
    return shown


def _rejections(figures: Figures) -> RenderableType:
    by_code = figures.rejections_by_code
    if not by_code:
        return "Rejections: none"
    shown = table(f"Rejections by OKX code: {len(figures.rejections)}", "code", "count", "last")
    for code, count in by_code.items():
        last = next(e for e in reversed(figures.rejections) if e.source == code)
        shown.add_row(code, str(count), last.text)
    return shown


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
