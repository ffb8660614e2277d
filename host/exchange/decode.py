"""Turn OKX v5 wire messages into domain events: Decimal values, aware UTC times, never a crash.

The hot market-data channels take a typed fast path first (:mod:`host.exchange.hot`: msgspec
structs, the same rules); every other frame, and any hot one the fast path declines, is parsed
with orjson and handed to one function per channel. Every numeric field goes through
:mod:`host.money`, every time through :func:`host.clock.from_okx_ms`, so a float or a naive time
cannot get in.

A frame that cannot be decoded is **counted and logged with its raw text, and dropped**: one bad
message from the exchange (or a proxy) must never stop the loop that protects open positions.
Channels the host does not use (candles, funding rate, ...) are counted as ignored, by channel.

The item decoders (:func:`order_push`, :func:`position_report`, :func:`instrument_spec`, ...) are
public because the REST client reads the same records from its endpoints.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson

from host.clock import from_okx_ms
from host.domain import (
    Fill,
    InstrumentSpec,
    Order,
    OrderState,
    Position,
    PositionSide,
    Side,
    Tick,
    Trade,
)
from host.exchange.events import (
    AccountPush,
    AlgoOrderPush,
    ControlEvent,
    CurrencyBalance,
    ExchangeEvent,
    MarkPricePush,
    OrderPush,
    Pong,
    PositionReport,
    PositionsEventType,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)
from host.exchange.hot import decode_hot
from host.exchange.results import AccountBill
from host.money import parse_decimal, parse_optional_decimal

_log = logging.getLogger(__name__)

Item = Mapping[str, Any]
"""One element of a message's ``data`` array, as parsed JSON."""

RAW_TEXT_LOG_LIMIT = 2000
"""Characters of a malformed frame quoted in the log: enough to diagnose, bounded in size."""

_DECODE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)
"""What a malformed item raises in the decoders below (MoneyError is a ValueError)."""

PONG = Pong()

IMPOSSIBLE_AMOUNT = Decimal("1e15")
"""No fill's price (USDT per coin) or size (contracts) comes near this: it is a garbled number."""

_ORDER_STATES = {
    "live": OrderState.LIVE,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELED,
    "mmp_canceled": OrderState.CANCELED,
}


# --- item decoders (shared with REST) ---------------------------------------------------------


def instrument_spec(item: Item) -> InstrumentSpec:
    """An instrument record (``public/instruments``) as the spec orders are rounded against."""
    return InstrumentSpec(
        inst_id=_text(item, "instId"),
        ct_val=parse_decimal(item["ctVal"]),
        ct_mult=parse_decimal(item["ctMult"]),
        tick_sz=parse_decimal(item["tickSz"]),
        lot_sz=parse_decimal(item["lotSz"]),
        min_sz=parse_decimal(item["minSz"]),
        settle_ccy=_text(item, "settleCcy"),
    )


def order_push(item: Item, *, with_fill: bool = True) -> OrderPush:
    """An order record; with ``with_fill``, its ``fill*`` fields as the fill it reports.

    The REST order query fills ``fillSz``/``tradeId`` with the *last* fill as of the query and
    carries no ``fillFee``, so REST callers pass ``with_fill=False`` and read fills from the
    fills endpoint instead.
    """
    order = Order(
        cl_ord_id=_text(item, "clOrdId"),
        inst_id=_text(item, "instId"),
        side=Side(item["side"]),
        size=parse_decimal(item["sz"]),
        price=parse_optional_decimal(item["px"]),
        created_at=from_okx_ms(item["cTime"]),
        state=_ORDER_STATES[item["state"]],
        filled_size=parse_decimal(item["accFillSz"]),
        average_price=_positive_or_none(parse_optional_decimal(item["avgPx"])),
        ord_id=_text(item, "ordId") or None,
        post_only=item["ordType"] == "post_only",
        reduce_only=_flag(item.get("reduceOnly", "false")),
    )
    return OrderPush(
        order=order,
        fill=_fill_of(item, order) if with_fill else None,
        fee=parse_optional_decimal(item["fee"]) or Decimal(0),
        pnl=parse_optional_decimal(item["pnl"]) or Decimal(0),
        cancel_source=_text(item, "cancelSource", ""),
        category=_text(item, "category", "normal"),
        updated_at=from_okx_ms(item["uTime"]),
        algo_cl_ord_id=_text(item, "algoClOrdId", ""),
    )


