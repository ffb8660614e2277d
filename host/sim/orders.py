"""Orders and algo orders as the simulator keeps them, and their OKX records (REST and push).

One mutable object per order holds what OKX reports about it: cumulative fill, fee and PnL, and
the fields of the *last* fill, which the orders channel and ``GET /trade/order`` both show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from host.sim.attached import AttachedAlgo
from host.sim.fields import ALGO_FIELDS, ALGO_PUSH_FIELDS, ORDER_FIELDS, ORDER_PUSH_FIELDS
from host.sim.wire import JsonDict, flag, ms, num

LIVE_STATES = frozenset({"live", "partially_filled"})


@dataclass(slots=True)
class SimFill:
    """One execution of an order: what the fill fields and ``GET /trade/fills`` show."""

    trade_id: str
    px: Decimal
    sz: Decimal
    fee: Decimal
    pnl: Decimal
    exec_type: str
    ts: datetime
    mark_px: Decimal
    bill_id: str = ""


@dataclass(slots=True)
class SimOrder:
    """An order of a simulated account."""

    ord_id: str
    cl_ord_id: str
    tag: str
    inst_id: str
    side: str
    pos_side: str
    td_mode: str
    ord_type: str
    px: Decimal | None
    sz: Decimal
    reduce_only: bool
    lever: Decimal
    c_time: datetime
    u_time: datetime
    uid: str
    state: str = "live"
    acc_fill_sz: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    pnl: Decimal = Decimal(0)
    cancel_source: str = ""
    last_fill: SimFill | None = None
    fills: list[SimFill] = field(default_factory=list)
    algo_id: str = ""
    algo_cl_ord_id: str = ""
    category: str = "normal"
    last_px: Decimal = Decimal(0)
    arrival_touch: tuple[Decimal, Decimal] | None = None
    """Best bid and ask when the order arrived: what its taker fills are measured against."""
    amend: tuple[str, str] | None = None
    """``(amendResult, reqId)`` while the push answering an amend is built, else None."""
    attached: tuple[AttachedAlgo, ...] = ()
    """The TP/SL of ``attachAlgoOrds``, placed when the order ends with a fill."""
    attached_done: bool = False

    @property
    def remaining(self) -> Decimal:
        """Contracts still to fill."""
        return self.sz - self.acc_fill_sz

    @property
    def is_live(self) -> bool:
        """Tell whether the order can still fill or be canceled."""
        return self.state in LIVE_STATES

    @property
    def avg_px(self) -> Decimal | None:
        """Average fill price, None before the first fill."""
        return None if self.acc_fill_sz == 0 else self.notional / self.acc_fill_sz

    def add_fill(self, fill: SimFill, now: datetime) -> None:
        """Book a fill: cumulative size, notional, fee and PnL, state, last-fill fields."""
        self.fills.append(fill)
        self.last_fill = fill
        self.acc_fill_sz += fill.sz
        self.notional += fill.px * fill.sz
        self.fee += fill.fee
        self.pnl += fill.pnl
        self.state = "filled" if self.remaining == 0 else "partially_filled"
        self.u_time = now

    def cancel(self, source: str, now: datetime) -> None:
        """End the order as ``canceled`` with OKX's ``cancelSource`` code."""
        self.state = "canceled"
        self.cancel_source = source
        self.last_fill = None
        self.u_time = now

    def record(self) -> JsonDict:
        """``GET /trade/order`` / ``orders-pending`` row."""
        record: JsonDict = dict.fromkeys(ORDER_FIELDS, "")
        record.update(self._common())
        return record

    def push_record(self) -> JsonDict:
        """``orders`` channel item; ``fill*`` fields describe this update's fill only."""
        record: JsonDict = dict.fromkeys(ORDER_PUSH_FIELDS, "")
        record.update(self._common())
        fill = self.last_fill
        amend_result, req_id = self.amend or ("", "")
        record.update(
            amendResult=amend_result,
            code="0",
            msg="",
            reqId=req_id,
            lastPx=num(self.last_px),
            notionalUsd=num(self.sz * self.last_px),
            fillFee=num(fill.fee) if fill else "0",
            fillFeeCcy="USDT" if fill else "",
            fillPnl=num(fill.pnl) if fill else "0",
            fillNotionalUsd=num(fill.px * fill.sz) if fill else "",
            fillMarkPx=num(fill.mark_px) if fill else "",
            execType=fill.exec_type if fill else "",
            fillSz=num(fill.sz) if fill else "0",
        )
        return record

    def _common(self) -> JsonDict:
        fill = self.last_fill
        return {
            "accFillSz": num(self.acc_fill_sz),
            "algoClOrdId": self.algo_cl_ord_id,
            "algoId": self.algo_id,
            "attachAlgoOrds": [item.record() for item in self.attached],
            "avgPx": num(self.avg_px) if self.avg_px is not None else "",
            "cTime": ms(self.c_time),
            "cancelSource": self.cancel_source,
            "category": self.category,
            "ccy": "USDT",
            "clOrdId": self.cl_ord_id,
            "fee": num(self.fee),
            "feeCcy": "USDT",
            "fillPx": num(fill.px) if fill else "",
            "fillSz": num(fill.sz) if fill else "0",
            "fillTime": ms(fill.ts) if fill else "",
            "instId": self.inst_id,
            "instType": "SWAP",
            "isTpLimit": "false",
            "lever": num(self.lever),
            "linkedAlgoOrd": {"algoId": ""},
            "ordId": self.ord_id,
            "ordType": self.ord_type,
            "pnl": num(self.pnl),
            "posSide": self.pos_side,
            "px": num(self.px),
            "rebate": "0",
            "rebateCcy": "USDT",
            "reduceOnly": flag(self.reduce_only),
            "side": self.side,
            "state": self.state,
            "stpMode": "cancel_maker",
            "sz": num(self.sz),
            "tag": self.tag,
            "tdMode": self.td_mode,
            "tradeId": fill.trade_id if fill else "",
            "uTime": ms(self.u_time),
        }


