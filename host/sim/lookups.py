"""Read-only endpoints third-party clients call around trading (ccxt's ``load_markets``, …).

Public trades and their history, mark prices, the price-limit band, funding-rate history, system
status, the currency list, leverage info and the maximum order size. None of them changes state;
each answers from the same markets and accounts the matching engine uses, so what a client reads
here agrees with what it is filled at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from host.sim import pricelimit
from host.sim.engine import SimEngine
from host.sim.market import InstrumentMarket, PublicTrade
from host.sim.paging import limit, page
from host.sim.rest import INST_TYPES, Call, Route
from host.sim.wire import JsonDict, ms, num, ok, param_error

FUNDING_HISTORY = timedelta(days=92)
"""How far back ``funding-rate-history`` reaches (OKX: three months)."""
CHAINS = {"USDT": "TRC20", "BTC": "Bitcoin", "ETH": "ERC20", "SOL": "Solana", "DOGE": "Dogecoin"}
"""The one deposit chain listed per currency (``chain`` is ``{ccy}-{network}`` on OKX)."""


class Lookups:
    """The handlers, bound to one engine and the exchange's clock."""

    def __init__(self, engine: SimEngine, server_time: Callable[[], datetime]) -> None:
        self.engine = engine
        self.server_time = server_time

    def routes(self) -> dict[tuple[str, str], Route]:
        """``(method, path)`` → :class:`Route`, to merge into the REST route table."""
        get = "GET"
        return {
            (get, "/api/v5/market/trades"): Route(self.trades, private=False),
            (get, "/api/v5/market/history-trades"): Route(self.history_trades, private=False),
            (get, "/api/v5/public/mark-price"): Route(self.mark_price, private=False),
            (get, "/api/v5/public/price-limit"): Route(self.price_limit, private=False),
            (get, "/api/v5/public/funding-rate-history"): Route(
                self.funding_history, private=False
            ),
            (get, "/api/v5/system/status"): Route(self.status, private=False),
            (get, "/api/v5/asset/currencies"): Route(self.currencies, private=True),
            (get, "/api/v5/account/leverage-info"): Route(self.leverage_info, private=True),
            (get, "/api/v5/account/max-size"): Route(self.max_size, private=True),
        }

    def trades(self, call: Call) -> JsonDict:
        """``GET /market/trades?instId=&limit=`` (≤ 500): the latest public trades."""
        market = self.engine.market(call.params.text("instId"))
        size = limit(call.params, default=100, most=500)
        return ok([_trade_row(t) for t in reversed(market.recent)][:size])

    def history_trades(self, call: Call) -> JsonDict:
        """``GET /market/history-trades``: paged by ``tradeId`` (``type 1``) or ``ts`` (``2``)."""
        params = call.params
        market = self.engine.market(params.text("instId"))
        by_time = params.choice("type", ("1", "2"), "1") == "2"
        rows = [_trade_row(t) for t in reversed(market.recent)]
        key = "ts" if by_time else "tradeId"
        return ok(page(rows, params, lambda row: int(row[key])))

    def mark_price(self, call: Call) -> JsonDict:
        """``GET /public/mark-price?instType=SWAP[&instId=]`` (ccxt sends ``instId`` alone)."""
        if call.params.choice("instType", INST_TYPES, "SWAP") != "SWAP":
            return ok([])
        inst_id = call.params.text("instId", "")
        now = self.server_time()
        return ok([m.mark_record(now) for m in self._markets(inst_id)])

    def price_limit(self, call: Call) -> JsonDict:
        """``GET /public/price-limit?instId=``: the band orders are checked against (51006)."""
        market = self.engine.market(call.params.text("instId"))
        return ok([pricelimit.record(market, self.engine.config.price_limit, self.server_time())])

    def funding_history(self, call: Call) -> JsonDict:
        """``GET /public/funding-rate-history?instId=``: past settlements, newest first."""
        market = self.engine.market(call.params.text("instId"))
        funding = self.engine.funding
        rows = []
        moment = funding.next_time - funding.interval
        while moment > self.engine.now - FUNDING_HISTORY:
            rows.append(
                {
                    "formulaType": "withRate",
                    "fundingRate": num(funding.rate),
                    "fundingTime": ms(moment),
                    "instId": market.inst.inst_id,
                    "instType": "SWAP",
                    "method": "current_period",
                    "realizedRate": num(funding.rate),
                }
            )
            moment -= funding.interval
        return ok(page(rows, call.params, lambda row: int(row["fundingTime"])))

    def status(self, call: Call) -> JsonDict:
        """``GET /system/status``: no maintenance scheduled (during one, REST answers 503)."""
        return ok([])

    def currencies(self, call: Call) -> JsonDict:
        """``GET /asset/currencies[?ccy=]``: USDT and the listed swaps' coins, one chain each."""
        wanted = [c for c in call.params.text("ccy", "").split(",") if c]
        coins = ["USDT", *dict.fromkeys(m.inst.base_ccy for m in self.engine.markets.values())]
        return ok([_currency_row(c) for c in coins if not wanted or c in wanted])

    def leverage_info(self, call: Call) -> JsonDict:
        """``GET /account/leverage-info?instId=&mgnMode=``: one row per position side."""
        params = call.params
        mgn_mode = params.choice("mgnMode", ("cross", "isolated"))
        account = call.acct
        sides = ("net",) if account.pos_mode == "net_mode" else ("long", "short")
        rows: list[JsonDict] = []
        for inst_id in params.text("instId").split(","):
            self.engine.market(inst_id)
            rows.extend(
                {
                    "instId": inst_id,
                    "mgnMode": mgn_mode,
                    "posSide": side,
                    "lever": num(account.lever(inst_id, mgn_mode, side)),
                }
                for side in sides
            )
        return ok(rows)

    def max_size(self, call: Call) -> JsonDict:
        """``GET /account/max-size?instId=&tdMode=[&px=]``: contracts the free margin can open."""
        params = call.params
        td_mode = params.choice("tdMode", ("cross", "isolated"))
        price = params.decimal("px", required=False)
        account = call.acct
        rows = []
        for inst_id in params.text("instId").split(","):
            market = self.engine.market(inst_id)
            inst = market.inst
            if price is not None and price <= 0:
                raise param_error("px")
            sizes = {}
            for side, touch in (("buy", market.book.best_ask), ("sell", market.book.best_bid)):
                pos_side = "net" if account.pos_mode == "net_mode" else side_to_pos(side)
                lever = account.lever(inst_id, td_mode, pos_side)
                per_contract = inst.contracts_value(Decimal(1), price or touch) / lever
                lots = (max(account.available, Decimal(0)) / per_contract / inst.lot_sz).quantize(
                    Decimal(1), rounding=ROUND_FLOOR
                )
                sizes[side] = lots * inst.lot_sz
            rows.append(
                {
                    "ccy": "USDT",
                    "instId": inst_id,
                    "maxBuy": num(sizes["buy"]),
                    "maxSell": num(sizes["sell"]),
                }
            )
        return ok(rows)

    def _markets(self, inst_id: str) -> list[InstrumentMarket]:
        if inst_id:
            return [self.engine.market(inst_id)]
        return list(self.engine.markets.values())


