"""Signals, orders and fills: the entry side of the domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from host.domain.sides import PositionSide, Side


@dataclass(frozen=True, slots=True)
class Signal:
    """A signal plugin's wish to open a position; nothing is ordered until every check passes.

    ``source`` names the plugin that emitted it and ``reason`` says why, so the journal can tell
    which opinion opened each position.
    """

    inst_id: str
    side: PositionSide
    created_at: datetime
    source: str
    reason: str
    reference_price: Decimal | None = None


class OrderState(StrEnum):
    """OKX order states; ``filled`` and ``canceled`` are terminal."""

    LIVE = "live"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        """Whether the order can change no more."""
        return self in (OrderState.FILLED, OrderState.CANCELED)


@dataclass(frozen=True, slots=True)
class Order:
    """One order as the host knows it; ``filled_size`` is OKX's cumulative ``accFillSz``.

    ``price`` is ``None`` for market orders. ``ord_id`` is ``None`` until the exchange has
    acknowledged the order.
    """

    cl_ord_id: str
    inst_id: str
    side: Side
    size: Decimal
    price: Decimal | None
    created_at: datetime
    state: OrderState = OrderState.LIVE
    filled_size: Decimal = Decimal(0)
    average_price: Decimal | None = None
    ord_id: str | None = None
    post_only: bool = False
    reduce_only: bool = False

    @property
    def remaining_size(self) -> Decimal:
        """Contracts still waiting to fill."""
        return self.size - self.filled_size


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, identified by the exchange's ``tradeId``.

    ``size`` is OKX's ``fillSz`` (this fill), never the cumulative ``accFillSz``.

    ``fee`` follows OKX's sign: negative is charged, positive a rebate.
    """

    inst_id: str
    trade_id: str
    ord_id: str
    cl_ord_id: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    ts: datetime
    maker: bool = False


@dataclass(frozen=True, slots=True)
class OrderRejection:
    """An order request that did not reach the book: OKX refused it or the request failed.

    ``code`` is OKX's ``sCode`` (or ``code``) when the exchange answered, otherwise a short name
    of the failure (``"http-503"``, ``"timeout"``); ``at`` is when the host learned of it (aware
    UTC). The circuit breaker counts these; the host journals them so a restart can replay them.
    """

    inst_id: str
    cl_ord_id: str
    at: datetime
    code: str
    message: str
