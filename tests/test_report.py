"""scalphost report: every figure it prints is recomputed here from the journal's own rows.

The journal comes from a real paper session — the fast replay (host/sessions/fast.py): the
simulator traded in-process through the same client code, engine and plugins as over sockets, in
a fraction of the time and the same journal every run — topped up through the journal's own API
with what a calm session does not produce: a breaker trip, a plugin switched off, rejections
under two OKX codes. The recomputation below reads the rows with plain SQL and Decimal,
independently of ``host.report``: a figure the report computes wrongly, or rounds so that its
parts no longer add up, fails here.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from browser import CHROMIUM, PageView, view_page
from PIL import Image, ImageStat

from host.clock import ManualClock
from host.domain import (
    ClosedPosition,
    Order,
    OrderRejection,
    OrderState,
    PnL,
    Position,
    PositionOrigin,
    PositionSide,
    Side,
)
from host.journal import (
    BreakerTrip,
    ErrorEvent,
    IntentOutcome,
    IntentPurpose,
    Journal,
    OrderIntent,
    Outcome,
    journal_path,
)
from host.report.command import load, parse_instant
from host.report.html import plots, render_html
from host.report.source import Period, ReportInputError
from host.report.terminal import render_text
from host.sessions.fast import run_fast
from host.sessions.replay_loop import run_on_replay_loop
from host.settings import JournalSettings, Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
T_EXTRA = datetime(2025, 1, 6, 8, 7, 30, tzinfo=UTC)


def _settings(directory: Path) -> Settings:
    settings = load_settings(REPO / "config" / "paper.yaml")
    return settings.model_copy(update={"journal": JournalSettings(directory=directory)})


async def _add_what_a_calm_session_lacks(path: Path, settings: Settings) -> None:
    journal = await Journal.open(path, ManualClock(T_EXTRA), settings.journal)
    try:
        await journal.commit(BreakerTrip(T_EXTRA, "circuit_breaker", "3 losses in a row"))
        await journal.commit(ErrorEvent(T_EXTRA, "plugin:bracket", "switched off: 20 errors"))
        refused = Order("xrefused", "BTC-USDT-SWAP", Side.BUY, Decimal(1), Decimal(65000), T_EXTRA,
                        OrderState.LIVE, post_only=True)  # fmt: skip
        await journal.commit(OrderIntent(refused, IntentPurpose.ENTRY, "momentum_demo: test"))
        await journal.commit(IntentOutcome("xrefused", Outcome.REJECTED, T_EXTRA, detail="51008"))
        for n, code in enumerate(("51008", "51008", "50011")):
            moment = T_EXTRA + timedelta(seconds=n)
            await journal.commit(
                OrderRejection("BTC-USDT-SWAP", f"x{n}", moment, code, f"refused {code}")
            )
    finally:
        await journal.close()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    """A 15-minute paper session's journal (the fast replay), with the extra events above."""
    settings = _settings(tmp_path_factory.mktemp("journal"))
    run_on_replay_loop(run_fast(settings, duration=timedelta(minutes=15), seed=1))
    path = journal_path(settings.journal, "paper")
    asyncio.run(_add_what_a_calm_session_lacks(path, settings))
    return path, settings


# --- the figures, recomputed from the rows -----------------------------------------------------


def _rows(path: Path, sql: str, *parameters: object) -> list[tuple]:
    import sqlite3

    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(sql, parameters).fetchall()


def _in(column: str, period: Period) -> tuple[str, list[str]]:
    conditions, parameters = ["1"], []
    if period.since is not None:
        conditions.append(f"{column} >= ?")
        parameters.append(period.since.isoformat(timespec="microseconds"))
    if period.until is not None:
        conditions.append(f"{column} < ?")
        parameters.append(period.until.isoformat(timespec="microseconds"))
    return " AND ".join(conditions), parameters


