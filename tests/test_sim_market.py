"""Market data of the simulator: the seeded generator, OKX file replay, and `scalphost sim`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from okx_test_client import OkxClient, channel, recv_until

from host.sim import SimConfig, Simulator
from host.sim.generator import SeededGenerator, SimRegime
from host.sim.instruments import DEFAULT_INSTRUMENTS
from host.sim.replay import FileReplay, ReplayError

START = datetime(2025, 1, 6, tzinfo=UTC)
TRADES_CSV = """instrument_name,trade_id,side,price,size,created_time
BTC-USDT-SWAP,1001,buy,43000.5,0.5,1704067200000
BTC-USDT-SWAP,1002,sell,42999.9,1.25,1704067200500
PEPE-USDT-SWAP,77,sell,0.0000011,3,1704067201000
"""
LEGACY_CSV = """trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间
5,buy,2,100.5,1704067200000
"""
CANDLES_CSV = """instrument_name,open,high,low,close,vol,vol_ccy,vol_quote,open_time,confirm
ETH-USDT-SWAP,2300,2310,2290,2305,8,0.8,1840,1704067200000,1
"""


def test_the_generator_is_seeded_and_goes_through_every_regime() -> None:
    def run(seed: int) -> tuple[list[tuple[str, Decimal]], set[SimRegime]]:
        gen = SeededGenerator(DEFAULT_INSTRUMENTS[:1], seed, START)
        seen: set[SimRegime] = set()
        trades = []
        for minute in range(1, 121):
            trades += [(t.side, t.px) for t in gen.trades_until(START + timedelta(minutes=minute))]
            seen.add(gen.regime("BTC-USDT-SWAP"))
        return trades, seen

    first, regimes = run(5)
    assert first == run(5)[0]
    assert first != run(6)[0]
    assert regimes == set(SimRegime)
    tick = DEFAULT_INSTRUMENTS[0].tick_sz
    assert all(px % tick == 0 for _, px in first)


def test_trades_csv_replays_in_order_from_the_start_time(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(TRADES_CSV)
    replay = FileReplay(path, START)
    first = replay.trades_until(START)
    assert [(t.side, t.px, t.sz) for t in first] == [("buy", Decimal("43000.5"), Decimal("0.5"))]
    later = replay.trades_until(START + timedelta(seconds=1))
    assert [t.inst_id for t in later] == ["BTC-USDT-SWAP", "PEPE-USDT-SWAP"]
    instruments = {i.inst_id: i for i in replay.instruments(DEFAULT_INSTRUMENTS)}
    assert instruments["BTC-USDT-SWAP"].tick_sz == Decimal("0.1")  # OKX's grid kept
    assert instruments["BTC-USDT-SWAP"].start_px == Decimal("43000.5")
    assert instruments["PEPE-USDT-SWAP"].tick_sz == Decimal("1E-7")


def test_legacy_bilingual_headers_and_candles_are_read(tmp_path: Path) -> None:
    legacy, candles = tmp_path / "legacy.csv", tmp_path / "candles.csv"
    legacy.write_text(LEGACY_CSV, encoding="utf-8")
    candles.write_text(CANDLES_CSV)
    (trade,) = FileReplay(legacy, START).trades_until(START)
    assert (trade.px, trade.sz) == (Decimal("100.5"), Decimal(2))  # size before price, by header
    path = FileReplay(candles, START).trades_until(START + timedelta(minutes=1))
    assert [t.px for t in path] == [Decimal(2300), Decimal(2310), Decimal(2290), Decimal(2305)]


def test_a_bad_row_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(TRADES_CSV.replace("43000.5", "lots"))
    with pytest.raises(ReplayError, match=r"bad\.csv:2"):
        FileReplay(path, START)


async def test_replayed_trades_reach_the_trades_channel(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(TRADES_CSV)
    replay = FileReplay(path, START)
    config = SimConfig(instruments=replay.instruments(DEFAULT_INSTRUMENTS))
    async with (
        Simulator(config, start=START, source=replay) as sim,
        aiohttp.ClientSession() as http,
    ):
        okx = OkxClient(sim, http)
        ws = await okx.connect("public")
        await okx.subscribe(ws, {"channel": "trades", "instId": "BTC-USDT-SWAP"})
        await sim.advance(timedelta(seconds=1))
        first = await recv_until(ws, channel("trades"))
        second = await recv_until(ws, channel("trades"))
        assert [first["data"][0]["px"], second["data"][0]["px"]] == ["43000.5", "42999.9"]


async def test_real_time_mode_follows_the_wall_clock_times_speed() -> None:
    sim = Simulator()
    start = sim.clock.now()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sim.run_realtime(speed=50), 0.3)
    assert sim.clock.now() > start  # how far is a timing figure, not asserted


def test_scalphost_sim_prints_urls_and_credentials_and_serves() -> None:
    command = [sys.executable, "-m", "host.cli", "sim", "--seed", "3"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = list(iter(process.stdout.readline, "Press Ctrl-C to stop.\n"))
            fields = [line.rstrip("\n").split(None, 1) for line in lines]
            printed = {pair[0]: pair[1] for pair in fields if len(pair) == 2}
            assert printed["passphrase"] == SimConfig().keys[0].passphrase
            assert asyncio.run(server_time_status(printed["REST"])) == 200
        finally:
            process.terminate()


async def server_time_status(rest: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(rest + "/api/v5/public/time") as response:
        return response.status


def test_scalphost_sim_refuses_a_bad_data_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("side,price,size,created_time\nbuy,nonsense,1,1\n")
    result = subprocess.run(
        [sys.executable, "-m", "host.cli", "sim", "--data", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("sim error: ")
    assert "bad.csv:2" in result.stderr