def fill_record(item: Item) -> Fill:
    """One record of the fills endpoint (``trade/fills``): an execution with its own fee."""
    return Fill(
        inst_id=_text(item, "instId"),
        trade_id=_text(item, "tradeId"),
        ord_id=_text(item, "ordId"),
        cl_ord_id=_text(item, "clOrdId", ""),
        side=Side(item["side"]),
        price=_execution_amount(parse_decimal(item["fillPx"]), "fillPx"),
        size=_execution_amount(parse_decimal(item["fillSz"]), "fillSz"),
        fee=parse_decimal(item["fee"]),
        ts=from_okx_ms(item.get("fillTime") or item["ts"]),
        maker=item.get("execType") == "M",
    )


def bill_record(item: Item) -> AccountBill:
    """One record of ``account/bills``: a fee and realised PnL as OKX booked them."""
    return AccountBill(
        bill_id=_text(item, "billId"),
        kind=_text(item, "type"),
        inst_id=_text(item, "instId", ""),
        trade_id=_text(item, "tradeId", ""),
        fee=parse_decimal(item.get("fee") or "0"),
        pnl=parse_decimal(item.get("pnl") or "0"),
        balance_change=parse_decimal(item.get("balChg") or "0"),
        ts=from_okx_ms(item["ts"]),
    )


def position_report(item: Item) -> PositionReport:
    """A position record (``positions`` push or REST) in the host's terms.

    In net mode OKX signs ``pos`` (negative is short); in long/short mode ``posSide`` names the
    side and ``pos`` is positive. ``pos`` zero is a flat position, whose ``avgPx`` may be empty.
    """
    signed = parse_decimal(item["pos"])
    pos_side = item["posSide"]
    if pos_side == "net":
        side = PositionSide.SHORT if signed < 0 else PositionSide.LONG
    else:
        side = PositionSide(pos_side)
    position = Position(
        pos_id=_text(item, "posId"),
        inst_id=_text(item, "instId"),
        side=side,
        size=abs(signed),
        entry_price=parse_optional_decimal(item["avgPx"]) or Decimal(0),
        entry_time=from_okx_ms(item["cTime"]),
        updated_at=from_okx_ms(item["uTime"]),
    )
    return PositionReport(
        position=position,
        mark=parse_optional_decimal(item.get("markPx", "")),
        upl=parse_optional_decimal(item.get("upl", "")),
        liquidation_price=parse_optional_decimal(item.get("liqPx", "")),
    )


def account_push(item: Item) -> AccountPush:
    """An account record (``account`` push or REST ``account/balance``)."""
    return AccountPush(
        total_equity=parse_optional_decimal(item["totalEq"]),
        balances=tuple(
            CurrencyBalance(
                ccy=_text(detail, "ccy"),
                equity=parse_decimal(detail["eq"]),
                cash=parse_decimal(detail["cashBal"]),
                available=parse_optional_decimal(detail.get("availBal", "")),
                upl=parse_optional_decimal(detail.get("upl", "")),
            )
            for detail in item["details"]
        ),
        updated_at=from_okx_ms(item["uTime"]),
    )


def algo_order_push(item: Item) -> AlgoOrderPush:
    """An exchange-side stop record (``orders-algo`` push or REST algo queries)."""
    trigger = item.get("slTriggerPx", "") or item.get("triggerPx", "")
    return AlgoOrderPush(
        algo_id=_text(item, "algoId"),
        algo_cl_ord_id=_text(item, "algoClOrdId", ""),
        inst_id=_text(item, "instId"),
        ord_type=_text(item, "ordType"),
        side=_text(item, "side"),
        state=_text(item, "state"),
        size=parse_optional_decimal(item.get("sz", "")),
        trigger_price=parse_optional_decimal(trigger),
        callback_ratio=parse_optional_decimal(item.get("callbackRatio", "")),
        callback_spread=parse_optional_decimal(item.get("callbackSpread", "")),
        ord_id=_text(item, "ordId", ""),
        updated_at=from_okx_ms(item["uTime"]),
    )


# --- channel decoders: one item of a push's ``data`` each --------------------------------------