def _cents(value: Decimal) -> str:
    cents = value.quantize(CENT, ROUND_HALF_UP)
    return "0.00 USDT" if cents == 0 else f"{cents:+} USDT"


def _seconds(value: Decimal) -> str:
    return f"{value.quantize(TENTH, ROUND_HALF_UP)} s"


def _lower_median(values: list) -> object:
    return sorted(values)[(len(values) - 1) // 2]


def _between(a: str, b: str) -> Decimal:
    delta = datetime.fromisoformat(b) - datetime.fromisoformat(a)
    return Decimal(delta // timedelta(microseconds=1)).scaleb(-6)


def expected_figures(path: Path, period: Period, settings: Settings) -> dict[str, str]:
    """The report's figures as it should print them, recomputed from the journal's rows."""
    where, args = _in("c.closed_at", period)
    closes = _rows(
        path,
        "SELECT c.closed_at, c.gross, c.fees, c.net, c.reason, p.regime, p.inst_id,"  # noqa: S608
        f" p.entry_time FROM closes c JOIN positions p ON p.id = c.position WHERE {where}"
        " ORDER BY c.closed_at, p.id",
        *args,
    )
    gross = sum((Decimal(row[1]) for row in closes), Decimal(0))
    fees = sum((Decimal(row[2]) for row in closes), Decimal(0))
    net = sum((Decimal(row[3]) for row in closes), Decimal(0))
    assert gross + fees == net  # the journal's own rows add up exactly
    shown_net, shown_fees = net.quantize(CENT, ROUND_HALF_UP), fees.quantize(CENT, ROUND_HALF_UP)
    wins = sum(1 for row in closes if Decimal(row[3]) > 0)
    worst = peak = running = Decimal(0)
    for row in closes:
        running += Decimal(row[3])
        peak = max(peak, running)
        worst = min(worst, running - peak)
    held = [_between(row[7], row[0]) for row in closes]
    figures = {
        "trades": str(len(closes)),
        "wins": f"{wins} ({_percent(wins, len(closes))})",
        "net PnL": _cents(shown_net),
        "gross PnL": _cents(shown_net - shown_fees),
        "fees of closed trades": _cents(shown_fees),
        "max drawdown": _cents(worst),
        "holding time": (
            f"median {_seconds(_lower_median(held))}, max {_seconds(max(held))}" if held else "n/a"
        ),
    }
    assert abs((shown_net - shown_fees) - gross) <= CENT  # the gross shown is within a cent
    until = None if period.until is None else period.until.isoformat(timespec="microseconds")
    figures["open at the end"] = str(
        _rows(
            path,
            "SELECT count(*) FROM positions p LEFT JOIN closes c ON c.position = p.id"
            " WHERE (? IS NULL OR p.entry_time < ?)"
            " AND (c.closed_at IS NULL OR (? IS NOT NULL AND c.closed_at >= ?))",
            until,
            until,
            until,
            until,
        )[0][0]
    )
    where, args = _in("created_at", period)
    signals = _rows(path, f"SELECT vetoed_by FROM signals WHERE {where}", *args)  # noqa: S608
    vetoed = sum(1 for (by,) in signals if by is not None)
    figures["signals"] = f"{len(signals)} ({vetoed} vetoed)"
    figures.update(_entry_figures(path, period))
    where, args = _in("ts", period)
    fill_fees = sum(
        (Decimal(f) for (f,) in _rows(path, f"SELECT fee FROM fills WHERE {where}", *args)),  # noqa: S608
        Decimal(0),
    )
    figures["fees of all fills"] = _cents(fill_fees)
    where, args = _in("at", period)
    switched_off = Counter(
        source.removeprefix("plugin:")
        for (source,) in _rows(path, f"SELECT source FROM errors WHERE {where}", *args)  # noqa: S608
        if source.startswith("plugin:")
    )
    figures["plugins switched off"] = (
        ", ".join(f"{k} ({n}x)" for k, n in switched_off.items()) or "none"
    )
    balance_rows = f"SELECT equity, currency, at FROM balances WHERE {where} ORDER BY at, id"  # noqa: S608
    balances = _rows(path, balance_rows, *args)
    figures["balance"] = "none journaled"
    if balances:
        change = Decimal(balances[-1][0]) - Decimal(balances[0][0])
        start = datetime.fromisoformat(balances[0][2]).strftime("%Y-%m-%d %H:%M:%S UTC")
        figures["balance"] = (
            f"equity {balances[-1][0]} {balances[-1][1]} at the end, {_cents(change)} since {start}"
        )
    return figures


def _percent(part: int, whole: int) -> str:
    return f"{(Decimal(100) * part / whole).quantize(TENTH, ROUND_HALF_UP)} %" if whole else "n/a"


def _entry_figures(path: Path, period: Period) -> dict[str, str]:
    where, args = _in("i.created_at", period)
    entries = _rows(
        path,
        "SELECT i.cl_ord_id, i.price,"  # noqa: S608
        " (SELECT min(at) FROM intent_outcomes o WHERE o.cl_ord_id = i.cl_ord_id"
        "  AND o.outcome = 'acked'),"
        " (SELECT min(ts) FROM fills f WHERE f.cl_ord_id = i.cl_ord_id)"
        f" FROM order_intents i WHERE i.purpose = 'entry' AND {where}",
        *args,
    )
    limits = [row for row in entries if row[1] is not None and row[2] is not None]
    filled = [row for row in limits if row[3] is not None]
    market = sum(1 for row in entries if row[1] is None)
    return {
        "entries sent": (
            f"{len(entries)} ({len(limits)} limit acknowledged, {market} at the market)"
        ),
        "limit fill rate": f"{len(filled)} of {len(limits)} ({_percent(len(filled), len(limits))})",
    }


def shown_figures(text: str) -> dict[str, str]:
    """The Session table's rows as the report printed them: figure → value."""
    session = text.split("Session", 1)[1].split("Net PnL by", 1)[0]
    figures = {}
    for line in session.splitlines():
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        if len(parts) == 2 and parts[0] != "figure":
            figures[parts[0]] = parts[1].strip()
    return figures


def expected_groups(path: Path) -> set[tuple[str, str, str]]:
    """Net PnL by regime, by exit (the plugin or cause before any ':') and by instrument."""
    groups: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for regime, reason, inst_id, net in _rows(
        path,
        "SELECT p.regime, c.reason, p.inst_id, c.net FROM closes c"
        " JOIN positions p ON p.id = c.position",
    ):
        groups["regime", regime or "unknown"] += Decimal(net)
        groups["exit", reason.split(":", 1)[0].strip()] += Decimal(net)
        groups["instrument", inst_id] += Decimal(net)
    return {(group, name, _cents(net)) for (group, name), net in groups.items()}


def test_every_session_figure_is_the_one_recomputed_from_the_rows(session) -> None:
    path, settings = session
    text = render_text(load(path, Period(), settings.hooks), "report")
    shown = shown_figures(text)
    expected = expected_figures(path, Period(), settings)
    assert shown == expected
    assert int(shown["trades"]) > 0  # a session that traded, or this proves little
    gross, fees, net = (
        Decimal(shown[k].split()[0]) for k in ("gross PnL", "fees of closed trades", "net PnL")
    )
    assert gross + fees == net  # the parts shown add up to the net shown
    assert shown["max drawdown"].startswith("-")  # a drawdown is shown as the loss it is


def test_net_pnl_by_regime_exit_and_instrument_are_the_rows_grouped(session) -> None:
    path, settings = session
    text = render_text(load(path, Period(), settings.hooks), "report")
    table = text.split("Net PnL by", 1)[1].split("Limit entries", 1)[0]
    shown = {
        tuple(re.split(r"\s{2,}", line.strip()))
        for line in table.splitlines()
        if line.strip().startswith(("regime ", "exit ", "instrument "))
    }
    assert shown == expected_groups(path)


def test_limit_entries_per_regime_against_the_longest_wait(session) -> None:
    path, settings = session
    text = render_text(load(path, Period(), settings.hooks), "report")
    table = text.split("Limit entries by regime", 1)[1].split("Slippage", 1)[0]
    rows = _rows(
        path,
        "SELECT (SELECT s.regime FROM signals s WHERE s.inst_id = i.inst_id"
        "  AND s.created_at <= i.created_at AND s.vetoed_by IS NULL"
        "  ORDER BY s.created_at DESC, s.id DESC LIMIT 1),"
        " (SELECT min(at) FROM intent_outcomes o WHERE o.cl_ord_id = i.cl_ord_id"
        "  AND o.outcome = 'acked'),"
        " (SELECT min(ts) FROM fills f WHERE f.cl_ord_id = i.cl_ord_id)"
        " FROM order_intents i WHERE i.purpose = 'entry' AND i.price IS NOT NULL",
    )
    waits = settings.hooks.limit_order_max_wait_seconds
    by_regime: dict[str, list] = defaultdict(list)
    for regime, acked, filled in rows:
        if acked is not None:
            by_regime[regime].append(None if filled is None else _between(acked, filled))
    assert by_regime
    for regime, times in by_regime.items():
        done = [t for t in times if t is not None]
        limit = Decimal(str(getattr(waits, regime)))
        late = sum(1 for t in done if t > limit)
        spread = f"median {_seconds(_lower_median(done))}, max {_seconds(max(done))}"
        expected = [regime, _seconds(limit), str(len(times)), str(len(done)), spread, str(late)]
        line = next(x for x in table.splitlines() if x.strip().startswith(regime + " "))
        assert re.split(r"\s{2,}", line.strip()) == expected


def test_slippage_from_the_signal_price_is_recomputed_from_fills_and_signals(session) -> None:
    path, settings = session
    text = render_text(load(path, Period(), settings.hooks), "report")
    entries = _rows(
        path,
        "SELECT i.cl_ord_id, i.side, (SELECT s.reference_price FROM signals s"
        "  WHERE s.inst_id = i.inst_id AND s.created_at <= i.created_at AND s.vetoed_by IS NULL"
        "  ORDER BY s.created_at DESC, s.id DESC LIMIT 1)"
        " FROM order_intents i WHERE i.purpose = 'entry'",
    )
    slips = []
    for cl_ord_id, side, reference in entries:
        fills = _rows(path, "SELECT price, size FROM fills WHERE cl_ord_id = ?", cl_ord_id)
        if not fills or reference is None:
            continue
        size = sum(Decimal(s) for _, s in fills)
        average = sum(Decimal(p) * Decimal(s) for p, s in fills) / size
        sign = 1 if side == "buy" else -1
        slips.append(sign * (average - Decimal(reference)) / Decimal(reference) * 10_000)
    assert slips

    def bps(value: Decimal) -> str:
        return f"{value.quantize(CENT, ROUND_HALF_UP):+} bps"

    table = text.split("Slippage from the signal price", 1)[1].split("Circuit-breaker", 1)[0]
    for label, value in (
        ("filled entries measured", str(len(slips))),
        ("mean", bps(sum(slips) / len(slips))),
        ("median", bps(_lower_median(slips))),
        ("worst", bps(max(slips))),
    ):
        assert re.search(rf"^\s*{label}\s{{2,}}{re.escape(value)}\s*$", table, re.M), label


def test_trips_errors_and_rejections_by_code_are_listed(session) -> None:
    path, settings = session
    text = render_text(load(path, Period(), settings.hooks), "report", width=160)
    trips = _rows(path, "SELECT plugin, reason FROM breaker_trips")
    errors = _rows(path, "SELECT source, message FROM errors")
    codes = Counter(code for (code,) in _rows(path, "SELECT code FROM rejections"))
    assert f"Circuit-breaker trips: {len(trips)}" in text
    assert f"Errors: {len(errors)}" in text
    for plugin, reason in trips + errors:
        assert re.search(rf"{re.escape(plugin)}\s+{re.escape(reason)}", text)
    assert f"Rejections by OKX code: {sum(codes.values())}" in text
    for code, count in codes.items():
        assert re.search(rf"^\s*{code}\s+{count}\s+\S", text, re.M)  # with a message of OKX


def test_a_period_reports_only_what_happened_in_it(session) -> None:
    path, settings = session
    period = Period(
        parse_instant("2025-01-06T08:03", "--since"), parse_instant("2025-01-06T09:10+01:00", "-")
    )
    assert period.until == datetime(2025, 1, 6, 8, 10, tzinfo=UTC)
    shown = shown_figures(render_text(load(path, period, settings.hooks), "report"))
    assert shown == expected_figures(path, period, settings)
    assert shown != shown_figures(render_text(load(path, Period(), settings.hooks), "report"))


def test_csv_files_hold_the_exact_figures(session, tmp_path: Path) -> None:
    path, settings = session
    from host.report.csv_export import write_csv

    written = write_csv(load(path, Period(), settings.hooks), tmp_path / "csv")
    assert {p.name for p in written} >= {"trades.csv", "equity.csv", "balances.csv", "events.csv"}
    with (tmp_path / "csv" / "trades.csv").open(encoding="utf-8") as file:
        trades = list(csv.DictReader(file))
    nets = [Decimal(net) for (net,) in _rows(path, "SELECT net FROM closes")]
    assert sorted(Decimal(t["net"]) for t in trades) == sorted(nets)  # exact digits, no float
    with (tmp_path / "csv" / "events.csv").open(encoding="utf-8") as file:
        kinds = Counter(row["kind"] for row in csv.DictReader(file))
    journaled = {  # the planted ones, and any refusal the session's own race produced
        "breaker_trip": len(_rows(path, "SELECT id FROM breaker_trips")),
        "error": len(_rows(path, "SELECT id FROM errors")),
        "rejection": len(_rows(path, "SELECT id FROM rejections")),
    }
    assert kinds == journaled
    assert journaled["rejection"] >= 3


def _closed(n: int, gross: str, fees: str) -> ClosedPosition:
    entry = T_EXTRA + timedelta(minutes=n)
    position = Position(f"p{n}", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(65000),
                        entry, entry, PositionOrigin.OWN)  # fmt: skip
    pnl = PnL(Decimal(gross), Decimal(fees))
    return ClosedPosition(position, Decimal(65000), entry + timedelta(seconds=30), pnl, "test")


async def test_gross_plus_fees_is_the_net_as_shown_also_when_rounding_would_split_them(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    path = journal_path(settings.journal, "paper")
    journal = await Journal.open(path, ManualClock(T_EXTRA), settings.journal)
    try:  # exact: gross +0.016, fees -0.004, net +0.012; each rounded alone: +0.02 - 0.00 != +0.01
        await journal.commit(_closed(1, "0.016", "-0.004"))
    finally:
        await journal.close()
    shown = shown_figures(render_text(load(path, Period(), settings.hooks), "report"))
    assert (shown["gross PnL"], shown["fees of closed trades"], shown["net PnL"]) == (
        "+0.01 USDT",
        "0.00 USDT",
        "+0.01 USDT",
    )
    assert shown == expected_figures(path, Period(), settings)


# --- a journal still being written -------------------------------------------------------------


async def test_a_journal_a_session_is_still_writing_can_be_reported(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    path = journal_path(settings.journal, "live-1")
    journal = await Journal.open(path, ManualClock(T_EXTRA), settings.journal)
    try:
        await journal.commit(BreakerTrip(T_EXTRA, "circuit_breaker", "first"))
        assert len(load(path, Period(), settings.hooks).trips) == 1
        await journal.commit(BreakerTrip(T_EXTRA, "circuit_breaker", "second"))
        assert len(load(path, Period(), settings.hooks).trips) == 2  # sees the new commit
    finally:
        await journal.close()
    assert len(load(path, Period(), settings.hooks).trips) == 2  # and the closed file


# --- the command ---------------------------------------------------------------------------------


def scalphost(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_command_prints_the_tables_and_writes_html_and_csv(session, tmp_path: Path) -> None:
    path, _ = session
    result = scalphost(
        "report", str(path), "--html", str(tmp_path / "r.html"), "--csv", str(tmp_path / "csv"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Session" in result.stdout
    assert "net PnL" in result.stdout
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script src=" not in page  # plotly.js inline: the page needs no network
    assert (tmp_path / "csv" / "trades.csv").is_file()


def test_the_default_journal_is_the_paper_journal_of_the_working_directory(
    session, tmp_path: Path
) -> None:
    path, _ = session
    (tmp_path / "journal").mkdir()
    (tmp_path / "journal" / "paper.sqlite3").write_bytes(path.read_bytes())
    result = scalphost("report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "journal/paper.sqlite3" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such.sqlite3",), "report: no journal at no-such.sqlite3"),
        (("{journal}", "--since", "yesterday"), "report: --since: 'yesterday' is not an ISO"),
        (("{notes}",), "is not a scalphost journal"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    session, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    path, _ = session
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, just text long enough to not be empty\n" * 20)
    argv = [a.format(journal=path, notes=notes) for a in args]
    result = scalphost("report", *argv, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_bad_time_is_refused_before_anything_is_read() -> None:
    with pytest.raises(ReportInputError, match="--until: '8 am' is not an ISO 8601 time"):
        parse_instant("8 am", "--until")


# --- the HTML page, in a real browser ----------------------------------------------------------


def _require_chromium() -> None:
    """CI installs Chromium (.ci/run) and must run these; elsewhere they need it installed."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs it")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")


def page_problems(view: PageView, plots: int) -> list[str]:
    """What a user would see wrong: console errors, plots not drawn, a blank page."""
    problems = list(view.errors)
    if len(view.rendered) != plots:
        problems.append(f"{len(view.rendered)} plot divs, expected {plots}")
    problems += [f"{div} did not render" for div, layers in view.rendered.items() if not layers]
    image = Image.open(io.BytesIO(view.screenshot)).convert("L")
    variance = ImageStat.Stat(image).var[0]
    if variance < 100:
        problems.append(f"the screenshot is blank (pixel variance {variance:.1f})")
    return problems


async def test_the_html_report_loads_in_chromium_without_errors_and_draws_every_plot(
    session, tmp_path: Path
) -> None:
    _require_chromium()
    path, settings = session
    figures = load(path, Period(), settings.hooks)
    page = tmp_path / "report.html"
    page.write_text(render_html(figures, "report"), encoding="utf-8")
    view = await view_page(page, tmp_path / "profile")
    assert page_problems(view, len(plots(figures))) == []


async def test_the_browser_check_sees_a_page_without_plotly_js_and_a_blank_page(
    session, tmp_path: Path
) -> None:
    """The check's teeth: plotly.js left out (as a CDN link would be offline), and no content."""
    _require_chromium()
    path, settings = session
    figures = load(path, Period(), settings.hooks)
    html = render_html(figures, "report")
    start = html.index("<script>")
    without_plotly = html[:start] + html[html.index("</script>", start) + len("</script>") :]
    page = tmp_path / "broken.html"
    page.write_text(without_plotly, encoding="utf-8")
    problems = page_problems(await view_page(page, tmp_path / "p1"), len(plots(figures)))
    assert any("Plotly is not defined" in problem for problem in problems)
    assert any("did not render" in problem for problem in problems)
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    problems = page_problems(await view_page(blank, tmp_path / "p2"), 0)
    assert problems == [problems[0]]
    assert problems[0].startswith("the screenshot is blank")
