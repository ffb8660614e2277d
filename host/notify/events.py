"""The events the host emits, built from what the engine and the session already hold.

Each builder is the one place an event's id, summary and details are made, so the engine's
parts each emit with one line. Money stays exact text (``str(Decimal)``); instants are ISO 8601
UTC.
"""

from __future__ import annotations

from datetime import datetime

from host.domain import ClosedPosition, EventKind, Fill, HostEvent, Position


def fill_event(fill: Fill) -> HostEvent:
    """An execution of one of the host's own orders; its id is OKX's ``tradeId``."""
    return HostEvent(
        EventKind.FILL,
        f"fill:{fill.inst_id}:{fill.trade_id}",
        fill.ts,
        f"{fill.inst_id}: {fill.side} {fill.size} @ {fill.price}",
        {
            "inst_id": fill.inst_id,
            "trade_id": fill.trade_id,
            "side": str(fill.side),
            "price": str(fill.price),
            "size": str(fill.size),
            "fee": str(fill.fee),
            "cl_ord_id": fill.cl_ord_id,
        },
    )


def close_event(closed: ClosedPosition) -> HostEvent:
    """A position the exchange reports flat, with its realised PnL."""
    position = closed.position
    return HostEvent(
        EventKind.CLOSE,
        f"close:{position.pos_id}:{closed.closed_at.isoformat()}",
        closed.closed_at,
        f"{position.inst_id}: {position.side} closed at {closed.exit_price}, "
        f"net {closed.pnl.net} USDT ({closed.reason})",
        {
            "inst_id": position.inst_id,
            "pos_id": position.pos_id,
            "side": str(position.side),
            "size": str(position.size),
            "entry_price": str(position.entry_price),
            "exit_price": str(closed.exit_price),
            "gross_pnl": str(closed.pnl.gross),
            "fees": str(closed.pnl.fees),
            "net_pnl": str(closed.pnl.net),
            "reason": closed.reason,
        },
    )


def breaker_trip_event(at: datetime, plugin: str, reason: str) -> HostEvent:
    """A plugin started blocking entries (a circuit breaker opening)."""
    return _about(EventKind.BREAKER_TRIP, at, plugin, f"{plugin} blocks entries: {reason}", reason)


def plugin_off_event(at: datetime, plugin: str, reason: str) -> HostEvent:
    """A plugin was switched off for the session after failing again and again."""
    return _about(EventKind.PLUGIN_OFF, at, plugin, f"plugin {plugin} {reason}", reason)


def connection_event(at: datetime, stream: str, lost: str | None) -> HostEvent:
    """A socket to OKX lost (``lost`` says how) or, with ``lost=None``, restored."""
    if lost is None:
        return _about(EventKind.CONNECTION_RESTORED, at, stream, f"{stream}: reconnected", "")
    return _about(EventKind.CONNECTION_LOST, at, stream, f"{stream}: connection lost", lost)


def unprotected_event(at: datetime, position: Position) -> HostEvent:
    """A position the host could not back with its stop on the exchange."""
    summary = f"{position.inst_id}: {position.side} {position.size} has no exchange-side stop"
    return _about(EventKind.UNPROTECTED, at, position.pos_id, summary, f"stop {position.stop}")


def golive_refused_event(at: datetime, problem: str) -> HostEvent:
    """Live trading refused to start: the go-live stamp is missing or does not match."""
    return _about(EventKind.GOLIVE_REFUSED, at, "golive", f"live run refused: {problem}", problem)


def _about(kind: EventKind, at: datetime, subject: str, summary: str, reason: str) -> HostEvent:
    return HostEvent(
        kind,
        f"{kind}:{subject}:{at.isoformat()}",
        at,
        summary,
        {"subject": subject, "reason": reason},
    )
