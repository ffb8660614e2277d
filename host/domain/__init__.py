"""The domain model: frozen value objects in Decimal and aware UTC, shared by host and plugins."""

from host.domain.instrument import InstrumentSpec, OrderPriceError, OrderSizeError
from host.domain.market import Bar, Regime, Tick, Trade
from host.domain.notices import EventKind, HostEvent
from host.domain.pnl import PnL
from host.domain.position import ClosedPosition, Drift, DriftKind, Position, PositionOrigin
from host.domain.sides import PositionSide, Side
from host.domain.trading import Fill, Order, OrderRejection, OrderState, Signal

__all__ = [
    "Bar",
    "ClosedPosition",
    "Drift",
    "DriftKind",
    "EventKind",
    "Fill",
    "HostEvent",
    "InstrumentSpec",
    "Order",
    "OrderPriceError",
    "OrderRejection",
    "OrderSizeError",
    "OrderState",
    "PnL",
    "Position",
    "PositionOrigin",
    "PositionSide",
    "Regime",
    "Side",
    "Signal",
    "Tick",
    "Trade",
]
