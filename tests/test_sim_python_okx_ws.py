"""python-okx's WebSocket clients, unchanged, against the simulator over TLS.

python-okx always connects with an SSL context built from the system's trust store plus certifi,
so it reaches the simulator once ``SSL_CERT_FILE`` names the self-signed certificate the simulator
made at start — and, without that, it refuses the certificate. It signs its login with the wall
clock, so the simulator starts at the current time. Messages reach the test through the SDK's
callback; the test steps the simulator until the one it waits for has arrived.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from okx.websocket.WsPrivateAsync import WsPrivateAsync
from okx.websocket.WsPublicAsync import WsPublicAsync
from yarl import URL

from host.clock import LiveClock
from host.sim import TEST_KEY, SimConfig, Simulator
from host.sim.standalone import banner, build
from host.sim.tls import SelfSigned, make_self_signed

BTC = "BTC-USDT-SWAP"
STEP = timedelta(milliseconds=100)
WAIT = 10.0
Message = dict[str, Any]


@pytest.fixture
def certificate(tmp_path: Path) -> SelfSigned:
    return make_self_signed(tmp_path, LiveClock().now())


@pytest.fixture
async def sim(certificate: SelfSigned) -> AsyncIterator[Simulator]:
    config = SimConfig(max_skew=timedelta(hours=1), login_window=timedelta(hours=1))
    async with Simulator(config, start=LiveClock().now(), tls=certificate) as sim:
        await sim.advance(timedelta(seconds=3))
        yield sim


class Inbox:
    """What the SDK's callback received, decoded (``pong`` and other text kept as is)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, text: str) -> None:
        self.messages.append(json.loads(text) if text.startswith("{") else {"text": text})

    async def until(self, sim: Simulator, wanted: Callable[[Message], bool]) -> Message:
        """Step the simulator until a message ``wanted`` has arrived; the first such one."""
        async with asyncio.timeout(WAIT):
            while True:
                found = next((m for m in self.messages if wanted(m)), None)
                if found is not None:
                    return found
                await sim.advance(STEP)
                await asyncio.sleep(0.01)  # let the SDK's reader run; not a timing assumption


def pushed(channel: str) -> Callable[[Message], bool]:
    return lambda m: m.get("arg", {}).get("channel") == channel and "data" in m


def reply(request_id: str) -> Callable[[Message], bool]:
    return lambda m: m.get("id") == request_id and "op" in m


def on_loopback_over_tls(client: WsPublicAsync | WsPrivateAsync) -> None:
    assert URL(client.url).host == "127.0.0.1"
    assert client.url.startswith("wss://")
    socket = client.websocket
    assert socket is not None
    assert socket.remote_address[0] == "127.0.0.1"
    assert socket.transport.get_extra_info("ssl_object") is not None


