"""The status document: what the status page and ``scalphost status`` show, as plain JSON.

Built on request from the running session's own state. It holds no secret by construction: it
is assembled field by field from positions, orders, closed trades, stream ages and plugin
health — never from the settings' credentials or token, nor from any plugin's settings (a
notifier's may hold a webhook's key). Money is exact text (the Decimal's own digits), times ISO
8601 UTC.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import islice
from typing import Any

from host.domain import Position
from host.domain.pnl import gross_pnl
from host.engine.engine import Engine
from host.engine.stats import ClosedTrade
from host.monitor.watched import Watched

RECENT_TRADES = 20
"""Closed trades the page lists, newest first."""

MARKET_CHANNELS = frozenset({"tickers", "trades", "bbo-tbt", "books5", "mark-price"})
"""Streams that are expected to be busy: one gone quiet is a warning."""

JsonDict = dict[str, Any]


def status_document(watched: Watched) -> JsonDict:
    """The whole picture of the running session, JSON-ready."""
    engine = watched.engine
    return {
        "now": engine.clock.now().isoformat(),
        "mode": watched.settings.mode,
        "streams": _streams(watched),
        "sockets": _sockets(watched),
        "positions": [_position(engine, position) for position in engine.registry.positions()],
        "orders": _orders(engine),
        "trades": [_trade(trade) for trade in islice(reversed(engine.stats.trades), RECENT_TRADES)],
        "plugins": _plugins(watched),
        "breaker": _breaker(engine),
        "golive": _golive(watched),
        "figures": _figures(engine),
    }


def _streams(watched: Watched) -> list[JsonDict]:
    stale_after = watched.settings.engine.stale_market_seconds
    ages = watched.connection.health.snapshot().message_age
    streams = []
    for stream, age in sorted(ages.items()):
        channel = stream.split(":", 1)[0]
        streams.append(
            {
                "stream": stream,
                "age_seconds": round(age, 3),
                "messages": watched.connection.health.messages.get(stream, 0),
                "stale": channel in MARKET_CHANNELS and age > stale_after,
            }
        )
    return streams


def socket_name(url: str) -> str:
    """``public``, ``private`` or ``business``: the last part of a socket's URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def _sockets(watched: Watched) -> list[JsonDict]:
    return [
        {
            "socket": socket_name(socket.url),
            "ready": socket.ready.is_set(),
            "reconnects": max(0, socket.connections_opened - 1),
            "malformed": socket.decoder.malformed,
        }
        for socket in watched.connection.sockets
    ]


def unrealised(engine: Engine, position: Position) -> Decimal | None:
    """The position's PnL at the instrument's mark (before fees), if there is a mark."""
    mark = engine.market.mark(position.inst_id)
    spec = engine.specs.get(position.inst_id)
    if mark is None or spec is None:
        return None
    return gross_pnl(spec, position.side, position.size, position.entry_price, mark)


def _position(engine: Engine, position: Position) -> JsonDict:
    mark = engine.market.mark(position.inst_id)
    pnl = unrealised(engine, position)
    return {
        "pos_id": position.pos_id,
        "inst_id": position.inst_id,
        "side": str(position.side),
        "size": str(position.size),
        "entry_price": str(position.entry_price),
        "entry_time": position.entry_time.isoformat(),
        "origin": str(position.origin),
        "mark": None if mark is None else str(mark),
        "stop": None if position.stop is None else str(position.stop),
        "exchange_stop": _text(engine.protection.level(position.pos_id)),
        "protected": position.pos_id in engine.protection.protected(),
        "unrealised_pnl": _text(pnl),
    }


def _orders(engine: Engine) -> list[JsonDict]:
    return [
        {
            "cl_ord_id": tracked.order.cl_ord_id,
            "inst_id": tracked.order.inst_id,
            "purpose": str(tracked.purpose),
            "side": str(tracked.order.side),
            "size": str(tracked.order.size),
            "price": _text(tracked.order.price),
            "state": str(tracked.order.state),
            "created_at": tracked.order.created_at.isoformat(),
            "reason": tracked.reason,
        }
        for tracked in engine.orders.open()
    ]


def _trade(trade: ClosedTrade) -> JsonDict:
    closed = trade.closed
    return {
        "pos_id": closed.position.pos_id,
        "inst_id": closed.position.inst_id,
        "side": str(closed.position.side),
        "size": str(closed.position.size),
        "entry_price": str(closed.position.entry_price),
        "exit_price": str(closed.exit_price),
        "net_pnl": str(closed.pnl.net),
        "reason": closed.reason,
        "regime": None if trade.regime is None else str(trade.regime),
        "closed_at": closed.closed_at.isoformat(),
    }


def _plugins(watched: Watched) -> list[JsonDict]:
    faults = watched.engine.stats.faults
    errors = faults.by_plugin()
    rows = []
    for info in watched.plugins:
        switched_off = faults.switched_off.get(info.name)
        state = "off" if not info.enabled else "switched off" if switched_off else "on"
        rows.append(
            {
                "name": info.name,
                "source": info.source,
                "essential": info.essential,
                "state": state,
                "errors": errors.get(info.name, 0),
                "detail": switched_off or "",
                "hooks": list(info.hooks),
            }
        )
    return rows


def _breaker(engine: Engine) -> JsonDict:
    trip = engine.entries.last_trip
    return {
        "open": sorted(engine.entries.blocking),
        "last_trip": None
        if trip is None
        else {"at": trip.at.isoformat(), "plugin": trip.plugin, "reason": trip.reason},
    }


def _golive(watched: Watched) -> JsonDict:
    stamp = watched.golive
    return {
        "state": stamp.state,
        "detail": stamp.detail,
        "profile": stamp.profile,
        "passed_at": None if stamp.passed_at is None else stamp.passed_at.isoformat(),
    }


def _figures(engine: Engine) -> JsonDict:
    stats = engine.stats
    gross, fees, net = stats.totals()
    return {
        "ticks": stats.ticks,
        "signals": stats.signals,
        "vetoed": stats.vetoed,
        "entries_sent": stats.entries_sent,
        "fills": engine.ledger.booked,
        "trades": stats.closed,
        "wins": stats.wins,
        "realised_gross": str(gross),
        "fees": str(fees),
        "realised_net": str(net),
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
