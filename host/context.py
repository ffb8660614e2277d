"""The read-only views plugins receive instead of host internals.

A plugin gets its own settings once, at construction; everything that changes while the host
runs reaches it through these frozen objects, built fresh for each hook call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from host.domain import InstrumentSpec, Regime
from host.domain.quick_init import quick_init


@dataclass(frozen=True, slots=True)
class HostLoad:
    """How hard the host is working right now, measured by the host (never by a plugin).

    ``loop_lag`` is how late the event loop ran its last scheduled check (a busy or starved loop);
    ``exchange_latency`` the latest round trip to OKX (order acknowledgement or WebSocket ping).
    The circuit breaker's adaptive-load guard takes fewer new signals when either is high.
    """

    loop_lag: timedelta
    exchange_latency: timedelta


@quick_init  # one per tick
@dataclass(frozen=True, slots=True)
class HookContext:
    """What a plugin may know about one instrument when the host asks it something.

    ``now`` is read from the host's injected clock when the call starts (aware UTC), so every
    plugin answering one call sees the same instant. ``regime`` is the latest answer of
    ``detect_regime`` for the instrument, or the configured fallback before the first answer.
    ``load`` is the host's latest load measurement, ``None`` until it has one (and in replays).
    """

    now: datetime
    instrument: InstrumentSpec
    regime: Regime
    load: HostLoad | None = None


@dataclass(frozen=True, slots=True)
class HostInfo:
    """What a plugin may know about the whole host at start-up and shutdown."""

    now: datetime
    mode: str
    instruments: Mapping[str, InstrumentSpec]
