"""``scalphost check``: a read-only connectivity check of whatever the config points at.

It walks the path the host depends on, in the order a failure is most informative: can the
REST endpoint be reached and how far is our clock from OKX's, are the credentials accepted, is
the account in the position mode the host expects, what it holds (balance, positions, resting
orders), and can the private WebSocket log in. Each item is one line; a failure names the likely
cause (wrong passphrase, IP not whitelisted, a demo key on live, clock skew) and never a secret.
Nothing is ever sent that could change the account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from host.clock import Clock
from host.exchange.api import OkxApi
from host.exchange.errors import OkxAuthError, OkxError, OkxUnavailable
from host.exchange.health import ExchangeHealth
from host.exchange.rest import OkxRest
from host.exchange.ws import OkxSocket
from host.settings import Credentials, ExchangeSettings

EXPECTED_POSITION_MODE = "net_mode"
PRIVATE_PATH = "/ws/v5/private"


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One checked item: passed or not, and what was seen (or the likely cause)."""

    item: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.item}: {self.detail}"


async def check_connectivity(
    settings: ExchangeSettings,
    credentials: Credentials,
    clock: Clock,
    *,
    rest_url: str,
    ws_url: str,
) -> list[CheckLine]:
    """Run every check against ``rest_url`` / ``ws_url`` and return one line per item."""
    health = ExchangeHealth(clock)
    lines: list[CheckLine] = []
    async with aiohttp.ClientSession() as session:
        rest = OkxRest(session, settings, credentials, clock, health, base_url=rest_url)
        api = OkxApi(rest)
        reachable = await _item(lines, "server time", lambda: _server_time(rest, health))
        if not reachable:
            return lines
        if not await _item(lines, "authentication", lambda: _account_mode(api)):
            lines.append(CheckLine("account", False, "skipped: authentication failed"))
            return lines
        await _item(lines, "balance", lambda: _balance(api))
        await _item(lines, "positions", lambda: _positions(api))
        await _item(lines, "pending orders", lambda: _pending(api))
        await _item(
            lines,
            "private websocket login",
            lambda: _private_login(settings, credentials, clock, health, ws_url, rest),
        )
    return lines


async def _item(lines: list[CheckLine], name: str, probe: Callable[[], Awaitable[str]]) -> bool:
    """Run one probe; a failure becomes a line with its likely cause, never a traceback."""
    try:
        detail = await probe()
    except OkxAuthError as error:
        lines.append(CheckLine(name, False, f"{error.likely_cause} (OKX {error.code})"))
        return False
    except OkxUnavailable as error:
        lines.append(CheckLine(name, False, f"cannot reach the exchange: {error.message}"))
        return False
    except OkxError as error:
        lines.append(CheckLine(name, False, f"OKX {error.code}: {error.message}"))
        return False
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        lines.append(CheckLine(name, False, f"cannot reach the exchange ({type(error).__name__})"))
        return False
    lines.append(CheckLine(name, True, detail))
    return True


async def _server_time(rest: OkxRest, health: ExchangeHealth) -> str:
    offset = await rest.sync_clock()
    latency = health.snapshot().latency_last or 0.0
    return (
        f"reachable, round trip {latency * 1000:.0f} ms, clock offset "
        f"{offset.total_seconds():+.3f} s (corrected when signing)"
    )


async def _account_mode(api: OkxApi) -> str:
    config = await api.account_config()
    if config.position_mode != EXPECTED_POSITION_MODE:
        raise OkxError(
            "mode",
            f"position mode is {config.position_mode}; scalphost expects {EXPECTED_POSITION_MODE} "
            "(set it in OKX: Settings → Position mode → One-way)",
        )
    return f"accepted; account level {config.account_level}, {config.position_mode}"


async def _balance(api: OkxApi) -> str:
    account = await api.balance()
    usdt = next((b for b in account.balances if b.ccy == "USDT"), None)
    total = "unknown" if account.total_equity is None else f"{account.total_equity}"
    available = "none" if usdt is None else f"{usdt.available} USDT available"
    return f"total equity {total} USD, {available}"


async def _positions(api: OkxApi) -> str:
    reports = await api.positions()
    open_ = [r.position for r in reports if r.position.size]
    listed = ", ".join(f"{p.inst_id} {p.side} {p.size}" for p in open_)
    return f"{len(open_)} open" + (f": {listed}" if listed else "")


async def _pending(api: OkxApi) -> str:
    orders = await api.pending_orders()
    return f"{len(orders)} resting"


async def _private_login(
    settings: ExchangeSettings,
    credentials: Credentials,
    clock: Clock,
    health: ExchangeHealth,
    ws_url: str,
    rest: OkxRest,
) -> str:
    socket = OkxSocket(
        ws_url.rstrip("/") + PRIVATE_PATH,
        (),
        lambda _: None,
        settings,
        clock,
        health,
        credentials=credentials,
        server_offset=lambda: rest.clock_offset,
    )
    running = asyncio.create_task(socket.run())
    ready = asyncio.create_task(socket.ready.wait())
    try:
        done, _ = await asyncio.wait(
            {running, ready},
            timeout=settings.login_timeout_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if running in done:
            running.result()  # raises the login error
        if ready not in done:
            raise TimeoutError("no login acknowledgement")
    finally:
        ready.cancel()
        await socket.stop()
        await asyncio.wait_for(running, settings.login_timeout_seconds)
    return "logged in"
