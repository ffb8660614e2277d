"""scalphost: what a plugin author imports.

Mark hook implementations with :data:`hookimpl`; the hook contract is :mod:`host.hookspecs`.
Everything a hook receives or may return is re-exported here, so a plugin never imports a host
internal.
"""

import pluggy

from host.context import HookContext, HostInfo, HostLoad
from host.decisions import (
    Accept,
    Adopt,
    CancelOrder,
    CloseNow,
    CrossSpread,
    DriftResolution,
    EntryPlan,
    ExitProposal,
    ExpiryAction,
    Flatten,
    Notification,
    RepriceOrder,
    StopAt,
    Veto,
)
from host.domain import (
    Bar,
    ClosedPosition,
    Drift,
    DriftKind,
    EventKind,
    Fill,
    HostEvent,
    InstrumentSpec,
    Order,
    OrderRejection,
    OrderState,
    PnL,
    Position,
    PositionOrigin,
    PositionSide,
    Regime,
    Side,
    Signal,
    Tick,
    Trade,
)
from host.hookspecs import PROJECT_NAME

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin method as a hook implementation: ``@hookimpl`` or ``@hookimpl(trylast=True)``."""

__all__ = [
    "Accept",
    "Adopt",
    "Bar",
    "CancelOrder",
    "CloseNow",
    "ClosedPosition",
    "CrossSpread",
    "Drift",
    "DriftKind",
    "DriftResolution",
    "EntryPlan",
    "EventKind",
    "ExitProposal",
    "ExpiryAction",
    "Fill",
    "Flatten",
    "HookContext",
    "HostEvent",
    "HostInfo",
    "HostLoad",
    "InstrumentSpec",
    "Notification",
    "Order",
    "OrderRejection",
    "OrderState",
    "PnL",
    "Position",
    "PositionOrigin",
    "PositionSide",
    "Regime",
    "RepriceOrder",
    "Side",
    "Signal",
    "StopAt",
    "Tick",
    "Trade",
    "Veto",
    "hookimpl",
]
