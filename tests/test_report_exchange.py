"""``scalphost report --against-exchange``: the journal held to OKX's record, on the real simulator.

A session trades the simulator through the host's real client (on the fast replay: the same
client code above an in-process transport); the simulator is then served over HTTP, and the
report reads it through the same client (signed REST, paged) the way it reads OKX. Planted: a
fill deleted from the journal and a stray conditional stop on an instrument with no position.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from okx_test_client import running
from pydantic import SecretStr

from host.domain import Side
from host.exchange.api import PAGE_SIZE, OkxApi
from host.exchange.health import ExchangeHealth
from host.exchange.orders import StopRequest
from host.exchange.rest import OkxRest
from host.journal import journal_path
from host.report.against import Difference, differences
from host.report.journal_record import read_journal_record
from host.report.okx_record import fetch_okx_record
from host.report.source import Period, read_only
from host.sessions.fast import replay
from host.sessions.replay_loop import run_on_replay_loop
from host.settings import Credentials, ExchangeSettings, JournalSettings, Settings, load_settings
from host.sim import SimConfig, Simulator
from host.sim.server import DEFAULT_START
from host.sim.standalone import sim_account_credentials

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "demo"


@dataclass(frozen=True, slots=True)
class Traded:
    """A finished session's journal and the simulator it traded, still running."""

    sim: Simulator
    settings: Settings
    journal: Path


@pytest.fixture
def replayed(tmp_path: Path) -> tuple[Simulator, Settings]:
    """Ten minutes traded on the fast replay (the session's record is what matters here, not
    its sockets); the simulator is then served over HTTP for the report to read."""
    paper = load_settings(REPO / "config" / "paper.yaml")
    sim = Simulator(SimConfig(seed=3), start=DEFAULT_START)
    settings = paper.model_copy(update={"journal": JournalSettings(directory=tmp_path)})
    run_on_replay_loop(replay(settings, sim, timedelta(minutes=10), account=ACCOUNT))
    return sim, settings


@pytest.fixture
async def traded(replayed: tuple[Simulator, Settings]) -> AsyncIterator[Traded]:
    sim, replayed_settings = replayed
    await sim.start()
    try:
        settings = replayed_settings.model_copy(
            update={
                "credentials": sim_account_credentials(sim),
                "exchange": ExchangeSettings(rest_url=sim.urls.rest, ws_url=sim.urls.ws_base),
            }
        )
        yield Traded(sim, settings, journal_path(settings.journal, ACCOUNT))
    finally:
        await sim.stop()


async def compare(traded: Traded) -> list[Difference]:
    with read_only(traded.journal) as connection:
        ours = read_journal_record(connection, Period())
    begin = ours.fills[0].ts if ours.fills else None
    return differences(ours, await fetch_okx_record(traded.settings, traded.sim.clock, begin, None))


def journaled_trade_ids(journal: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(journal)) as connection, connection:
        return connection.execute("SELECT inst_id, trade_id FROM fills ORDER BY ts").fetchall()