async def test_python_okx_refuses_the_certificate_until_told_to_trust_it(
    sim: Simulator, certificate: SelfSigned, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = WsPublicAsync(url=sim.urls.public)
    await client.connect()
    assert client.websocket is None  # verification failed: the SDK logs it and gives up
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    await client.connect()
    on_loopback_over_tls(client)
    await client.stop()


async def test_public_and_business_clients_over_tls(
    sim: Simulator, certificate: SelfSigned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    inbox = Inbox()
    public = WsPublicAsync(url=sim.urls.public)
    reader = await public.start()
    on_loopback_over_tls(public)
    args = [{"channel": name, "instId": BTC} for name in ("tickers", "books", "trades")]
    await public.subscribe(args, inbox)
    ticker = await inbox.until(sim, pushed("tickers"))
    assert ticker["data"][0]["instId"] == BTC
    book = await inbox.until(sim, pushed("books"))
    assert book["action"] == "snapshot"
    assert await inbox.until(sim, pushed("trades"))

    business = WsPublicAsync(
        url=sim.urls.business,
        apiKey=TEST_KEY.api_key,
        passphrase=TEST_KEY.passphrase,
        secretKey=TEST_KEY.secret_key,
    )
    business_reader = await business.start()
    on_loopback_over_tls(business)
    await business.login()
    await business.subscribe([{"channel": "candle1m", "instId": BTC}], inbox)
    assert (await inbox.until(sim, lambda m: m.get("event") == "login"))["code"] == "0"
    candle = await inbox.until(sim, pushed("candle1m"))
    assert len(candle["data"][0]) == 9
    for client, task in ((public, reader), (business, business_reader)):
        await client.stop()
        await task


async def test_private_client_trades_over_tls(
    sim: Simulator, certificate: SelfSigned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    inbox = Inbox()
    client = WsPrivateAsync(
        TEST_KEY.api_key, TEST_KEY.passphrase, TEST_KEY.secret_key, url=sim.urls.private
    )
    reader = await client.start()
    on_loopback_over_tls(client)
    client.callback = inbox
    await client.login()  # the SDK's subscribe() would log in again and sleep 5 s
    assert (await inbox.until(sim, lambda m: m.get("event") == "login"))["code"] == "0"
    channels = ("orders", "positions", "account", "balance_and_position")
    await client.send("subscribe", [{"channel": name, "instType": "SWAP"} for name in channels])
    for name in channels:
        assert await inbox.until(sim, lambda m, name=name: m.get("arg", {}).get("channel") == name)

    bid = sim.engine.markets[BTC].book.best_bid
    limit = {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "post_only"}
    await client.place_order([{**limit, "sz": "1", "px": str(bid - 50)}], id="p1")
    placed = await inbox.until(sim, reply("p1"))
    assert (placed["code"], placed["data"][0]["sCode"]) == ("0", "0")
    ord_id = placed["data"][0]["ordId"]
    live = await inbox.until(sim, lambda m: pushed("orders")(m) and m["data"][0]["ordId"] == ord_id)
    assert live["data"][0]["state"] == "live"
    await client.amend_order([{"instId": BTC, "ordId": ord_id, "newSz": "2"}], id="a1")
    assert (await inbox.until(sim, reply("a1")))["code"] == "0"
    await client.cancel_order([{"instId": BTC, "ordId": ord_id}], id="c1")
    assert (await inbox.until(sim, reply("c1")))["code"] == "0"
    assert sim.engine.orders[ord_id].state == "canceled"

    market = {"instId": BTC, "tdMode": "cross", "side": "buy", "ordType": "market", "sz": "1"}
    await client.batch_orders([market, {**limit, "sz": "1", "px": str(bid - 60)}], id="b1")
    batch = await inbox.until(sim, reply("b1"))
    assert [item["sCode"] for item in batch["data"]] == ["0", "0"]
    filled = await inbox.until(
        sim, lambda m: pushed("balance_and_position")(m) and m["data"][0]["eventType"] == "filled"
    )
    assert filled["data"][0]["posData"][0]["pos"] == "1"
    resting = batch["data"][1]["ordId"]
    await client.batch_amend_orders([{"instId": BTC, "ordId": resting, "newSz": "3"}], id="ba1")
    assert (await inbox.until(sim, reply("ba1")))["code"] == "0"
    await client.batch_cancel_orders([{"instId": BTC, "ordId": resting}], id="bc1")
    assert (await inbox.until(sim, reply("bc1")))["code"] == "0"
    await client.mass_cancel([{"instType": "OPTION", "instFamily": "BTC-USD"}], id="m1")
    assert (await inbox.until(sim, reply("m1")))["data"] == [{"result": True}]
    await client.stop()
    await reader


def test_scalphost_sim_with_tls_prints_the_certificate_it_serves_with(tmp_path: Path) -> None:
    sim = build(seed=1, data=None, tls_dir=tmp_path)
    assert sim.tls is not None
    assert f"TLS cert    {tmp_path / 'sim-cert.pem'}" in banner(sim, None)
    assert sim.urls.rest.startswith("https://127.0.0.1:")
    assert sim.urls.private.startswith("wss://127.0.0.1:")
    assert sim.tls.key.stat().st_mode & 0o077 == 0  # the key is the user's alone


async def https_status(rest: str, cert: Path) -> int:
    trust = ssl.create_default_context(cafile=str(cert))
    async with (
        aiohttp.ClientSession() as http,
        http.get(rest + "/api/v5/public/time", ssl=trust) as response,
    ):
        return response.status


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_scalphost_sim_tls_serves_with_the_printed_certificate_then_removes_it(
    stop: signal.Signals,
) -> None:
    """Started with SIGINT ignored, as ``scalphost sim &`` in a script is: Ctrl-C still stops it.

    Python leaves an inherited ignored SIGINT ignored; the simulator then ran until SIGKILL,
    its TLS key left behind (a CI run hung here, in a background job).
    """
    command = ["sh", "-c", 'trap "" INT; exec "$0" -m host.cli sim --tls', sys.executable]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = iter(process.stdout.readline, "")
            banner_lines = list(itertools.takewhile(lambda line: "Ctrl-C" not in line, lines))
            printed = dict(line.rstrip("\n").split(None, 1) for line in banner_lines)
            cert = Path(printed["TLS"].split()[1])
            assert printed["REST"].startswith("https://127.0.0.1:")
            assert asyncio.run(https_status(printed["REST"], cert)) == 200
        finally:
            process.send_signal(stop)
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                process.kill()  # never left running: the test fails instead of hanging
                raise
    assert process.returncode == 0
    assert not cert.parent.exists()