def _ticker(item: Item, _: Item) -> ExchangeEvent:
    tick = Tick(
        inst_id=_text(item, "instId"),
        ts=from_okx_ms(item["ts"]),
        last=parse_decimal(item["last"]),
        bid=parse_decimal(item["bidPx"]),
        ask=parse_decimal(item["askPx"]),
    )
    return TickerPush(tick, stamp=int(item["ts"]))


def _trade(item: Item, _: Item) -> ExchangeEvent:
    trade = Trade(
        inst_id=_text(item, "instId"),
        trade_id=_text(item, "tradeId"),
        ts=from_okx_ms(item["ts"]),
        price=parse_decimal(item["px"]),
        size=parse_decimal(item["sz"]),
        side=Side(item["side"]),
    )
    return TradePush(trade, stamp=int(item["tradeId"]))


def _quote(item: Item, arg: Item) -> ExchangeEvent:
    best_bid, best_ask = item["bids"][0], item["asks"][0]
    return QuotePush(
        channel=_text(arg, "channel"),
        inst_id=_text(arg, "instId"),
        ts=from_okx_ms(item["ts"]),
        bid=parse_decimal(best_bid[0]),
        bid_size=parse_decimal(best_bid[1]),
        ask=parse_decimal(best_ask[0]),
        ask_size=parse_decimal(best_ask[1]),
        stamp=_integer(item["seqId"]),
        prev_stamp=_integer(item.get("prevSeqId", -1)),
    )


def _mark_price(item: Item, _: Item) -> ExchangeEvent:
    return MarkPricePush(
        inst_id=_text(item, "instId"),
        ts=from_okx_ms(item["ts"]),
        mark=parse_decimal(item["markPx"]),
        stamp=int(item["ts"]),
    )


ITEM_DECODERS: Mapping[str, Callable[[Item, Item], ExchangeEvent]] = {
    "tickers": _ticker,
    "trades": _trade,
    "books5": _quote,
    "bbo-tbt": _quote,
    "mark-price": _mark_price,
    "orders": lambda item, _: order_push(item),
    "account": lambda item, _: account_push(item),
    "orders-algo": lambda item, _: algo_order_push(item),
}
"""The channels whose items stand alone: a bad item is dropped, the others of its push pass."""

POSITIONS_CHANNEL = "positions"
"""Handled apart: a snapshot is all-or-nothing (see :meth:`FrameDecoder._positions`)."""


class FrameDecoder:
    """Decodes WebSocket frames and keeps count of what it could not use.

    ``malformed`` counts frames, or items of a frame, that were not valid OKX messages (each is
    logged with the frame's raw text); ``ignored`` counts well-formed pushes of channels the host
    does not use, by channel. One bad item of a push costs only that item: a fill in the same
    ``orders`` push as a garbled one still reaches the engine.
    """

    def __init__(self) -> None:
        self.malformed = 0
        self.ignored: Counter[str] = Counter()

    def decode(self, frame: str | bytes) -> tuple[ExchangeEvent, ...]:
        """Return the events one frame carries; ``()`` for a frame that was dropped."""
        if frame == "pong" or frame == b"pong":
            return (PONG,)
        hot = decode_hot(frame)
        if hot is not None:
            return hot
        try:
            message = orjson.loads(frame)
        except orjson.JSONDecodeError as error:
            self._count_malformed(error, frame)
            return ()
        return self.decode_message(message, frame)

    def decode_message(
        self, message: object, frame: str | bytes | None = None
    ) -> tuple[ExchangeEvent, ...]:
        """The events of one message already parsed from JSON (``frame``: its text, for logs).

        The fast replay hands the simulator's messages over as they are, without the JSON text
        in between; they go through the same checks as a frame's.
        """
        try:
            if not isinstance(message, dict):
                raise TypeError(f"a frame must be a JSON object, not {type(message).__name__}")
            if "event" in message:
                return (_control_event(message),)
            arg, items = message["arg"], message["data"]
            channel = arg["channel"]
            if channel == POSITIONS_CHANNEL:
                return self._positions(message, items, frame or repr(message))
            decoder = ITEM_DECODERS.get(channel)
            if decoder is None:
                self.ignored[str(channel)] += 1
                return ()
            events = []
            for item in items:
                try:
                    events.append(decoder(item, arg))
                except _DECODE_ERRORS as error:
                    self._count_malformed(error, frame or repr(message))
            return tuple(events)
        except _DECODE_ERRORS as error:
            self._count_malformed(error, frame or repr(message))
            return ()

    def _positions(
        self, message: Item, items: list[Item], frame: str | bytes
    ) -> tuple[ExchangeEvent, ...]:
        """A snapshot with a bad report is dropped whole; an update loses only the bad report.

        A position missing from a complete snapshot is taken as flat, so a snapshot with a
        report left out would close a position that is open. The next snapshot (every ~5 s)
        or the REST reconciliation makes up for the dropped one.
        """
        event_type = PositionsEventType(message.get("eventType", PositionsEventType.EVENT_UPDATE))
        if event_type is PositionsEventType.SNAPSHOT:
            reports = tuple(position_report(item) for item in items)
        else:
            decoded = []
            for item in items:
                try:
                    decoded.append(position_report(item))
                except _DECODE_ERRORS as error:
                    self._count_malformed(error, frame)
            reports = tuple(decoded)
        push = PositionsPush(
            event_type=event_type,
            reports=reports,
            page=_integer(message.get("curPage", 1)),
            last_page=bool(message.get("lastPage", True)),
        )
        return (push,)

    def _count_malformed(self, error: Exception, frame: str | bytes) -> None:
        self.malformed += 1
        _log.warning(
            "malformed exchange frame dropped (%s: %s): %s",
            type(error).__name__,
            error,
            _quoted(frame),
        )


