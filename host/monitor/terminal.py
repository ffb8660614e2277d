"""``scalphost status``: the status page's picture in a terminal, for servers without a browser.

It reads the same ``/status.json`` the page polls, from a running host's monitoring endpoint,
and draws it with rich: connections, positions with both stops, resting orders, recent trades,
plugins, the breaker and the go-live stamp.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from host.monitor.server import JSON_PATH

FETCH_TIMEOUT_SECONDS = 5.0


class StatusUnavailable(Exception):
    """The endpoint could not be read: not running, refused the token, or not a scalphost."""


def status_url(base: str) -> str:
    """The JSON endpoint under ``base`` (a base URL, or the JSON URL itself)."""
    base = base.rstrip("/")
    return base if base.endswith(JSON_PATH) else base + JSON_PATH


async def fetch_status(url: str, token: str | None) -> dict[str, Any]:
    """GET the status document; :class:`StatusUnavailable` with one line saying why not."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(status_url(url), headers=headers) as reply,
        ):
            if reply.status == 401:
                raise StatusUnavailable(f"{url} wants a token (monitoring.token)")
            if reply.status != 200:
                raise StatusUnavailable(f"{url} answered HTTP {reply.status}")
            document = await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        raise StatusUnavailable(f"cannot read {url}: {error or type(error).__name__}") from None
    if not isinstance(document, dict) or "positions" not in document:
        raise StatusUnavailable(f"{url} is not a scalphost status endpoint")
    return document


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> RenderableType:
    if not rows:
        return Text(f"{title}: none", style="dim")
    table = Table(title=title, title_justify="left", show_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("—" if value is None else str(value) for value in row))
    return table


def render_status(status: dict[str, Any]) -> RenderableType:
    """The whole picture as one rich renderable."""
    figures = status["figures"]
    breaker = status["breaker"]
    trip = breaker["last_trip"]
    golive = status["golive"]
    header = Text.assemble(
        (f"scalphost, {status['mode']} mode", "bold"),
        f" as of {status['now']}\n",
        f"ticks {figures['ticks']}, signals {figures['signals']} ({figures['vetoed']} vetoed), "
        f"fills {figures['fills']}, trades {figures['trades']} ({figures['wins']} won), "
        f"realised net {figures['realised_net']} USDT\n",
        "entries: ",
        (
            "blocked by " + ", ".join(breaker["open"]) if breaker["open"] else "allowed",
            "red" if breaker["open"] else "green",
        ),
        "; last breaker trip: "
        + (f"{trip['at']} {trip['plugin']}: {trip['reason']}" if trip else "none this session"),
        f"\ngo-live stamp: {golive['state']} ({golive['detail']})",
    )
    return Group(
        header,
        _table(
            "Connections",
            ["socket", "state", "reconnects", "malformed"],
            [
                [s["socket"], "ready" if s["ready"] else "DOWN", s["reconnects"], s["malformed"]]
                for s in status["sockets"]
            ],
        ),
        _table(
            "Positions",
            ["instrument", "side", "size", "entry", "mark", "stop", "exchange stop", "PnL"],
            [
                [
                    p["inst_id"],
                    p["side"],
                    p["size"],
                    p["entry_price"],
                    p["mark"],
                    p["stop"],
                    (p["exchange_stop"] or "resting") if p["protected"] else "MISSING",
                    p["unrealised_pnl"],
                ]
                for p in status["positions"]
            ],
        ),
        _table(
            "Resting orders",
            ["instrument", "purpose", "side", "size", "price", "state"],
            [
                [o["inst_id"], o["purpose"], o["side"], o["size"], o["price"], o["state"]]
                for o in status["orders"]
            ],
        ),
        _table(
            "Recent trades",
            ["closed", "instrument", "side", "entry", "exit", "net PnL", "reason"],
            [
                [
                    t["closed_at"],
                    t["inst_id"],
                    t["side"],
                    t["entry_price"],
                    t["exit_price"],
                    t["net_pnl"],
                    t["reason"],
                ]
                for t in status["trades"]
            ],
        ),
        _table(
            "Plugins",
            ["plugin", "state", "errors", "detail"],
            [[p["name"], p["state"], p["errors"], p["detail"]] for p in status["plugins"]],
        ),
        _table(
            "Streams",
            ["stream", "seconds since last", "messages"],
            [
                [
                    s["stream"],
                    f"{s['age_seconds']:.1f}" + (" STALE" if s["stale"] else ""),
                    s["messages"],
                ]
                for s in status["streams"]
            ],
        ),
    )


def print_status(status: dict[str, Any], console: Console | None = None) -> None:
    """Print the picture to ``console`` (standard output by default)."""
    (console or Console()).print(render_status(status))
