"""What one OKX WebSocket frame becomes once decoded: domain values plus the wire facts around them.

The domain objects (:class:`~host.domain.Tick`, :class:`~host.domain.Order`, ...) carry what the
host and its plugins reason about. The classes here add what only the connection layer needs:
the stamp that orders pushes of one stream (for the market-data watermark), whether a positions
push is a page of a snapshot, the cumulative fee of an order, why an order was canceled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from host.domain import Fill, Order, Position, Tick, Trade
from host.domain.quick_init import quick_init


@dataclass(frozen=True, slots=True)
class Pong:
    """The bare text ``pong`` that answers our keep-alive ``ping``."""


@dataclass(frozen=True, slots=True)
class ControlEvent:
    """A frame with an ``event`` field: ``login``, ``subscribe``, ``error``, ``notice``, ...

    ``code`` is ``"0"`` or ``""`` on success; ``channel`` and ``inst_id`` come from the ``arg`` of
    a subscribe acknowledgement. OKX's 2022 acknowledgements had no ``connId``, so it may be ``""``.
    """

    event: str
    code: str = ""
    msg: str = ""
    channel: str = ""
    inst_id: str = ""
    conn_id: str = ""

    @property
    def ok(self) -> bool:
        """Whether the event reports success (no error code)."""
        return self.event != "error" and self.code in ("", "0")


@quick_init  # one per tick
@dataclass(frozen=True, slots=True)
class TickerPush:
    """A ``tickers`` push; ``stamp`` is its ``ts`` in milliseconds, for the watermark."""

    tick: Tick
    stamp: int


@dataclass(frozen=True, slots=True)
class TradePush:
    """A ``trades`` push; ``stamp`` is ``int(tradeId)`` (several trades share one millisecond)."""

    trade: Trade
    stamp: int


@dataclass(frozen=True, slots=True)
class QuotePush:
    """Best bid and ask from ``books5`` or ``bbo-tbt``; ``stamp`` is the book's ``seqId``.

    ``prev_stamp`` is ``prevSeqId`` where OKX sends it (``-1`` otherwise): equal stamps mean a
    keep-alive, a smaller ``stamp`` a sequence reset.
    """

    channel: str
    inst_id: str
    ts: datetime
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    stamp: int
    prev_stamp: int = -1


@dataclass(frozen=True, slots=True)
class MarkPricePush:
    """A ``mark-price`` push: the price OKX uses for ``upl`` and mark-triggered stops."""

    inst_id: str
    ts: datetime
    mark: Decimal
    stamp: int


@dataclass(frozen=True, slots=True)
class OrderPush:
    """One order record from the ``orders`` channel (or a REST order query).

    ``order.filled_size`` is the cumulative ``accFillSz``; ``fill`` is the execution this push
    reports (``fillSz``, ``fillPx``, ``tradeId``, ``fillFee``), or ``None`` when the push is not
    about a fill (an ack, a cancel, a market order shown ``filled`` with ``fillSz`` 0). ``fee``
    and ``pnl`` are cumulative over the order's life. ``cancel_source`` is OKX's code (``31``:
    a post-only order that would have taken liquidity) or ``""``. ``category`` is ``normal``
    unless the exchange placed the order itself (liquidation, ADL).
    """

    order: Order
    fill: Fill | None
    fee: Decimal
    pnl: Decimal
    cancel_source: str
    category: str
    updated_at: datetime
    algo_cl_ord_id: str = ""
    """Set when an exchange-side stop (algo order) placed this order on triggering."""


class PositionsEventType(StrEnum):
    """Whether a positions push is (a page of) a full snapshot or an event-driven update."""

    SNAPSHOT = "snapshot"
    EVENT_UPDATE = "event_update"


@dataclass(frozen=True, slots=True)
class PositionReport:
    """A position as the exchange reports it, with the mark price the report was computed at.

    A size of zero means flat (OKX pushes ``pos:"0"`` for the position that was just closed).
    ``time_credible`` is cleared by the credibility filter when the position's ``uTime`` is
    impossibly far ahead of the host's clock (the engine then ignores that time).
    """

    position: Position
    mark: Decimal | None
    upl: Decimal | None
    liquidation_price: Decimal | None
    time_credible: bool = True


@dataclass(frozen=True, slots=True)
class PositionsPush:
    """One ``positions`` push. A snapshot spans pages; it is complete on ``last_page``."""

    event_type: PositionsEventType
    reports: tuple[PositionReport, ...]
    page: int = 1
    last_page: bool = True


@dataclass(frozen=True, slots=True)
class CurrencyBalance:
    """One currency of the account: equity, cash, what is free for new orders, unrealised PnL."""

    ccy: str
    equity: Decimal
    cash: Decimal
    available: Decimal | None
    upl: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountPush:
    """The ``account`` channel (or REST balance): total equity in USD and each currency.

    ``total_equity`` is ``None`` when OKX leaves ``totalEq`` empty (seen in its own examples).
    """

    total_equity: Decimal | None
    balances: tuple[CurrencyBalance, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AlgoOrderPush:
    """An exchange-side stop (``orders-algo``): conditional or trailing, and its state.

    ``trigger_price`` is the stop-loss trigger of a ``conditional`` order or the trigger of a
    ``trigger`` order; ``callback_ratio``/``callback_spread`` describe a ``move_order_stop``.
    ``ord_id`` is set once the trigger fired and placed a normal order.
    """

    algo_id: str
    algo_cl_ord_id: str
    inst_id: str
    ord_type: str
    side: str
    state: str
    size: Decimal | None
    trigger_price: Decimal | None
    callback_ratio: Decimal | None
    callback_spread: Decimal | None
    ord_id: str
    updated_at: datetime


ExchangeEvent = (
    Pong
    | ControlEvent
    | TickerPush
    | TradePush
    | QuotePush
    | MarkPricePush
    | OrderPush
    | PositionsPush
    | AccountPush
    | AlgoOrderPush
)
"""Everything the decoder can hand to the engine."""
