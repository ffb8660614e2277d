"""The REST endpoints under ``/api/v5``: public market data, account, trading.

Each handler receives validated :class:`Params` and the caller's account and returns the ``data``
of OKX's envelope (or raises :class:`SimOkxError`). The route table says which endpoints are private
(signature checked) and which carry ``inTime``/``outTime`` as OKX's trade endpoints do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from host.sim.accounts import Account
from host.sim.algos import ALGO_TYPES, AlgoDesk
from host.sim.engine import SimEngine
from host.sim.instruments import instrument_record
from host.sim.orders import SimFill, SimOrder
from host.sim.paging import page
from host.sim.params import Params
from host.sim.wire import (
    CANCEL_FAILED,
    ORDER_MISSING,
    JsonDict,
    SimOkxError,
    item_status,
    items,
    ms,
    num,
    ok,
    param_error,
)

ORDER_EXPIRED = SimOkxError("50037", "Order expired.")
INST_TYPES = ("SWAP", "SPOT", "MARGIN", "FUTURES", "OPTION")
"""OKX's instrument types; the simulator lists swaps only, so the others answer with nothing."""
FINISHED_ALGO_STATES = ("effective", "canceled", "order_failed")
BATCH_LIMIT = 20
"""Orders per batch request (``batch-orders``, ``cancel-batch-orders``)."""
POSITION_MODE_BLOCKED = SimOkxError(
    "59000", "Settings failed. Cancel all pending orders and close all positions before setting."
)


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated or public request, as a handler sees it."""

    params: Params
    body: Any
    account: Account | None
    expires: datetime | None = None
    """The request's ``expTime`` header, if it had one."""

    @property
    def acct(self) -> Account:
        """The caller's account (private endpoints only)."""
        assert self.account is not None  # noqa: S101 -- the route table guarantees it
        return self.account


@dataclass(frozen=True, slots=True)
class OrderAttempt:
    """An order request that reached the matching engine, accepted (``s_code`` 0) or refused.

    The ledger holds what happened; this holds what was asked, refusals included: a close sent
    twice shows here only (the second is refused, ``51169``), and so does an order sent again.
    """

    uid: str
    inst_id: str
    cl_ord_id: str
    side: str
    sz: str
    reduce_only: bool
    s_code: str
    at: datetime
    held: Decimal
    """The account's net position on the instrument when the request arrived."""
    last_trade_id: str
    """The ``tradeId`` that last changed that position (whose order flattened it, say)."""


Handler = Callable[[Call], JsonDict]


@dataclass(frozen=True, slots=True)
class Route:
    """How an endpoint is served."""

    handler: Handler
    private: bool
    stamped: bool = False
    """Order endpoints add the gateway's ``inTime``/``outTime`` (µs) to the envelope."""