def side_to_pos(side: str) -> str:
    """The long/short-mode position an opening order of ``side`` adds to."""
    return "long" if side == "buy" else "short"


def _trade_row(trade: PublicTrade) -> JsonDict:
    return {
        "instId": trade.inst_id,
        "side": trade.side,
        "sz": num(trade.sz),
        "px": num(trade.px),
        "source": "0",
        "tradeId": trade.trade_id,
        "ts": ms(trade.ts),
    }


def _currency_row(ccy: str) -> JsonDict:
    """One ``asset/currencies`` row; deposits and withdrawals are off (fake money)."""
    return {
        "burningFeeRate": "",
        "canDep": False,
        "canInternal": False,
        "canWd": False,
        "ccy": ccy,
        "chain": f"{ccy}-{CHAINS.get(ccy, 'Sim')}",
        "ctAddr": "",
        "depEstOpenTime": "",
        "depQuotaFixed": "",
        "depQuoteDailyLayer2": "",
        "fee": "0",
        "logoLink": "",
        "mainNet": True,
        "maxFee": "0",
        "maxFeeForCtAddr": "",
        "maxWd": "0",
        "minDep": "0",
        "minDepArrivalConfirm": "1",
        "minFee": "0",
        "minFeeForCtAddr": "",
        "minInternal": "0",
        "minWd": "0",
        "minWdUnlockConfirm": "1",
        "name": ccy,
        "needTag": False,
        "usedDepQuotaFixed": "",
        "usedWdQuota": "0",
        "wdQuota": "0",
        "wdTickSz": "8",
    }
