"""What the host asks OKX to do, in OKX's words: orders, exchange-side stops, client order ids.

Prices and sizes arrive here already on the instrument's grid (rounded by
:class:`~host.domain.InstrumentSpec` where the order is built) and leave as plain decimal strings:
``str(Decimal("1E+2"))`` is ``"1E+2"``, which OKX refuses, so every number goes through
:func:`wire_decimal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from host.clock import Clock, to_okx_ms
from host.domain import Side

CL_ORD_ID_MAX = 32
HOST_PREFIX = "sh"
"""What the host's own ``clOrdId``s start with unless told otherwise."""
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_TIME_WIDTH = 8
"""Milliseconds since 1970 fit in 8 base-36 digits until the year 2059."""
_SEQUENCE_WIDTH = 4
_SEQUENCE_SPAN = 36**_SEQUENCE_WIDTH
"""Ids made within one millisecond stay distinct up to this many."""


def wire_decimal(value: Decimal) -> str:
    """A Decimal as OKX expects it: fixed-point, no exponent, no trailing zeros after a point."""
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class OrderType(StrEnum):
    """The OKX ``ordType`` values the host uses."""

    MARKET = "market"
    LIMIT = "limit"
    POST_ONLY = "post_only"
    IOC = "ioc"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order to place. ``pos_side`` is needed only in OKX's long/short position mode."""

    inst_id: str
    cl_ord_id: str
    side: Side
    order_type: OrderType
    size: Decimal
    price: Decimal | None = None
    reduce_only: bool = False
    td_mode: str = "cross"
    pos_side: str | None = None

    def __post_init__(self) -> None:
        if (self.price is None) != (self.order_type is OrderType.MARKET):
            raise ValueError(f"{self.order_type} order: a price is needed exactly for non-market")
        check_client_id(self.cl_ord_id)

    def to_wire(self) -> dict[str, str | bool]:
        """The body of ``POST /api/v5/trade/order``."""
        body: dict[str, str | bool] = {
            "instId": self.inst_id,
            "tdMode": self.td_mode,
            "clOrdId": self.cl_ord_id,
            "side": self.side.value,
            "ordType": self.order_type.value,
            "sz": wire_decimal(self.size),
        }
        if self.price is not None:
            body["px"] = wire_decimal(self.price)
        if self.reduce_only:
            body["reduceOnly"] = True
        if self.pos_side is not None:
            body["posSide"] = self.pos_side
        return body


class TriggerPriceType(StrEnum):
    """Which price an exchange-side stop watches."""

    LAST = "last"
    MARK = "mark"
    INDEX = "index"


@dataclass(frozen=True, slots=True)
class StopRequest:
    """An exchange-side protective stop (``order-algo``): the backstop if the host dies.

    ``conditional`` closes the whole position at the market (``closeFraction`` 1) when the
    trigger price is crossed. With ``callback_ratio`` (or ``callback_spread``) it is a trailing
    ``move_order_stop`` instead, which needs an explicit size.
    """

    inst_id: str
    algo_cl_ord_id: str
    side: Side
    trigger_price: Decimal | None = None
    trigger_price_type: TriggerPriceType = TriggerPriceType.MARK
    size: Decimal | None = None
    callback_ratio: Decimal | None = None
    callback_spread: Decimal | None = None
    td_mode: str = "cross"

    def __post_init__(self) -> None:
        check_client_id(self.algo_cl_ord_id)
        trailing = self.callback_ratio is not None or self.callback_spread is not None
        if trailing == (self.trigger_price is not None):
            raise ValueError("a stop has either a trigger price or a trailing callback")
        if trailing and self.size is None:
            raise ValueError("a trailing stop needs a size")

    @property
    def order_type(self) -> str:
        """OKX's ``ordType`` for this stop."""
        return "conditional" if self.trigger_price is not None else "move_order_stop"

    def to_wire(self) -> dict[str, str | bool]:
        """The body of ``POST /api/v5/trade/order-algo``."""
        body: dict[str, str | bool] = {
            "instId": self.inst_id,
            "tdMode": self.td_mode,
            "algoClOrdId": self.algo_cl_ord_id,
            "side": self.side.value,
            "ordType": self.order_type,
            "reduceOnly": True,
        }
        if self.trigger_price is not None:
            body["slTriggerPx"] = wire_decimal(self.trigger_price)
            body["slOrdPx"] = "-1"  # market execution once triggered
            body["slTriggerPxType"] = self.trigger_price_type.value
        if self.size is None:
            body["closeFraction"] = "1"
        else:
            body["sz"] = wire_decimal(self.size)
        if self.callback_ratio is not None:
            body["callbackRatio"] = wire_decimal(self.callback_ratio)
        if self.callback_spread is not None:
            body["callbackSpread"] = wire_decimal(self.callback_spread)
        return body


def check_client_id(client_id: str) -> str:
    """Refuse a client order id OKX would refuse (``51000``): 1-32 ASCII letters and digits."""
    if not 0 < len(client_id) <= CL_ORD_ID_MAX or _NOT_ALPHANUMERIC.search(client_id):
        raise ValueError(f"not a valid OKX client order id: {client_id!r}")
    return client_id


class ClientOrderIds:
    """Makes ``clOrdId`` values valid for OKX, unique across restarts and traceable.

    ``<prefix><purpose><time><sequence><reference>``: the purpose letter says what the order is
    for (``e`` entry, ``x`` exit, ``s`` stop...), the time (ms, base 36, 8 digits) keeps ids unique
    across restarts, the sequence (4 digits) within a millisecond, and the reference names what
    caused it (e.g. the signal's journal id), cut to fit 32 characters. OKX looks orders up by
    ``clOrdId`` and returns only the latest with a given id, so an id is never reused.
    """

    def __init__(self, clock: Clock, prefix: str = HOST_PREFIX) -> None:
        self._clock = clock
        self._prefix = check_client_id(prefix)
        self._sequence = 0

    @property
    def prefix(self) -> str:
        """What every id made here starts with: how the host recognises its own orders."""
        return self._prefix

    def next(self, purpose: str, reference: str = "") -> str:
        """A fresh id for an order with ``purpose`` (one letter) caused by ``reference``."""
        self._sequence += 1
        head = (
            self._prefix
            + check_client_id(purpose)
            + _base36(int(to_okx_ms(self._clock.now())), _TIME_WIDTH)
            + _base36(self._sequence % _SEQUENCE_SPAN, _SEQUENCE_WIDTH)
        )
        room = CL_ORD_ID_MAX - len(head)
        return check_client_id(head + _NOT_ALPHANUMERIC.sub("", reference)[:room])


def _base36(number: int, width: int) -> str:
    """``number`` in base 36, zero-padded to ``width`` so the fields of an id never run together."""
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
    return digits.rjust(width, "0")