async def test_every_planted_difference_is_named_and_nothing_else(traded: Traded) -> None:
    fills = journaled_trade_ids(traded.journal)
    assert len(fills) >= 4, "the session must trade for the comparison to mean something"
    assert await compare(traded) == [], "a journal the host kept agrees with the exchange"

    inst_id, trade_id = fills[len(fills) // 2]
    with closing(sqlite3.connect(traded.journal)) as connection, connection:
        connection.execute("DELETE FROM fills WHERE trade_id = ?", (trade_id,))
    async with aiohttp.ClientSession() as session:
        rest = OkxRest(
            session, traded.settings.exchange, traded.settings.credentials, traded.sim.clock,
            ExchangeHealth(traded.sim.clock), base_url=traded.sim.urls.rest,
        )  # fmt: skip
        api = OkxApi(rest)
        positions = {p.position.inst_id for p in await api.positions() if p.position.size}
        stray_on = next(i for i in traded.settings.instruments if i not in positions)
        mark = traded.sim.engine.markets[stray_on].mark
        stop = await api.place_stop(
            StopRequest(stray_on, "stray1", Side.SELL, mark * Decimal("0.9"), size=Decimal(1))
        )

    found = await compare(traded)

    assert [(d.kind, d.subject) for d in found] == [
        ("fill missing from the journal", f"{inst_id} trade {trade_id}"),
        ("stop with no position to protect", f"{stray_on} algo {stop.algo_id} (stray1)"),
    ]
    code, out = await command_line(traded, "report", str(traded.journal), "--against-exchange")
    assert code == 1, out
    assert "Differences: 2" in out
    assert f"trade {trade_id}" in out
    assert f"algo {stop.algo_id}" in out

    # A fee changed in the journal, and a position it thinks open that OKX never held.
    changed_inst, changed_trade = fills[0]
    with closing(sqlite3.connect(traded.journal)) as connection, connection:
        query = "SELECT fee FROM fills WHERE trade_id = ?"
        (fee,) = connection.execute(query, (changed_trade,)).fetchone()
        connection.execute("UPDATE fills SET fee = '-9.99' WHERE trade_id = ?", (changed_trade,))
        connection.execute(
            "INSERT INTO positions (pos_id, inst_id, side, size, entry_price, entry_time,"
            " updated_at, origin) SELECT 'phantom', 'XRP-USDT-SWAP', 'long', '3', entry_price,"
            " entry_time, updated_at, 'own' FROM positions LIMIT 1"
        )

    found = await compare(traded)

    changed = f"{changed_inst} trade {changed_trade}"
    assert [(d.kind, d.subject) for d in found] == [
        ("fee differs", changed),
        ("fee differs from OKX's bill", changed),
        ("fill missing from the journal", f"{inst_id} trade {trade_id}"),
        ("stop with no position to protect", f"{stray_on} algo {stop.algo_id} (stray1)"),
        ("position the journal thinks open", "XRP-USDT-SWAP phantom"),
    ]
    assert found[0].detail == f"OKX {fee}, journal -9.99"
    assert found[1].detail.endswith(f": {fee}, journal -9.99")
    assert found[4].detail == "journal: long 3; OKX holds none"


async def command_line(traded: Traded, *args: str) -> tuple[int, str]:
    """``scalphost`` as a user runs it, pointed at the simulator by the environment.

    Run without blocking the event loop, since the simulator answering it lives in this loop.
    The command runs on the wall clock and learns the simulator's time from ``/public/time``.
    """
    credentials = traded.settings.credentials
    secrets = {
        f"SCALPHOST_CREDENTIALS__{name.upper()}": getattr(credentials, name).get_secret_value()
        for name in ("api_key", "secret_key", "passphrase")
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "host.cli",
        *args,
        env=os.environ
        | secrets
        | {
            "SCALPHOST_EXCHANGE__REST_URL": traded.sim.urls.rest,
            "SCALPHOST_EXCHANGE__WS_URL": traded.sim.urls.ws_base,
            "COLUMNS": "200",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_fills_and_bills_are_read_page_by_page_over_the_whole_period() -> None:
    """250 executions: one call answers a hundred; the paged reads (restart, report) get all."""
    async with running(start=DEFAULT_START) as okx:
        for batch in range(13):
            body = [
                {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "ordType": "market", "sz": "0.1",
                 "side": "buy" if n % 2 else "sell", "clOrdId": f"page{batch}x{n}"}
                for n in range(20)
            ]  # fmt: skip
            status, answer = await okx.post("/api/v5/trade/batch-orders", body)
            assert status == 200
            assert answer["code"] == "0", answer
        executions = len([f for f in okx.sim.ledger.fills() if f["instId"] == "BTC-USDT-SWAP"])
        assert executions >= 260
        status, one_call = await okx.get("/api/v5/trade/fills", {"instType": "SWAP"})
        assert len(one_call["data"]) == PAGE_SIZE  # what the restart read before: the newest 100

        key = okx.sim.config.keys[0]
        credentials = Credentials(
            api_key=SecretStr(key.api_key),
            secret_key=SecretStr(key.secret_key),
            passphrase=SecretStr(key.passphrase),
        )
        rest = OkxRest(
            okx.http, ExchangeSettings(), credentials, okx.sim.clock,
            ExchangeHealth(okx.sim.clock), base_url=okx.sim.urls.rest,
        )  # fmt: skip
        api = OkxApi(rest)
        recent = await api.fills()
        assert len(recent) == executions == len({f.trade_id for f in recent})
        assert [f.ts for f in recent] == sorted((f.ts for f in recent), reverse=True)
        long_ago = await api.fills(begin=DEFAULT_START - timedelta(days=5))  # + fills-history
        assert sorted(long_ago, key=str) == sorted(recent, key=str)
        bills = await api.bills()
        assert len({b.trade_id for b in bills if b.kind == "2"}) == executions
        later = okx.sim.clock.now() + timedelta(minutes=1)
        assert await api.fills(begin=later) == ()
        assert await api.bills(begin=later) == ()