@dataclass(slots=True)
class SimAlgo:
    """An exchange-side conditional / oco / trigger / trailing order."""

    algo_id: str
    algo_cl_ord_id: str
    tag: str
    inst_id: str
    ord_type: str
    side: str
    pos_side: str
    td_mode: str
    sz: Decimal
    reduce_only: bool
    close_fraction: bool
    lever: Decimal
    c_time: datetime
    u_time: datetime
    uid: str
    trigger_px: Decimal | None = None
    trigger_px_type: str = "last"
    order_px: Decimal | None = None
    sl_trigger_px: Decimal | None = None
    sl_ord_px: Decimal | None = None
    sl_trigger_px_type: str = "last"
    tp_trigger_px: Decimal | None = None
    tp_ord_px: Decimal | None = None
    tp_trigger_px_type: str = "last"
    callback_ratio: Decimal | None = None
    callback_spread: Decimal | None = None
    active_px: Decimal | None = None
    activated: bool = True
    extreme: Decimal | None = None
    move_trigger_px: Decimal | None = None
    trigger_above: bool = True
    cxl_on_close_pos: bool = False
    state: str = "live"
    ord_id: str = ""
    actual_px: Decimal | None = None
    actual_sz: Decimal = Decimal(0)
    actual_side: str = ""
    trigger_time: datetime | None = None
    last_px: Decimal = Decimal(0)
    ct_val: Decimal | None = None
    """The instrument's contract value (``ctVal`` of the algo history rows)."""

    @property
    def is_live(self) -> bool:
        """Tell whether the algo can still trigger."""
        return self.state == "live"

    def record(self) -> JsonDict:
        """``orders-algo-pending`` / ``orders-algo-history`` row."""
        record: JsonDict = dict.fromkeys(ALGO_FIELDS, "")
        record.update(self._common())
        record.update(
            activePx=num(self.active_px),
            # OKX: the leg that fired (sl/tp), or the order's side once it ended otherwise
            actualSide=self.actual_side or ("" if self.is_live else self.side),
            callbackRatio=num(self.callback_ratio),
            callbackSpread=num(self.callback_spread),
            ccy="",
            closeFraction="1" if self.close_fraction else "",
            ctVal=num(self.ct_val),
            reduceOnly=flag(self.reduce_only),
            moveTriggerPx=num(self.move_trigger_px),
            slOrdPx=num(self.sl_ord_px),
            slTriggerPx=num(self.sl_trigger_px),
            slTriggerPxType=self.sl_trigger_px_type if self.sl_trigger_px is not None else "",
            tpOrdPx=num(self.tp_ord_px),
            tpTriggerPx=num(self.tp_trigger_px),
            tpTriggerPxType=self.tp_trigger_px_type if self.tp_trigger_px is not None else "",
            uly=self.inst_id.removesuffix("-SWAP"),
        )
        return record

    def push_record(self) -> JsonDict:
        """``orders-algo`` channel item; ``algo-advance`` adds the trailing fields."""
        record: JsonDict = dict.fromkeys(ALGO_PUSH_FIELDS, "")
        record.update({key: value for key, value in self._common().items() if key in record})
        record.update(clOrdId="", reduceOnly=flag(self.reduce_only))
        if self.ord_type == "move_order_stop":
            record.update(
                activePx=num(self.active_px),
                callbackRatio=num(self.callback_ratio),
                callbackSpread=num(self.callback_spread),
                moveTriggerPx=num(self.move_trigger_px),
            )
        return record

    def _common(self) -> JsonDict:
        return {
            "actualPx": num(self.actual_px),
            "actualSz": num(self.actual_sz),
            "algoClOrdId": self.algo_cl_ord_id,
            "algoId": self.algo_id,
            "cTime": ms(self.c_time),
            "instId": self.inst_id,
            "instType": "SWAP",
            "last": num(self.last_px),
            "lever": num(self.lever),
            "notionalUsd": num(self.sz * self.last_px),
            "ordId": self.ord_id,
            "ordPx": num(self.order_px),
            "ordType": self.ord_type,
            "posSide": self.pos_side,
            "side": self.side,
            "state": self.state,
            "sz": num(self.sz),
            "tag": self.tag,
            "tdMode": self.td_mode,
            "triggerPx": num(self.trigger_px),
            "triggerPxType": self.trigger_px_type if self.trigger_px is not None else "",
            "triggerTime": ms(self.trigger_time),
            "uTime": ms(self.u_time),
        }
