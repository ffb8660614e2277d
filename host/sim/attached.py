"""TP/SL attached to an order (``attachAlgoOrds``): placed as an algo order once the order fills.

OKX places the take-profit / stop-loss of an order with ``attachAlgoOrds`` when that order is
filled, for the filled size. The simulator does the same when the order ends (filled, or canceled
after a partial fill): one ``oco`` (both legs) or ``conditional`` (one leg) reduce-only algo on
the opposite side. What the simulator cannot honour (split take-profits with their own ``sz``,
amend-on-trigger) is refused with ``51000`` naming the field, never accepted and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from host.sim.params import Params
from host.sim.wire import JsonDict, SimOkxError, num, param_error

if TYPE_CHECKING:
    from host.sim.orders import SimOrder

FIELD = "attachAlgoOrds"
UNSUPPORTED = ("sz", "amendPxOnTriggerType", "tpOrdKind")
"""Attached-order options the simulator does not implement (refused, not ignored)."""


@dataclass(slots=True)
class AttachedAlgo:
    """One ``attachAlgoOrds`` item and, once placed, the algo order it became."""

    cl_id: str
    tp_trigger_px: Decimal | None
    tp_ord_px: Decimal | None
    tp_trigger_px_type: str
    sl_trigger_px: Decimal | None
    sl_ord_px: Decimal | None
    sl_trigger_px_type: str
    algo_id: str = ""
    fail: SimOkxError | None = None

    def algo_params(self, order: SimOrder) -> Params:
        """The ``order-algo`` request that places this TP/SL for what ``order`` filled."""
        raw: dict[str, Any] = {
            "instId": order.inst_id,
            "tdMode": order.td_mode,
            "side": "sell" if order.side == "buy" else "buy",
            "posSide": order.pos_side,
            "ordType": "oco" if self.tp_trigger_px and self.sl_trigger_px else "conditional",
            "sz": num(order.acc_fill_sz),
            "reduceOnly": True,
            "algoClOrdId": self.cl_id,
        }
        for prefix, trigger, order_px, kind in (
            ("tp", self.tp_trigger_px, self.tp_ord_px, self.tp_trigger_px_type),
            ("sl", self.sl_trigger_px, self.sl_ord_px, self.sl_trigger_px_type),
        ):
            if trigger is not None:
                raw |= {
                    f"{prefix}TriggerPx": num(trigger),
                    f"{prefix}OrdPx": num(order_px),
                    f"{prefix}TriggerPxType": kind,
                }
        return Params(raw)

    def record(self) -> JsonDict:
        """The order record's ``attachAlgoOrds`` item."""
        return {
            "amendPxOnTriggerType": "0",
            "attachAlgoClOrdId": self.cl_id,
            "attachAlgoId": self.algo_id,
            "failCode": self.fail.code if self.fail else "",
            "failReason": self.fail.msg if self.fail else "",
            "slOrdPx": num(self.sl_ord_px),
            "slTriggerPx": num(self.sl_trigger_px),
            "slTriggerPxType": self.sl_trigger_px_type if self.sl_trigger_px else "",
            "sz": "",
            "tpOrdKind": "condition",
            "tpOrdPx": num(self.tp_ord_px),
            "tpTriggerPx": num(self.tp_trigger_px),
            "tpTriggerPxType": self.tp_trigger_px_type if self.tp_trigger_px else "",
        }


def read(params: Params) -> tuple[AttachedAlgo, ...]:
    """The validated ``attachAlgoOrds`` of an order request (``51000`` for what cannot be kept)."""
    raw = params.raw.get(FIELD)
    if raw is None or raw == []:
        return ()
    if not isinstance(raw, list) or len(raw) != 1 or not isinstance(raw[0], dict):
        raise param_error(FIELD)
    item = Params(raw[0])
    for name in UNSUPPORTED:
        if item.raw.get(name) not in (None, "", "0", "condition"):
            raise param_error(name)
    kinds = ("last", "index", "mark")
    attached = AttachedAlgo(
        item.client_id("attachAlgoClOrdId"),
        item.decimal("tpTriggerPx", required=False),
        None,
        item.choice("tpTriggerPxType", kinds, "last"),
        item.decimal("slTriggerPx", required=False),
        None,
        item.choice("slTriggerPxType", kinds, "last"),
    )
    if attached.tp_trigger_px is None and attached.sl_trigger_px is None:
        raise param_error("tpTriggerPx")
    if attached.tp_trigger_px is not None:
        attached.tp_ord_px = item.decimal("tpOrdPx")
    if attached.sl_trigger_px is not None:
        attached.sl_ord_px = item.decimal("slOrdPx")
    return (attached,)