class RestApi:
    """The handlers, bound to one engine."""

    def __init__(
        self, engine: SimEngine, algos: AlgoDesk, server_time: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.algos = algos
        self.server_time = server_time
        self.cancel_fill_races = 0
        """Pending cancel-vs-fill races: the next cancels find their order just filled."""
        self.order_attempts: list[OrderAttempt] = []
        """Every ``place_order`` call, in arrival order (the fault suite's ground truth)."""

    def routes(self) -> dict[tuple[str, str], Route]:
        """``(method, path)`` → :class:`Route`."""
        get, post = "GET", "POST"
        return {
            (get, "/api/v5/public/instruments"): Route(self.instruments, private=False),
            (get, "/api/v5/public/time"): Route(self.time, private=False),
            (get, "/api/v5/market/ticker"): Route(self.ticker, private=False),
            (get, "/api/v5/market/tickers"): Route(self.tickers, private=False),
            (get, "/api/v5/market/books"): Route(self.books, private=False),
            (get, "/api/v5/public/funding-rate"): Route(self.funding_rate, private=False),
            (get, "/api/v5/market/candles"): Route(self.candles, private=False),
            (get, "/api/v5/market/history-candles"): Route(self.history_candles, private=False),
            (get, "/api/v5/account/config"): Route(self.config, private=True),
            (get, "/api/v5/account/balance"): Route(self.balance, private=True),
            (get, "/api/v5/account/positions"): Route(self.positions, private=True),
            (get, "/api/v5/account/bills"): Route(self.bills, private=True),
            (get, "/api/v5/account/trade-fee"): Route(self.trade_fee, private=True),
            (post, "/api/v5/account/set-leverage"): Route(self.set_leverage, private=True),
            (post, "/api/v5/account/set-position-mode"): Route(
                self.set_position_mode, private=True
            ),
            (post, "/api/v5/trade/order"): Route(self.place_order, private=True, stamped=True),
            (post, "/api/v5/trade/batch-orders"): Route(
                self.batch_orders, private=True, stamped=True
            ),
            (post, "/api/v5/trade/cancel-batch-orders"): Route(
                self.cancel_batch_orders, private=True, stamped=True
            ),
            (post, "/api/v5/trade/amend-order"): Route(
                self.amend_order, private=True, stamped=True
            ),
            (post, "/api/v5/trade/amend-batch-orders"): Route(
                self.amend_batch_orders, private=True, stamped=True
            ),
            (post, "/api/v5/trade/mass-cancel"): Route(self.mass_cancel, private=True),
            (post, "/api/v5/trade/cancel-order"): Route(
                self.cancel_order, private=True, stamped=True
            ),
            (get, "/api/v5/trade/order"): Route(self.get_order, private=True),
            (get, "/api/v5/trade/orders-pending"): Route(self.orders_pending, private=True),
            (get, "/api/v5/trade/orders-history"): Route(self.orders_history, private=True),
            (get, "/api/v5/trade/orders-history-archive"): Route(self.orders_history, private=True),
            (get, "/api/v5/trade/fills"): Route(self.fills, private=True),
            (get, "/api/v5/trade/fills-history"): Route(self.fills, private=True),
            (get, "/api/v5/trade/order-algo"): Route(self.get_algo, private=True),
            (post, "/api/v5/trade/close-position"): Route(self.close_position, private=True),
            (post, "/api/v5/trade/order-algo"): Route(self.place_algo, private=True),
            (post, "/api/v5/trade/cancel-algos"): Route(self.cancel_algos, private=True),
            (post, "/api/v5/trade/cancel-advance-algos"): Route(
                self.cancel_advance_algos, private=True
            ),
            (post, "/api/v5/trade/amend-algos"): Route(self.amend_algos, private=True),
            (get, "/api/v5/trade/orders-algo-pending"): Route(self.algos_pending, private=True),
            (get, "/api/v5/trade/orders-algo-history"): Route(self.algos_history, private=True),
            (post, "/api/v5/trade/cancel-all-after"): Route(self.cancel_all_after, private=True),
        }

    # -- public ------------------------------------------------------------------------------

    def instruments(self, call: Call) -> JsonDict:
        """``GET /public/instruments?instType=SWAP[&instId=][&instFamily=]``."""
        call.params.choice("instType", INST_TYPES)
        inst_type = call.params.text("instType")
        inst_id = call.params.text("instId", "")
        family = call.params.text("instFamily", "")
        rows = [
            instrument_record(m.inst)
            for m in self.engine.markets.values()
            if inst_type == "SWAP"
            and inst_id in ("", m.inst.inst_id)
            and family in ("", m.inst.family)
        ]
        return ok(rows)

    def time(self, call: Call) -> JsonDict:
        """``GET /public/time``: the exchange's clock (clock-skew faults included)."""
        return ok([{"ts": ms(self.server_time())}])

    def ticker(self, call: Call) -> JsonDict:
        """``GET /market/ticker?instId=``."""
        return ok([self.engine.market(call.params.text("instId")).ticker_record()])

    def tickers(self, call: Call) -> JsonDict:
        """``GET /market/tickers?instType=``: the swaps; other types list nothing (none exist)."""
        if call.params.choice("instType", INST_TYPES) != "SWAP":
            return ok([])
        return ok([m.ticker_record() for m in self.engine.markets.values()])

    def books(self, call: Call) -> JsonDict:
        """``GET /market/books?instId=&sz=`` (``sz`` 1..400, default 1)."""
        market = self.engine.market(call.params.text("instId"))
        size = call.params.text("sz", "1")
        if not size.isdigit() or not 1 <= int(size) <= 400:
            raise param_error("sz")
        return ok([market.books_record(int(size), with_seq=False)])

    def funding_rate(self, call: Call) -> JsonDict:
        """``GET /public/funding-rate?instId=``: the current rate and the next settlement."""
        market = self.engine.market(call.params.text("instId"))
        return ok([self.engine.funding.record(market.inst.inst_id, self.engine.now)])

    def candles(self, call: Call) -> JsonDict:
        """``GET /market/candles?instId=&bar=1m&limit=``: newest first, forming bar included."""
        return ok(self._candle_rows(call.params, confirmed_only=False))

    def history_candles(self, call: Call) -> JsonDict:
        """``GET /market/history-candles``: closed bars only."""
        return ok(self._candle_rows(call.params, confirmed_only=True))

    def _candle_rows(self, params: Params, *, confirmed_only: bool) -> list[list[str]]:
        """Newest first, paged by bar open time (``after`` = older, ``before`` = newer)."""
        market = self.engine.market(params.text("instId"))
        bar = params.choice("bar", market.candles, "1m")
        rows = market.candles[bar].rows(confirmed_only=confirmed_only)
        return page(rows, params, lambda row: int(row[0]), most=300)

    # -- account -----------------------------------------------------------------------------

    def config(self, call: Call) -> JsonDict:
        """``GET /account/config``: ``acctLv 2`` (futures mode), the account's ``posMode``."""
        account = call.acct
        return ok(
            [
                {
                    "acctLv": "2",
                    "acctStpMode": "cancel_maker",
                    "autoLoan": False,
                    "ctIsoMode": "automatic",
                    "enableSpotBorrow": False,
                    "greeksType": "PA",
                    "ip": "",
                    "type": "0",
                    "kycLv": "3",
                    "label": "scalphost sim",
                    "level": "Lv1",
                    "levelTmp": "",
                    "liquidationGear": "-1",
                    "mainUid": account.uid,
                    "mgnIsoMode": "automatic",
                    "opAuth": "1",
                    "perm": "read_only,trade",
                    "posMode": account.pos_mode,
                    "roleType": "0",
                    "spotBorrowAutoRepay": False,
                    "spotOffsetType": "",
                    "spotRoleType": "0",
                    "spotTraderInsts": [],
                    "traderInsts": [],
                    "uid": account.uid,
                }
            ]
        )

    def balance(self, call: Call) -> JsonDict:
        """``GET /account/balance[?ccy=USDT]``."""
        return ok([call.acct.balance_record(self.engine.now)])

    def _swaps_only(self, params: Params) -> bool:
        """Tell whether an ``instType`` filter admits swaps (the only instruments listed)."""
        return params.text("instType", "SWAP") in ("SWAP", "ANY")

    def positions(self, call: Call) -> JsonDict:
        """``GET /account/positions``: open ones; with ``instId`` also flat ones (``pos "0"``)."""
        account = call.acct
        if not self._swaps_only(call.params):
            return ok([])
        wanted = [i for i in call.params.text("instId", "").split(",") if i]
        pos_id = call.params.text("posId", "")
        rows = []
        for position in sorted(account.positions.values(), key=lambda p: p.c_time, reverse=True):
            listed = position.inst.inst_id in wanted if wanted else position.pos != 0
            if listed and pos_id in ("", position.pos_id):
                rows.append(self.engine.position_record(account, position, push=False))
        return ok(rows)

    def bills(self, call: Call) -> JsonDict:
        """``GET /account/bills``: trade and funding bills, newest first, paged by ``billId``.

        ``begin``/``end`` (ms) bound the bills' times, as on OKX.
        """
        inst_id = call.params.text("instId", "")
        rows = [
            bill.record()
            for bill in reversed(self.engine.bills)
            if inst_id in ("", bill.inst_id) and bill.uid == call.acct.uid
        ]
        return ok(
            page(rows, call.params, lambda row: int(row["billId"]), time=lambda r: int(r["ts"]))
        )

    def trade_fee(self, call: Call) -> JsonDict:
        """``GET /account/trade-fee?instType=SWAP``: the configured rates, negative = charged."""
        maker, taker = num(-self.engine.config.maker_fee), num(-self.engine.config.taker_fee)
        return ok(
            [
                {
                    "category": "1",
                    "delivery": "",
                    "exercise": "",
                    "instType": "SWAP",
                    "level": "Lv1",
                    "maker": maker,
                    "makerU": maker,
                    "makerUSDC": "",
                    "taker": taker,
                    "takerU": taker,
                    "takerUSDC": "",
                    "ts": ms(self.engine.now),
                    "uly": "",
                }
            ]
        )

    def set_leverage(self, call: Call) -> JsonDict:
        """``POST /account/set-leverage``."""
        params = call.params
        inst_id = params.text("instId")
        lever = params.positive("lever")
        mgn_mode = params.choice("mgnMode", ("cross", "isolated"))
        pos_side = params.text("posSide", "")
        market = self.engine.market(inst_id)
        if not 1 <= lever <= market.inst.max_lever:
            raise param_error("lever")
        self.engine.set_leverage(call.acct.uid, inst_id, lever, mgn_mode, pos_side)
        return ok(
            [{"lever": num(lever), "mgnMode": mgn_mode, "instId": inst_id, "posSide": pos_side}]
        )

    def set_position_mode(self, call: Call) -> JsonDict:
        """``POST /account/set-position-mode``: ``59000`` with open positions or orders."""
        mode = call.params.choice("posMode", ("net_mode", "long_short_mode"))
        account = call.acct
        if account.open_positions() or self.engine.live_orders(account.uid):
            raise POSITION_MODE_BLOCKED
        account.pos_mode = mode
        return ok([{"posMode": mode}])

    # -- trading -----------------------------------------------------------------------------

    def place_order(self, call: Call) -> JsonDict:
        """``POST /trade/order``: one item with ``ordId`` and ``sCode``.

        An ``expTime`` header (ms) already past on arrival discards the order (``50037``), as
        OKX does for a request that reached its matching engine too late.
        """
        cl_ord_id = str(call.params.raw.get("clOrdId", "") or "")
        tag = str(call.params.raw.get("tag", "") or "")
        position = call.acct.positions.get((str(call.params.raw.get("instId", "")), "net"))
        before = (position.pos, position.trade_id) if position is not None else (Decimal(0), "")
        try:
            if call.expires is not None and self.server_time() > call.expires:
                raise ORDER_EXPIRED
            order = self.engine.place(self.engine.request_from(call.acct.uid, call.params))
        except SimOkxError as error:
            self._attempted(call, cl_ord_id, error.code, before)
            item = {"clOrdId": cl_ord_id, "ordId": "", "tag": tag, "ts": ms(self.engine.now)}
            return items([{**item, **item_status(error)}])
        self._attempted(call, cl_ord_id, "0", before)
        item = {
            "clOrdId": order.cl_ord_id,
            "ordId": order.ord_id,
            "tag": order.tag,
            "ts": ms(self.engine.now),
        }
        return items([{**item, **item_status(None)}])

    def _attempted(
        self, call: Call, cl_ord_id: str, s_code: str, before: tuple[Decimal, str]
    ) -> None:
        raw = call.params.raw
        self.order_attempts.append(
            OrderAttempt(
                call.acct.uid,
                str(raw.get("instId", "")),
                cl_ord_id,
                str(raw.get("side", "")),
                str(raw.get("sz", "")),
                raw.get("reduceOnly") in (True, "true"),
                s_code,
                self.engine.now,
                *before,
            )
        )

    def cancel_order(self, call: Call) -> JsonDict:
        """``POST /trade/cancel-order``: ``sCode 0`` = accepted; ``51400`` = done or unknown."""
        params = call.params
        inst_id = params.text("instId")
        ord_id, cl_ord_id = params.text("ordId", ""), params.text("clOrdId", "")
        if not ord_id and not cl_ord_id:
            raise param_error("ordId")
        error: SimOkxError | None = None
        try:
            if self.cancel_fill_races > 0:
                self.cancel_fill_races -= 1
                self.engine.fill_resting(
                    self.engine.find_order(call.acct.uid, inst_id, ord_id, cl_ord_id)
                )
            order = self.engine.cancel(call.acct.uid, inst_id, ord_id, cl_ord_id)
            ord_id, cl_ord_id = order.ord_id, order.cl_ord_id
        except SimOkxError:
            error = CANCEL_FAILED
        item = {"clOrdId": cl_ord_id, "ordId": ord_id, "ts": ms(self.engine.now)}
        return items([{**item, **item_status(error)}])

    def batch_orders(self, call: Call) -> JsonDict:
        """``POST /trade/batch-orders``: up to 20 orders, each answered on its own (code 2)."""
        return self._batch(call, self.place_order)

    def cancel_batch_orders(self, call: Call) -> JsonDict:
        """``POST /trade/cancel-batch-orders``: up to 20 cancels, each answered on its own."""
        return self._batch(call, self.cancel_order)

    def amend_batch_orders(self, call: Call) -> JsonDict:
        """``POST /trade/amend-batch-orders``: up to 20 amends, each answered on its own."""
        return self._batch(call, self.amend_order)

    def mass_cancel(self, call: Call) -> JsonDict:
        """``POST /trade/mass-cancel``: OKX offers it for options only (``instType OPTION``).

        The simulator lists no options, so a valid request cancels nothing and succeeds as OKX
        answers it (``result: true``); any other ``instType`` is ``51000``.
        """
        call.params.choice("instType", ("OPTION",))
        call.params.text("instFamily")
        return ok([{"result": True}])

    def _batch(self, call: Call, single: Handler) -> JsonDict:
        if not isinstance(call.body, list) or not 1 <= len(call.body) <= BATCH_LIMIT:
            raise param_error("instId")
        results: list[JsonDict] = []
        for raw in call.body:
            params = Params(raw if isinstance(raw, dict) else {})
            try:
                results.extend(single(Call(params, raw, call.account, call.expires))["data"])
            except SimOkxError as error:  # a malformed item fails alone
                ids = {"clOrdId": params.text("clOrdId", ""), "ordId": params.text("ordId", "")}
                results.append({**ids, "ts": ms(self.engine.now), **item_status(error)})
        return items(results)

    def amend_order(self, call: Call) -> JsonDict:
        """``POST /trade/amend-order``: ``sCode 0`` = accepted; the result comes as a push."""
        params = call.params
        inst_id, req_id = params.text("instId"), params.text("reqId", "")
        ids = (params.text("ordId", ""), params.text("clOrdId", ""))
        if not any(ids):
            raise param_error("ordId")
        new = (params.decimal("newSz", required=False), params.decimal("newPx", required=False))
        if new == (None, None):
            raise param_error("newSz")
        error: SimOkxError | None = None
        try:
            order = self.engine.amend(
                call.acct.uid, inst_id, ids, new, req_id, cxl_on_fail=params.flag("cxlOnFail")
            )
            ids = (order.ord_id, order.cl_ord_id)
        except SimOkxError as refused:
            error = refused
        item = {"ordId": ids[0], "clOrdId": ids[1], "reqId": req_id, "ts": ms(self.engine.now)}
        return items([{**item, **item_status(error)}])

    def get_order(self, call: Call) -> JsonDict:
        """``GET /trade/order?instId=&ordId=|clOrdId=``; ``51603`` when unknown."""
        params = call.params
        order = self.engine.find_order(
            call.acct.uid,
            params.text("instId"),
            params.text("ordId", ""),
            params.text("clOrdId", ""),
        )
        return ok([order.record()])

    def orders_pending(self, call: Call) -> JsonDict:
        """``GET /trade/orders-pending``, newest first."""
        params = call.params
        if not self._swaps_only(params):
            return ok([])
        inst_id = params.text("instId", "") or None
        ord_type = params.text("ordType", "")
        state = params.text("state", "")
        rows = [
            o.record()
            for o in self.engine.live_orders(call.acct.uid, inst_id)
            if ord_type in ("", o.ord_type) and state in ("", o.state)
        ]
        return ok(page(rows, params, lambda row: int(row["ordId"])))

    def orders_history(self, call: Call) -> JsonDict:
        """``GET /trade/orders-history[-archive]``: finished orders, newest first.

        Filters ``instId``, ``ordType`` (comma-separated), ``state`` (``filled``/``canceled``);
        pages by ``ordId`` (``after``/``before``) and ``cTime`` (``begin``/``end``).
        """
        params = call.params
        if not self._swaps_only(params):
            return ok([])
        inst_id = params.text("instId", "")
        types = [t for t in params.text("ordType", "").split(",") if t]
        state = params.choice("state", ("", "filled", "canceled", "mmp_canceled"), "")
        orders = [
            o
            for o in sorted(self.engine.orders.values(), key=lambda o: int(o.ord_id), reverse=True)
            if o.uid == call.acct.uid
            and not o.is_live
            and inst_id in ("", o.inst_id)
            and (not types or o.ord_type in types)
            and state in ("", o.state)
        ]
        chosen = page(orders, params, lambda o: int(o.ord_id), time=lambda o: _epoch_ms(o.c_time))
        return ok([o.record() for o in chosen])

    def get_algo(self, call: Call) -> JsonDict:
        """``GET /trade/order-algo?algoId=|algoClOrdId=``: one algo order, live or finished."""
        params = call.params
        algo_id, cl_id = params.text("algoId", ""), params.text("algoClOrdId", "")
        if not algo_id and not cl_id:
            raise param_error("algoId")
        for algo in self.engine.algos.values():
            if algo.uid == call.acct.uid and (
                algo.algo_id == algo_id or (not algo_id and algo.algo_cl_ord_id == cl_id)
            ):
                return ok([algo.record()])
        raise ORDER_MISSING

    def fills(self, call: Call) -> JsonDict:
        """``GET /trade/fills[-history][?instId=&ordId=]``, newest first, paged by ``billId``."""
        params = call.params
        if not self._swaps_only(params):
            return ok([])
        inst_id, ord_id = params.text("instId", ""), params.text("ordId", "")
        rows: list[JsonDict] = []
        for order in self.engine.orders.values():
            if (
                order.uid != call.acct.uid
                or inst_id not in ("", order.inst_id)
                or ord_id not in ("", order.ord_id)
            ):
                continue
            config = self.engine.config
            rows.extend(
                _fill_record(
                    order, fill, config.maker_fee if fill.exec_type == "M" else config.taker_fee
                )
                for fill in order.fills
            )
        rows.sort(key=lambda row: (int(row["ts"]), int(row["billId"])), reverse=True)
        return ok(page(rows, params, lambda row: int(row["billId"]), time=lambda r: int(r["ts"])))

    def close_position(self, call: Call) -> JsonDict:
        """``POST /trade/close-position``: no ``ordId`` in the answer, as on OKX."""
        params = call.params
        inst_id = params.text("instId")
        params.choice("mgnMode", ("cross", "isolated"))
        default_side = "net" if call.acct.pos_mode == "net_mode" else None
        pos_side = params.choice("posSide", ("net", "long", "short"), default_side)
        cl_ord_id, tag = params.client_id("clOrdId"), params.tag()
        self.engine.close_position(
            call.acct.uid,
            inst_id,
            pos_side,
            auto_cxl=params.flag("autoCxl"),
            cl_ord_id=cl_ord_id,
            tag=tag,
        )
        return ok([{"clOrdId": cl_ord_id, "instId": inst_id, "posSide": pos_side, "tag": tag}])

    def place_algo(self, call: Call) -> JsonDict:
        """``POST /trade/order-algo``."""
        cl_id = str(call.params.raw.get("algoClOrdId", "") or "")
        try:
            algo = self.algos.place(call.acct.uid, call.params)
        except SimOkxError as error:
            return items([{"algoId": "", "algoClOrdId": cl_id, **item_status(error)}])
        return items(
            [{"algoId": algo.algo_id, "algoClOrdId": algo.algo_cl_ord_id, **item_status(None)}]
        )

    def cancel_algos(self, call: Call) -> JsonDict:
        """``POST /trade/cancel-algos`` with an array ``[{instId, algoId|algoClOrdId}]`` (≤ 10)."""
        return self._cancel_algos(call, advance=False)

    def cancel_advance_algos(self, call: Call) -> JsonDict:
        """``POST /trade/cancel-advance-algos``: the same for trailing (advance) algo orders."""
        return self._cancel_algos(call, advance=True)

    def _cancel_algos(self, call: Call, *, advance: bool) -> JsonDict:
        if not isinstance(call.body, list) or not 1 <= len(call.body) <= 10:
            raise param_error("algoId")
        results = []
        for raw in call.body:
            params = Params(raw if isinstance(raw, dict) else {})
            algo_id = params.text("algoId", "")
            try:
                algo = self.algos.cancel(
                    call.acct.uid,
                    params.text("instId"),
                    algo_id,
                    params.text("algoClOrdId", ""),
                    advance=advance,
                )
                results.append({"algoId": algo.algo_id, **item_status(None)})
            except SimOkxError as error:
                results.append({"algoId": algo_id, **item_status(error)})
        return items(results)

    def amend_algos(self, call: Call) -> JsonDict:
        """``POST /trade/amend-algos``."""
        params = call.params
        req_id = params.text("reqId", "")
        try:
            algo = self.algos.amend(call.acct.uid, params)
        except SimOkxError as error:
            ids = {
                "algoId": params.text("algoId", ""),
                "algoClOrdId": params.text("algoClOrdId", ""),
            }
            return items([{**ids, "reqId": req_id, **item_status(error)}])
        return items(
            [
                {
                    "algoId": algo.algo_id,
                    "algoClOrdId": algo.algo_cl_ord_id,
                    "reqId": req_id,
                    **item_status(None),
                }
            ]
        )

    def algos_pending(self, call: Call) -> JsonDict:
        """``GET /trade/orders-algo-pending?ordType=conditional,oco|trigger|move_order_stop``."""
        return ok(self._algo_rows(call, live=True))

    def algos_history(self, call: Call) -> JsonDict:
        """``GET /trade/orders-algo-history?ordType=…``: finished algo orders."""
        return ok(self._algo_rows(call, live=False))

    def _algo_rows(self, call: Call, *, live: bool) -> list[JsonDict]:
        params = call.params
        types = params.text("ordType").split(",")
        if any(t not in ALGO_TYPES for t in types):
            raise param_error("ordType")
        inst_id = params.text("instId", "")
        algo_id = params.text("algoId", "")
        state = "" if live else params.choice("state", ("", *FINISHED_ALGO_STATES), "")
        rows = [
            a.record()
            for a in sorted(self.engine.algos.values(), key=lambda a: int(a.algo_id), reverse=True)
            if a.uid == call.acct.uid
            and a.is_live == live
            and a.ord_type in types
            and inst_id in ("", a.inst_id)
            and algo_id in ("", a.algo_id)
            and state in ("", a.state)
        ]
        return page(rows, params, lambda row: int(row["algoId"]))

    def cancel_all_after(self, call: Call) -> JsonDict:
        """``POST /trade/cancel-all-after`` — ``timeOut`` 0 (off) or 10..120 s."""
        raw = call.params.text("timeOut")
        if not raw.isdigit() or not (int(raw) == 0 or 10 <= int(raw) <= 120):
            raise param_error("timeOut")
        deadline = self.engine.arm_cancel_all_after(call.acct.uid, timedelta(seconds=int(raw)))
        return ok(
            [
                {
                    "triggerTime": ms(deadline) if deadline else "0",
                    "tag": call.params.tag(),
                    "ts": ms(self.engine.now),
                }
            ]
        )


def _epoch_ms(moment: datetime) -> int:
    return int(ms(moment))


def _fill_record(order: SimOrder, fill: SimFill, rate: Decimal) -> JsonDict:
    """``GET /trade/fills`` row (``feeRate`` negative = charged, as OKX signs it)."""
    return {
        "instType": "SWAP",
        "instId": order.inst_id,
        "tradeId": fill.trade_id,
        "ordId": order.ord_id,
        "clOrdId": order.cl_ord_id,
        "billId": fill.bill_id,
        "subType": "1" if order.side == "buy" else "2",
        "tag": order.tag,
        "fillPx": num(fill.px),
        "fillSz": num(fill.sz),
        "fillIdxPx": num(fill.mark_px),
        "fillPnl": num(fill.pnl),
        "fillPxVol": "",
        "fillPxUsd": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillMarkPx": num(fill.mark_px),
        "side": order.side,
        "posSide": order.pos_side,
        "execType": fill.exec_type,
        "feeCcy": "USDT",
        "fee": num(fill.fee),
        "ts": ms(fill.ts),
        "fillTime": ms(fill.ts),
        "feeRate": num(-rate),
        "tradeQuoteCcy": "",
    }