def _control_event(message: Item) -> ControlEvent:
    arg = message.get("arg") or {}
    return ControlEvent(
        event=_text(message, "event"),
        code=str(message.get("code", "")),
        msg=str(message.get("msg", "")),
        channel=str(arg.get("channel", message.get("channel", ""))),
        inst_id=str(arg.get("instId", "")),
        conn_id=str(message.get("connId", "")),
    )


# --- field helpers ----------------------------------------------------------------------------


def _text(item: Item, key: str, default: str | None = None) -> str:
    """A string field; absent is an error unless a default is given."""
    value = item[key] if default is None else item.get(key, default)
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string, got {type(value).__name__}")
    return value


def _integer(value: object) -> int:
    """An integer field that OKX sends as a JSON number or a digit string (``seqId``, pages)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return int(value)


def _flag(value: object) -> bool:
    """OKX booleans arrive as ``"true"``/``"false"`` strings or JSON booleans."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError(f"not a boolean flag: {value!r}")


def _positive_or_none(value: Decimal | None) -> Decimal | None:
    """OKX reports ``avgPx`` "0" before anything filled; no fill means no average price."""
    return value if value else None


def _fill_of(item: Item, order: Order) -> Fill | None:
    """The fill an ``orders`` push reports, if any: a ``tradeId`` with a non-zero ``fillSz``.

    OKX may show a market order ``filled`` with ``fillSz`` 0, and fills the fields of a push
    about no execution with ``"0"``; neither carries an execution.
    """
    trade_id = item.get("tradeId", "")
    fill_size = parse_optional_decimal(item.get("fillSz", ""))
    if trade_id in ("", "0") or not fill_size:
        return None
    return Fill(
        inst_id=order.inst_id,
        trade_id=_text(item, "tradeId"),
        ord_id=order.ord_id or "",
        cl_ord_id=order.cl_ord_id,
        side=order.side,
        price=_execution_amount(parse_decimal(item["fillPx"]), "fillPx"),
        size=_execution_amount(fill_size, "fillSz"),
        fee=parse_optional_decimal(item.get("fillFee", "")) or Decimal(0),
        ts=from_okx_ms(item["fillTime"]),
        maker=item.get("execType") == "M",
    )


def _execution_amount(value: Decimal, field: str) -> Decimal:
    """A fill's price or size, refused when no execution can have it.

    An execution has a positive price and size, and neither reaches
    :data:`IMPOSSIBLE_AMOUNT`. Such a record is malformed: journaling it would book a trade that
    never happened, and the fills endpoint still holds the true record for reconciliation.
    """
    if not 0 < value < IMPOSSIBLE_AMOUNT:
        raise ValueError(f"{field} {value} cannot be an execution's")
    return value


def _quoted(frame: str | bytes) -> str:
    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
    return text if len(text) <= RAW_TEXT_LOG_LIMIT else text[:RAW_TEXT_LOG_LIMIT] + "…"
