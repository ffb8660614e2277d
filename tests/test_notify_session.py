"""End to end: a real paper session tells a flaky webhook of its fills, closes and a breaker trip.

The whole host (simulator on 127.0.0.1, sockets, engine, the built-in plugins) with the
``webhook`` plugin enabled in the settings, against tests/webhook_receiver.py answering 500 to
every other request, losing every fifth reply and refusing connections for a while. Its first
request is held until the session has traded on for a simulated minute: if delivery blocked the
loop, the session could not move and the request would never be released.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from webhook_receiver import FlakyReceiver, flaky_receiver

from host.sessions.paper import run_paper
from host.settings import JournalSettings, NotifySettings, Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
HELD_FOR = timedelta(minutes=1)
BUSY_MOMENTUM = {"threshold": "0.0003", "cooldown_seconds": 20.0}
"""More signals than the demo's defaults, and a tight bracket: a loss, hence a trip, soon."""


def session_settings(directory: Path, url: str) -> Settings:
    paper = load_settings(REPO / "config" / "paper.yaml")
    plugins = {
        **paper.plugins,
        "webhook": {
            "enabled": True,
            "url": url,
            "events": ["fill", "close", "breaker_trip"],
            "timeout_seconds": 2.0,
        },
        "circuit_breaker": {**paper.plugins["circuit_breaker"], "max_consecutive_losses": 1},
        "momentum_demo": {**paper.plugins["momentum_demo"], **BUSY_MOMENTUM},
        "bracket": {"enabled": True, "take_profit": "0.0005", "stop_loss": "0.0005"},
    }
    return paper.model_copy(
        update={
            "instruments": ("BTC-USDT-SWAP", "DOGE-USDT-SWAP"),
            "journal": JournalSettings(directory=directory),
            "plugins": plugins,
            "notify": NotifySettings(
                retry_first_seconds=0.05, retry_max_seconds=0.2, max_attempts=100, drain_seconds=60
            ),
        }
    )


def journaled(journal: Path, sql: str) -> list[tuple[str, ...]]:
    connection = sqlite3.connect(journal)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


@pytest.mark.slow
async def test_a_paper_session_notifies_its_fills_and_a_trip_once_each_in_order(
    tmp_path: Path,
) -> None:
    hold = asyncio.Event()
    receiver = FlakyReceiver(hold=hold)
    held_since: list[timedelta] = []

    def progress(elapsed: timedelta, _length: timedelta, _status: str) -> None:
        if receiver.arrived.is_set() and not held_since:
            held_since.append(elapsed)
        if held_since and elapsed >= held_since[0] + HELD_FOR:
            hold.set()  # the session traded on a simulated minute while the receiver hung

    async with flaky_receiver(receiver):
        result = await run_paper(
            session_settings(tmp_path, receiver.url),
            duration=timedelta(minutes=3),
            progress=progress,
        )

    fills = journaled(result.journal, "SELECT inst_id, trade_id FROM fills ORDER BY id")
    trips = journaled(result.journal, "SELECT plugin FROM breaker_trips")
    nets = journaled(result.journal, "SELECT net FROM closes")
    assert fills, "the session must fill for the test to mean anything"
    assert trips, "the session must trip for the test to mean anything"
    received = [receiver.bodies[event_id] for event_id in receiver.unique]
    assert sorted(body["event_id"] for body in received if body["kind"] == "fill") == sorted(
        f"fill:{inst_id}:{trade_id}" for inst_id, trade_id in fills
    )
    assert sum(body["kind"] == "breaker_trip" for body in received) == len(trips)
    assert sorted(
        Decimal(body["details"]["net_pnl"]) for body in received if body["kind"] == "close"
    ) == sorted(Decimal(net) for (net,) in nets)
    instants = [body["at"] for body in received]
    assert instants == sorted(instants)  # in the order they happened
    assert hold.is_set()
    assert len(receiver.taken) > len(receiver.unique)  # a lost reply's retry was dropped
