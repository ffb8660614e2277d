"""``scalphost report`` from the command line's arguments to the files and the terminal.

The command line parses, this module decides what to read and where to write; bad input (a
missing journal, an unreadable time) is a :class:`~host.report.source.ReportInputError` the
command line prints as one line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from rich.console import Console

from host.clock import Clock, ensure_utc
from host.exchange.errors import OkxError
from host.report.against import differences, render_differences
from host.report.csv_export import write_csv
from host.report.figures import Figures, compute
from host.report.html import render_html
from host.report.journal_record import read_journal_record
from host.report.okx_record import fetch_okx_record
from host.report.source import Period, ReportInputError, read_only, read_rows
from host.report.terminal import report
from host.settings import HookSettings, Settings

LAST_MILLISECOND = timedelta(milliseconds=1)
"""OKX's ``end`` is inclusive and in milliseconds; a report's ``until`` is exclusive."""


def parse_instant(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 time for ``--since`` / ``--until``; one without an offset is taken as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportInputError(
            f"{option}: {text!r} is not an ISO 8601 time (e.g. 2025-01-06T08:00 or "
            "2025-01-06T09:00+01:00)"
        ) from None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return ensure_utc(moment)


def load(journal: Path, period: Period, hooks: HookSettings) -> Figures:
    """The figures of ``period`` in ``journal``."""
    with read_only(journal) as connection:
        rows = read_rows(connection, period)
    return compute(rows, hooks)


def title(journal: Path, period: Period) -> str:
    """What the report is of: the journal and the period asked for."""
    since = "the start" if period.since is None else period.since.isoformat()
    until = "the end" if period.until is None else period.until.isoformat()
    return f"scalphost report: {journal}, from {since} to {until}"


def run_report(
    journal: Path,
    period: Period,
    hooks: HookSettings,
    *,
    html: Path | None,
    csv: Path | None,
    console: Console,
) -> None:
    """Print the report's tables; write the HTML page and the CSV files when asked."""
    figures = load(journal, period, hooks)
    heading = title(journal, period)
    console.print(report(figures, heading))
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(figures, heading), encoding="utf-8")
        console.print(f"HTML report: {html}")
    if csv is not None:
        written = write_csv(figures, csv)
        console.print(f"CSV files: {', '.join(str(path) for path in written)}")


async def run_against_exchange(
    journal: Path, period: Period, settings: Settings, clock: Clock, console: Console
) -> int:
    """Compare ``journal`` with OKX's record of the period; print it; the differences found.

    OKX is asked from ``--since`` or, without it, from the journal's first fill, so fills made
    before this journal existed are not taken for ones it lost.
    """
    if not settings.exchange.rest_url or settings.credentials.api_key is None:
        raise ReportInputError(
            "--against-exchange needs exchange.rest_url and the account's credentials "
            "(SCALPHOST_CREDENTIALS__API_KEY, __SECRET_KEY, __PASSPHRASE); a paper session's "
            "simulator is gone once it ends"
        )
    with read_only(journal) as connection:
        ours = read_journal_record(connection, period)
    begin = period.since or (ours.fills[0].ts if ours.fills else None)
    end = None if period.until is None else period.until - LAST_MILLISECOND
    try:
        theirs = await fetch_okx_record(settings, clock, begin, end)
    except (OkxError, aiohttp.ClientError) as error:
        raise ReportInputError(f"{settings.exchange.rest_url}: {error}") from None
    found = differences(ours, theirs)
    console.print(f"[bold]{title(journal, period)}, against {settings.exchange.rest_url}[/bold]")
    console.print(render_differences(ours, theirs, found))
    return len(found)
