"""The report's figures as CSV files, one per table, for a spreadsheet or pandas.

Money is written as the Decimal's exact text (no rounding, no float), times as UTC ISO text and
durations in seconds, so a figure read back is the figure computed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from host.report.figures import Figures, exact_seconds

Cell = str | int | Decimal | datetime | timedelta | None


def write_csv(figures: Figures, directory: Path) -> list[Path]:
    """Write every table into ``directory`` (created if needed); the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        _write(directory / f"{name}.csv", header, rows) for name, header, rows in tables(figures)
    ]


def tables(figures: Figures) -> list[tuple[str, Sequence[str], Iterable[Sequence[Cell]]]]:
    """Each table's file name, header and rows."""
    trades = [trade.closed for trade in figures.trades]
    return [
        (
            "trades",
            (
                *("closed_at", "inst_id", "side", "regime", "entry_time", "held_s", "size"),
                *("entry_price", "exit_price", "gross", "fees", "net", "reason"),
            ),
            (
                (
                    c.closed_at,
                    c.position.inst_id,
                    c.position.side.value,
                    None if t.regime is None else t.regime.value,
                    c.position.entry_time,
                    c.closed_at - c.position.entry_time,
                    c.position.size,
                    c.position.entry_price,
                    c.exit_price,
                    c.pnl.gross,
                    c.pnl.fees,
                    c.pnl.net,
                    c.reason,
                )
                for t, c in zip(figures.trades, trades, strict=True)
            ),
        ),
        (
            "equity",
            ("at", "net_cumulative", "drawdown"),
            ((p.at, p.equity, p.drawdown) for p in figures.equity),
        ),
        (
            "limit_entries",
            (
                *("created_at", "cl_ord_id", "inst_id", "side", "price", "regime", "acked_at"),
                *("time_to_fill_s", "max_wait_s"),
            ),
            (
                (
                    e.order.created_at,
                    e.order.cl_ord_id,
                    e.order.inst_id,
                    e.order.side.value,
                    e.order.price,
                    None if e.order.regime is None else e.order.regime.value,
                    e.order.acked_at,
                    e.time_to_fill,
                    e.max_wait,
                )
                for e in figures.limit_entries
            ),
        ),
        (
            "slippage",
            ("created_at", "cl_ord_id", "inst_id", "side", "signal_price", "average_fill", "bps"),
            (
                (
                    s.order.created_at,
                    s.order.cl_ord_id,
                    s.order.inst_id,
                    s.order.side.value,
                    s.order.signal_price,
                    s.average_price,
                    s.bps,
                )
                for s in figures.slippage
            ),
        ),
        ("fill_fees", ("ts", "fee"), figures.fill_fees),
        (
            "balances",
            ("at", "currency", "equity", "available"),
            ((b.at, b.currency, b.equity, b.available) for b in figures.balances),
        ),
        (
            "events",
            ("kind", "at", "source", "text"),
            (
                (kind, e.at, e.source, e.text)
                for kind, events in (
                    ("breaker_trip", figures.trips),
                    ("error", figures.errors),
                    ("rejection", figures.rejections),
                )
                for e in events
            ),
        ),
    ]


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows([_cell(value) for value in row] for row in rows)
    return path


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, timedelta):
        return str(exact_seconds(value))
    return str(value)
