"""``scalphost run --data``, as a newcomer tries it: the sample tape, one instrument, its length,
and a progress bar that log records do not tear (issue 16, Deliver 3)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from host.logs import configure_logging
from host.sessions.fast import run_fast
from host.sessions.paper import run_paper
from host.sessions.progress import SessionProgress
from host.sessions.replay_loop import run_on_replay_loop
from host.settings import JournalSettings, Settings, load_settings
from host.sim.replay import FileReplay, ReplayError
from host.sim.server import DEFAULT_START

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "data" / "okx-trades-BTC-USDT-SWAP-sample.csv"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def settings_in(directory: Path, **update: object) -> Settings:
    paper = load_settings(REPO / "config" / "paper.yaml")
    return paper.model_copy(update={"journal": JournalSettings(directory=directory), **update})


def test_the_sample_tape_trades_its_one_instrument_under_the_default_list_to_its_end(
    tmp_path: Path,
) -> None:
    """On the fast replay: the tape's instruments, length and progress are the session's
    (``new_session``, ``report_progress``), shared with socket paper mode, whose own bound by
    ``--minutes`` is the next test."""
    settings = settings_in(tmp_path)
    assert len(settings.instruments) > 1  # the default list: four swaps, the tape has one
    reports: list[tuple[timedelta, timedelta]] = []

    result = run_on_replay_loop(
        run_fast(settings, data=SAMPLE, progress=lambda at, length, _: reports.append((at, length)))
    )

    span = FileReplay(SAMPLE, DEFAULT_START).span
    assert timedelta(minutes=14) < span < timedelta(minutes=16)
    assert reports[-1][0] == reports[-1][1]  # it ran to the end it announced...
    assert span <= reports[-1][1] < span + timedelta(seconds=1)  # ...the tape's, not an hour
    assert result.stats.ticks > 1000
    assert result.stats.entries_sent > 0  # the sample moves enough for the demo plugin to trade


async def test_minutes_still_bound_a_tape(tmp_path: Path) -> None:
    reports: list[timedelta] = []
    await run_paper(
        settings_in(tmp_path),
        data=SAMPLE,
        duration=timedelta(minutes=2),
        progress=lambda at, _length, _status: reports.append(at),
    )
    assert reports[-1] == timedelta(minutes=2)


async def test_a_tape_of_none_of_the_configured_instruments_is_refused_with_the_line_to_set(
    tmp_path: Path,
) -> None:
    settings = settings_in(tmp_path, instruments=("ETH-USDT-SWAP",))
    with pytest.raises(ReplayError) as refused:
        await run_paper(settings, data=SAMPLE)
    assert "has trades of BTC-USDT-SWAP" in str(refused.value)
    assert "SCALPHOST_INSTRUMENTS='[\"BTC-USDT-SWAP\"]'" in str(refused.value)


def test_log_records_print_whole_above_the_progress_bar_on_a_terminal() -> None:
    screen = StringIO()
    console = Console(file=screen, force_terminal=True, width=160, color_system=None)
    configure_logging("INFO", [], console)
    log = logging.getLogger("host.test_progress")
    length = timedelta(minutes=3)
    try:
        with SessionProgress(console) as progress:
            for minute in (1, 2, 3):
                progress(timedelta(minutes=minute), length, f"minute {minute} of 3 simulated")
                log.info("a record written while minute %d was shown", minute)
    finally:
        configure_logging("INFO", [])  # back to plain stderr for the other tests
    lines = [ANSI.sub("", line).strip() for line in screen.getvalue().splitlines()]
    lines = [line for line in lines if line]
    for minute in (1, 2, 3):
        (record,) = [line for line in lines if f"while minute {minute} was" in line]
        assert record.endswith(
            f"INFO host.test_progress: a record written while minute {minute} was shown"
        )
        assert "simulated" not in record  # not torn into the bar's line
    assert lines[-1].endswith("minute 3 of 3 simulated")  # the bar, last, below the records


def test_without_a_terminal_each_report_is_a_line_of_its_own() -> None:
    screen = StringIO()
    console = Console(file=screen, force_terminal=False, width=40)
    with SessionProgress(console) as progress:
        progress(
            timedelta(minutes=1),
            timedelta(minutes=2),
            "0:01:00 / 0:02:00 simulated | a long status line",
        )
        progress(timedelta(minutes=2), timedelta(minutes=2), "0:02:00 / 0:02:00 simulated")
    assert screen.getvalue().splitlines() == [
        "0:01:00 / 0:02:00 simulated | a long status line",
        "0:02:00 / 0:02:00 simulated",
    ]
