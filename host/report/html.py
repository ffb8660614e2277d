"""The report as one self-contained HTML page of interactive plotly plots.

plotly, because it is the plotting library this field reaches for, and because one call embeds
plotly.js in the page: the file opens offline, on a machine without internet, and can be mailed
as it is. The page carries the terminal's tables too, so it stands alone. Decimal turns into
float only here, at the last step, where a point on a plot needs no more than a float's digits.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from itertools import accumulate

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from host.domain import Regime
from host.report.figures import NOT_RECORDED, Figures
from host.report.terminal import render_text

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
.plot { height: 420px; }
pre { font-size: 0.8em; background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def render_html(figures: Figures, title: str) -> str:
    """The whole page: plotly.js inline, one ``div.plot`` per figure, the tables as text."""
    sections = "\n".join(
        f"<h2>{html.escape(heading)}</h2>\n"
        + figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"plot-{number}",
            default_height="420px",
            config={"displaylogo": False},
        )
        for number, (heading, figure) in enumerate(plots(figures))
    )
    missing = "".join(f"<li>{html.escape(line)}</li>" for line in NOT_RECORDED)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>\n{sections}\n"
        f"<h2>Not in the journal, so not in this report</h2><ul>{missing}</ul>"
        f"<h2>Tables</h2><pre>{html.escape(render_text(figures, title))}</pre>"
        "</body></html>\n"
    )


def plots(figures: Figures) -> list[tuple[str, go.Figure]]:
    """Every plot of the page with its heading, in reading order."""
    return [
        ("Equity curve and drawdown (net PnL, cumulative by close)", _equity(figures)),
        ("Net PnL per trade", _per_trade(figures)),
        ("Net PnL by regime, by exit and by instrument", _groups(figures)),
        ("Holding times", _holding(figures)),
        ("Limit entries: time to fill against the regime's longest wait", _fills(figures)),
        ("Slippage from the signal price", _slippage(figures)),
        ("Fees of fills (funding is not journaled)", _fees(figures)),
        ("Balance over time", _balance(figures)),
        ("Circuit-breaker trips, errors and rejections", _events(figures)),
    ]


def _floats(values: Iterable[Decimal]) -> list[float]:
    return [float(value) for value in values]


def _minutes(values: Iterable[timedelta]) -> list[float]:
    return [value.total_seconds() / 60 for value in values]


def _empty(figure: go.Figure, shown: Sequence[object], what: str) -> go.Figure:
    """Say on the plot that there was nothing to draw, rather than show blank axes."""
    if not shown:
        figure.add_annotation(text=f"no {what} in this period", showarrow=False, font_size=16)
    return figure


def _equity(figures: Figures) -> go.Figure:
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35])
    times = [point.at for point in figures.equity]
    equity = _floats(point.equity for point in figures.equity)
    drawdown = _floats(point.drawdown for point in figures.equity)
    figure.add_trace(go.Scatter(x=times, y=equity, name="net PnL (USDT)", mode="lines+markers"))
    figure.add_trace(
        go.Scatter(x=times, y=drawdown, name="drawdown (USDT)", fill="tozeroy", line_color="red"),
        row=2,
        col=1,
    )
    return _empty(figure, times, "closed trades")


def _per_trade(figures: Figures) -> go.Figure:
    trades = [trade.closed for trade in figures.trades]
    nets = _floats(closed.pnl.net for closed in trades)
    figure = go.Figure(
        go.Bar(
            x=list(range(1, len(trades) + 1)),
            y=nets,
            marker_color=["seagreen" if net > 0 else "firebrick" for net in nets],
            hovertext=[
                f"{c.closed_at:%H:%M:%S} {c.position.inst_id} {c.position.side}: {c.reason}"
                for c in trades
            ],
            name="net PnL (USDT)",
        )
    )
    figure.update_xaxes(title_text="trade, in the order closed")
    return _empty(figure, trades, "closed trades")


def _groups(figures: Figures) -> go.Figure:
    groups = {
        "regime": figures.net_by_regime,
        "exit": figures.net_by_exit,
        "instrument": figures.net_by_instrument,
    }
    figure = make_subplots(rows=1, cols=3, subplot_titles=[f"by {name}" for name in groups])
    for column, values in enumerate(groups.values(), start=1):
        figure.add_trace(
            go.Bar(x=list(values), y=_floats(values.values()), showlegend=False), row=1, col=column
        )
    return _empty(figure, figures.trades, "closed trades")


def _holding(figures: Figures) -> go.Figure:
    figure = go.Figure(go.Histogram(x=_minutes(figures.holding), name="minutes held"))
    figure.update_xaxes(title_text="minutes held")
    return _empty(figure, figures.holding, "closed trades")


def _fills(figures: Figures) -> go.Figure:
    figure = go.Figure()
    filled = [entry for entry in figures.limit_entries if entry.time_to_fill is not None]
    for regime in Regime:
        group = [entry for entry in filled if entry.order.regime is regime]
        if not group:
            continue
        figure.add_trace(
            go.Scatter(
                x=[entry.order.created_at for entry in group],
                y=[entry.time_to_fill.total_seconds() for entry in group if entry.time_to_fill],
                mode="markers",
                name=f"{regime.value}: time to fill (s)",
            )
        )
        wait = group[0].max_wait
        if wait is not None:
            figure.add_hline(
                y=wait.total_seconds(),
                line_dash="dash",
                annotation_text=f"longest wait, {regime.value}",
            )
    count = len(figures.limit_entries)
    figure.update_layout(title=f"{len(filled)} of {count} acknowledged limit entries filled")
    figure.update_yaxes(title_text="seconds from acknowledgement to first fill")
    return _empty(figure, filled, "filled limit entries")


def _slippage(figures: Figures) -> go.Figure:
    figure = go.Figure(
        go.Scatter(
            x=[s.order.created_at for s in figures.slippage],
            y=_floats(s.bps for s in figures.slippage),
            mode="markers",
            hovertext=[f"{s.order.inst_id} {s.order.side}" for s in figures.slippage],
            name="bps (positive: worse)",
        )
    )
    figure.update_yaxes(title_text="bps from the signal price (positive: worse)")
    return _empty(figure, figures.slippage, "filled entries with a signal price")


def _fees(figures: Figures) -> go.Figure:
    figure = go.Figure(
        go.Scatter(
            x=[at for at, _ in figures.fill_fees],
            y=_floats(accumulate(fee for _, fee in figures.fill_fees)),
            mode="lines",
            name="fees, cumulative (USDT; negative: paid)",
        )
    )
    return _empty(figure, figures.fill_fees, "fills")


def _balance(figures: Figures) -> go.Figure:
    figure = go.Figure()
    for field in ("equity", "available"):
        figure.add_trace(
            go.Scatter(
                x=[balance.at for balance in figures.balances],
                y=_floats(getattr(balance, field) for balance in figures.balances),
                mode="lines",
                name=field,
            )
        )
    return _empty(figure, figures.balances, "balances")


def _events(figures: Figures) -> go.Figure:
    kinds = {
        "circuit-breaker trips": figures.trips,
        "errors": figures.errors,
        "rejections": figures.rejections,
    }
    figure = go.Figure()
    for name, events in kinds.items():
        figure.add_trace(
            go.Scatter(
                x=[event.at for event in events],
                y=[name] * len(events),
                mode="markers",
                marker_size=12,
                hovertext=[f"{event.source}: {event.text}" for event in events],
                name=name,
            )
        )
    return _empty(figure, [e for events in kinds.values() for e in events], "such events")
