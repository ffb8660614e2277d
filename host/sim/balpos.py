"""The ``balance_and_position`` channel: cash and positions in one push, with what moved them.

OKX pushes it when an account's cash balance or a position changes, with ``eventType`` *inside*
the data item saying why (``snapshot`` on subscribe, ``filled``, ``liquidation``, ``adl``,
``funding_fee``, …) and ``trades`` naming the fills behind a ``filled`` push. The simulator has
three causes that move cash or positions — fills (a liquidation and an ADL are fills of orders
the exchange placed, told apart by the order's ``category``) and funding, which changes cash
without a fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from host.sim.accounts import Account
from host.sim.orders import SimOrder
from host.sim.wire import JsonDict, ms, num

EVENT_BY_CATEGORY = {"full_liquidation": "liquidation", "adl": "adl"}
"""A forced close's ``eventType``; every other fill is ``filled``."""
POS_DATA_FIELDS = (
    "posId",
    "tradeId",
    "instId",
    "instType",
    "mgnMode",
    "posSide",
    "pos",
    "ccy",
    "posCcy",
    "avgPx",
    "nonSettleAvgPx",
    "settledPnl",
    "uTime",
)


@dataclass(slots=True)
class FillsSeen:
    """The fills of one account since its last push: their ``(instId, tradeId)`` and cause."""

    trades: dict[tuple[str, str], None] = field(default_factory=dict)
    event: str = "filled"

    def add(self, order: SimOrder, now: datetime) -> None:
        """Note the fill an ``orders`` change carries, if it happened now."""
        fill = order.last_fill
        if fill is None or fill.ts != now:
            return
        self.trades[(order.inst_id, fill.trade_id)] = None
        self.event = EVENT_BY_CATEGORY.get(order.category, self.event)


def item(
    event_type: str,
    account: Account,
    positions: list[dict[str, Any]],
    trades: list[tuple[str, str]],
    now: datetime,
) -> JsonDict:
    """One data item: ``balData`` (USDT), ``posData`` from position records, ``trades``."""
    return {
        "pTime": ms(now),
        "eventType": event_type,
        "balData": [{"ccy": "USDT", "cashBal": num(account.cash), "uTime": ms(now)}],
        "posData": [{key: record.get(key, "") for key in POS_DATA_FIELDS} for record in positions],
        "trades": [{"instId": inst_id, "tradeId": trade_id} for inst_id, trade_id in trades],
    }
