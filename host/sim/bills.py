"""Bills: every change of an account's balance, as ``GET /account/bills`` lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from host.sim.wire import ms, num


@dataclass(slots=True)
class Bill:
    """A balance change (``GET /account/bills`` row): a fill (type 2) or funding (type 8)."""

    uid: str
    bill_id: str
    inst_id: str
    ord_id: str
    trade_id: str
    cl_ord_id: str
    tag: str
    sub_type: str
    px: Decimal
    sz: Decimal
    pnl: Decimal
    fee: Decimal
    bal: Decimal
    mgn_mode: str
    exec_type: str
    ts: datetime
    bill_type: str = "2"

    def record(self) -> dict[str, str]:
        """The bill as OKX lists it."""
        return {
            "bal": num(self.bal),
            "balChg": num(self.pnl + self.fee),
            "billId": self.bill_id,
            "ccy": "USDT",
            "clOrdId": self.cl_ord_id,
            "execType": self.exec_type,
            "fee": num(self.fee),
            "fillFwdPx": "",
            "fillIdxPx": "",
            "fillMarkPx": "",
            "fillMarkVol": "",
            "fillPxUsd": "",
            "fillPxVol": "",
            "fillTime": ms(self.ts),
            "from": "",
            "instId": self.inst_id,
            "instType": "SWAP",
            "interest": "0",
            "mgnMode": self.mgn_mode,
            "notes": "",
            "ordId": self.ord_id,
            "pnl": num(self.pnl),
            "posBal": "0",
            "posBalChg": "0",
            "px": num(self.px),
            "subType": self.sub_type,
            "sz": num(self.sz),
            "tag": self.tag,
            "to": "",
            "tradeId": self.trade_id,
            "ts": ms(self.ts),
            "type": self.bill_type,
        }
