"""The matching engine: orders against the synthetic book, resting orders against market trades.

Rules (each one a property test):

* a taker fill is never better than the book level it takes (plus ``slippage_ticks`` against the
  taker), and never beyond the order's limit;
* a resting order fills at its own price, only when the market trades *through* it, by at most
  the traded size (the queue ahead of it is unknown, so a trade *at* its price does not fill it);
* a post-only order that would take liquidity is accepted and then canceled (``cancelSource 31``),
  as OKX does, so it never takes;
* fees are the configured maker/taker rate of the fill's notional, charged (negative) in USDT;
* the position is the signed sum of fills; reduce-only orders never open or flip a position.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from host.sim import attached
from host.sim.accounts import ZERO, Account, SimPosition
from host.sim.bills import Bill
from host.sim.config import SimConfig
from host.sim.funding import FundingSchedule
from host.sim.ids import IdSource
from host.sim.instruments import SimInstrument
from host.sim.ledger import Ledger
from host.sim.listener import EngineListener, NoListener
from host.sim.market import InstrumentMarket
from host.sim.orders import SimAlgo, SimFill, SimOrder
from host.sim.params import Params
from host.sim.pricelimit import check as check_price_limit
from host.sim.source import RawTrade
from host.sim.wire import (
    AMEND_FINISHED,
    BELOW_MIN_SIZE,
    CANCEL_FAILED,
    DUPLICATE_CLORDID,
    INSTRUMENT_MISSING,
    INSUFFICIENT_MARGIN,
    NOT_LOT_MULTIPLE,
    ORDER_MISSING,
    POSITION_MISSING,
    REDUCE_ONLY_NO_POSITION,
    JsonDict,
    SimOkxError,
    ms,
    num,
    param_error,
)

USDT_QUANTUM = Decimal("1e-12")
"""Fees and PnL keep 12 decimals of USDT, so balances add up exactly (OKX shows ~16 digits)."""
AVG_PX_DIGITS = Decimal("1e-8")
"""An average entry price keeps 8 decimals below the tick."""

ORDER_TYPES = ("market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc")
PRICED_TYPES = frozenset({"limit", "post_only", "fok", "ioc"})
TAKER_ONLY = frozenset({"market", "optimal_limit_ioc", "ioc", "fok"})

# OKX cancelSource codes (the orders channel).
CANCEL_USER = "1"
CANCEL_FOK = "13"
CANCEL_IOC = "14"
CANCEL_POSITION_CLOSED = "17"
CANCEL_ALL_AFTER = "20"
CANCEL_POST_ONLY = "31"


@dataclass(frozen=True, slots=True)
class SimOrderRequest:
    """A validated order, whoever sent it (client, close-position, algo trigger, drift)."""

    uid: str
    inst: SimInstrument
    side: str
    pos_side: str
    td_mode: str
    ord_type: str
    px: Decimal | None
    sz: Decimal
    reduce_only: bool
    cl_ord_id: str = ""
    tag: str = ""
    algo: SimAlgo | None = None
    attached: tuple[attached.AttachedAlgo, ...] = ()


@dataclass(slots=True)
class SimEngine:
    """Markets, accounts, orders and algo orders of one simulated exchange."""

    config: SimConfig
    now: datetime
    listener: EngineListener = field(default_factory=NoListener)
    ledger: Ledger = field(default_factory=Ledger)
    markets: dict[str, InstrumentMarket] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    orders: dict[str, SimOrder] = field(default_factory=dict)
    live: dict[str, SimOrder] = field(default_factory=dict)
    """The pending orders, kept apart so each market trade checks only them."""
    algos: dict[str, SimAlgo] = field(default_factory=dict)
    bills: list[Bill] = field(default_factory=list)
    cancel_deadlines: dict[str, datetime] = field(default_factory=dict)
    on_attached_due: Callable[[SimOrder], None] | None = None
    """Places an order's ``attachAlgoOrds`` once it has ended with a fill (the algo desk)."""
    ids: IdSource = field(init=False)
    funding: FundingSchedule = field(init=False)

    def __post_init__(self) -> None:
        self.ids = IdSource(self.config.seed)
        self.funding = FundingSchedule.starting(
            self.now, self.config.funding_interval, self.config.funding_rate
        )
        rng = random.Random(f"{self.config.seed}:book")  # noqa: S311 -- a seeded market, not crypto
        for inst in self.config.instruments:
            self.markets[inst.inst_id] = InstrumentMarket.open(
                inst, rng, self.config.book_levels, self.now
            )
        for key in self.config.keys:
            if key.uid not in self.accounts:
                self.accounts[key.uid] = Account(
                    key.uid,
                    self.config.start_balance,
                    self.config.pos_mode,
                    self.config.default_lever,
                    self.now,
                )
                self._ledger_balance(self.accounts[key.uid], "deposit")

    # -- lookups -----------------------------------------------------------------------------

    def market(self, inst_id: str) -> InstrumentMarket:
        """The market of ``inst_id`` or ``51001``."""
        market = self.markets.get(inst_id)
        if market is None:
            raise INSTRUMENT_MISSING
        return market

    def live_orders(self, uid: str, inst_id: str | None = None) -> list[SimOrder]:
        """Pending orders of an account, newest first (as ``orders-pending`` lists them)."""
        found = [
            o
            for o in self.live.values()
            if o.uid == uid and (inst_id is None or o.inst_id == inst_id)
        ]
        return sorted(found, key=lambda o: int(o.ord_id), reverse=True)

    def find_order(self, uid: str, inst_id: str, ord_id: str, cl_ord_id: str) -> SimOrder:
        """An order by ``ordId`` (wins) or the latest with ``clOrdId``; ``51603`` if none."""
        candidates = [o for o in self.orders.values() if o.uid == uid and o.inst_id == inst_id]
        if ord_id:
            found = [o for o in candidates if o.ord_id == ord_id]
        elif cl_ord_id:
            found = [o for o in candidates if o.cl_ord_id == cl_ord_id]
        else:
            raise param_error("ordId")
        if not found:
            raise ORDER_MISSING
        return max(found, key=lambda o: int(o.ord_id))

    def position_record(self, account: Account, position: SimPosition, *, push: bool) -> JsonDict:
        """A position as OKX shows it, with the algo orders that close it in ``closeOrderAlgo``."""
        close_algos = [
            {
                "algoId": algo.algo_id,
                "slTriggerPx": num(algo.sl_trigger_px),
                "slTriggerPxType": algo.sl_trigger_px_type if algo.sl_trigger_px else "",
                "tpTriggerPx": num(algo.tp_trigger_px),
                "tpTriggerPxType": algo.tp_trigger_px_type if algo.tp_trigger_px else "",
                "closeFraction": "1",
            }
            for algo in self.all_live_algos(position.inst.inst_id)
            if algo.uid == account.uid
            and algo.close_fraction
            and algo.pos_side == position.pos_side
        ]
        rate = self.config.maintenance_margin_rate
        return position.record(
            rate,
            account.available,
            push=push,
            now=self.now,
            close_algos=close_algos,
            cross_ratio=account.cross_margin_ratio(rate),
        )

    # -- orders ------------------------------------------------------------------------------

    def request_from(self, uid: str, params: Params) -> SimOrderRequest:
        """Validate a ``POST /trade/order`` body into an :class:`SimOrderRequest`."""
        market = self.market(params.text("instId"))
        inst = market.inst
        account = self.accounts[uid]
        side = params.choice("side", ("buy", "sell"))
        ord_type = params.choice("ordType", ORDER_TYPES)
        td_mode = params.choice("tdMode", ("cross", "isolated"))
        sz = params.positive("sz")
        px = params.positive("px") if ord_type in PRICED_TYPES else None
        if px is not None and px % inst.tick_sz != 0:
            raise param_error("px")
        cl_ord_id = params.client_id("clOrdId")
        if cl_ord_id and any(o.cl_ord_id == cl_ord_id for o in self.live_orders(uid)):
            raise DUPLICATE_CLORDID
        return SimOrderRequest(
            uid,
            inst,
            side,
            self._pos_side(account, params, side),
            td_mode,
            ord_type,
            px,
            sz,
            params.flag("reduceOnly"),
            cl_ord_id,
            params.tag(),
            attached=attached.read(params),
        )

    def place(self, request: SimOrderRequest) -> SimOrder:
        """Accept an order and execute what it takes on arrival; :class:`SimOkxError` if refused."""
        inst = request.inst
        if not inst.on_lot(request.sz):
            raise NOT_LOT_MULTIPLE
        if request.sz < inst.min_sz:
            raise BELOW_MIN_SIZE
        account = self.accounts[request.uid]
        market = self.markets[inst.inst_id]
        check_price_limit(market, self.config.price_limit, request.side, request.px)
        reducing = self._is_closing(account, request)
        if reducing and self._reducible(account, request) == 0:
            raise REDUCE_ONLY_NO_POSITION
        lever = account.lever(inst.inst_id, request.td_mode, request.pos_side)
        if not reducing:
            needed = inst.contracts_value(request.sz, request.px or market.mark) / lever
            if needed > account.available:
                raise INSUFFICIENT_MARGIN
        order = SimOrder(
            self.ids.order(),
            request.cl_ord_id,
            request.tag,
            inst.inst_id,
            request.side,
            request.pos_side,
            request.td_mode,
            request.ord_type,
            request.px,
            request.sz,
            request.reduce_only or (reducing and account.pos_mode == "long_short_mode"),
            lever,
            self.now,
            self.now,
            request.uid,
            last_px=market.last,
        )
        if request.algo is not None:
            order.algo_id, order.algo_cl_ord_id = request.algo.algo_id, request.algo.algo_cl_ord_id
        order.attached = request.attached
        order.arrival_touch = (market.book.best_bid, market.book.best_ask)
        self.orders[order.ord_id] = order
        self._execute(order, market)
        return order

    def cancel(self, uid: str, inst_id: str, ord_id: str, cl_ord_id: str) -> SimOrder:
        """Cancel a pending order; ``51400`` if it is filled, canceled or unknown."""
        try:
            order = self.find_order(uid, inst_id, ord_id, cl_ord_id)
        except SimOkxError:
            raise CANCEL_FAILED from None
        if not order.is_live:
            raise CANCEL_FAILED
        self._end(order, CANCEL_USER)
        return order

    def amend(
        self,
        uid: str,
        inst_id: str,
        ids: tuple[str, str],
        new: tuple[Decimal | None, Decimal | None],
        req_id: str,
        *,
        cxl_on_fail: bool,
    ) -> SimOrder:
        """Change a pending order's size and/or price; the outcome is pushed (``amendResult``).

        ``ids`` is ``(ordId, clOrdId)``, ``new`` is ``(newSz, newPx)``. A post-only order moved
        across the book fails (``-1``; canceled too with ``cxl_on_fail``); a limit moved across
        takes what it crosses; a size at or below the filled size ends the order ``filled``.
        """
        order = self.find_order(uid, inst_id, *ids)
        if not order.is_live:
            raise AMEND_FINISHED
        market = self.markets[inst_id]
        new_sz, new_px = new
        if new_sz is not None and (new_sz <= 0 or not market.inst.on_lot(new_sz)):
            raise param_error("newSz")
        if new_px is not None and (new_px <= 0 or new_px % market.inst.tick_sz != 0):
            raise param_error("newPx")
        check_price_limit(market, self.config.price_limit, order.side, new_px)
        crosses = new_px is not None and market.book.crosses(order.side, new_px)
        if order.ord_type == "post_only" and crosses:
            order.amend = ("-1", req_id)
            if cxl_on_fail:
                self._end(order, CANCEL_USER)
            else:
                self._changed(order)
            order.amend = None
            return order
        order.sz = new_sz if new_sz is not None else order.sz
        order.px = new_px if new_px is not None else order.px
        order.u_time = self.now
        if order.remaining <= 0:
            order.sz, order.state = max(order.sz, order.acc_fill_sz), "filled"
        order.amend = ("0", req_id)
        self._changed(order)
        order.amend = None
        if order.is_live and crosses:
            self._take(order, market)
        self._refresh_frozen(self.accounts[uid])
        return order

    def fill_resting(self, order: SimOrder) -> None:
        """Fill what is left of a resting order at its price now (the cancel-vs-fill race)."""
        if order.is_live:
            self._fill(order, order.px or self.markets[order.inst_id].last, order.remaining, "M")

    def close_position(
        self, uid: str, inst_id: str, pos_side: str, *, auto_cxl: bool, cl_ord_id: str, tag: str
    ) -> SimPosition:
        """Close a whole position at market; ``51023`` if there is none."""
        market = self.market(inst_id)
        account = self.accounts[uid]
        position = account.positions.get((inst_id, pos_side))
        if position is None or position.pos == 0:
            raise POSITION_MISSING
        if auto_cxl:
            for order in self.live_orders(uid, inst_id):
                self._end(order, CANCEL_USER)
        side = "sell" if position.direction > 0 else "buy"
        self.place(
            SimOrderRequest(
                uid,
                market.inst,
                side,
                pos_side,
                position.mgn_mode,
                "market",
                None,
                position.size,
                True,
                cl_ord_id,
                tag,
            )
        )
        return position

    def set_leverage(
        self, uid: str, inst_id: str, lever: Decimal, mgn_mode: str, pos_side: str
    ) -> None:
        """Set the leverage used by new orders and open positions of that instrument / mode."""
        self.market(inst_id)
        account = self.accounts[uid]
        sides = (pos_side,) if pos_side else ("net", "long", "short")
        for side in sides:
            account.levers[(inst_id, mgn_mode, side)] = lever
            position = account.positions.get((inst_id, side))
            if position is not None and position.mgn_mode == mgn_mode:
                position.lever = lever

    def arm_cancel_all_after(self, uid: str, timeout: timedelta) -> datetime | None:
        """The dead-man switch: cancel every pending order after ``timeout`` (0 disarms)."""
        if timeout == timedelta(0):
            self.cancel_deadlines.pop(uid, None)
            return None
        self.cancel_deadlines[uid] = self.now + timeout
        return self.cancel_deadlines[uid]

    # -- market ------------------------------------------------------------------------------

    def advance_to(self, now: datetime, trades: list[RawTrade]) -> None:
        """Apply the market's trades up to ``now``, fire deadlines and refresh marks."""
        for trade in trades:
            self.now = max(self.now, trade.ts)
            self.on_market_trade(trade)
        self.now = max(self.now, now)
        for uid, deadline in list(self.cancel_deadlines.items()):
            if self.now >= deadline:
                del self.cancel_deadlines[uid]
                for order in self.live_orders(uid):
                    self._end(order, CANCEL_ALL_AFTER)
        for market in self.markets.values():
            market.roll_candles(self.now)
            if market.update_mark():
                self._refresh(market)
        for settlement in self.funding.due(self.now):
            self._settle_funding(settlement)
        for account in self.accounts.values():
            self._liquidate_if_due(account)

    def _settle_funding(self, settlement: datetime) -> None:
        """Charge or pay every open position ``value × rate`` (longs pay when the rate > 0)."""
        rate = self.funding.rate
        for account in self.accounts.values():
            for position in account.open_positions():
                value = position.inst.contracts_value(position.size, position.mark)
                amount = -(value * rate * position.direction).quantize(USDT_QUANTUM)
                position.funding_fee += amount
                position.u_time = self.now
                account.cash += amount
                account.u_time = self.now
                # bill type 8 = funding fee; subType 173 = expense, 174 = income
                self.bills.append(
                    Bill(
                        account.uid,
                        self.ids.bill(),
                        position.inst.inst_id,
                        "",
                        "",
                        "",
                        "",
                        "173" if amount < 0 else "174",
                        position.mark,
                        position.size,
                        amount,
                        ZERO,
                        account.cash,
                        position.mgn_mode,
                        "",
                        settlement,
                        bill_type="8",
                    )
                )
                self.ledger.record(
                    "funding", ms(settlement), uid=account.uid, instId=position.inst.inst_id,
                    posSide=position.pos_side, amount=num(amount), rate=num(rate),
                )  # fmt: skip
                self._ledger_balance(account, "funding")
                self.listener.position_changed(account, position)
                self.listener.account_changed(account)

    def on_market_trade(self, trade: RawTrade) -> None:
        """A trade by someone else: fills our resting orders it went through, moves the book."""
        market = self.markets.get(trade.inst_id)
        if market is None:
            return
        market.record_trade(trade.side, trade.px, trade.sz, trade.ts, market.new_trade_id())
        market.book.reshape(trade.px, trade.side)
        budget = trade.sz
        for order in self._through(trade):
            if budget <= 0:
                break
            qty = min(order.remaining, budget)
            budget -= self._fill(order, order.px or trade.px, qty, "M")
        self._refresh(market)

    def _liquidate_if_due(self, account: Account) -> None:
        """Close positions whose margin no longer covers maintenance, at the mark.

        Isolated: the position's own margin plus its upl at or below its maintenance margin.
        Cross: the account's equity outside isolated margin at or below the cross positions'
        maintenance margin — then every cross position goes (OKX liquidates in tiers first).
        """
        rate = self.config.maintenance_margin_rate
        due = [
            p
            for p in account.open_positions()
            if p.mgn_mode == "isolated" and p.isolated_margin + p.upl(p.mark) <= p.mmr(rate)
        ]
        cross = [p for p in account.open_positions() if p.mgn_mode == "cross"]
        cross_equity = account.equity - account.isolated_margin
        if cross and cross_equity <= sum((p.mmr(rate) for p in cross), ZERO):
            due += cross
        for position in due:
            self.forced_close(account, position, position.size, "full_liquidation")

    def forced_close(
        self, account: Account, position: SimPosition, size: Decimal, category: str
    ) -> None:
        """Close ``size`` of a position at the mark by an order the exchange places itself.

        Liquidation (``full_liquidation``) and auto-deleveraging (``adl``) arrive on the orders
        channel as orders nobody sent (their ``category``).
        """
        market = self.markets[position.inst.inst_id]
        order = SimOrder(
            self.ids.order(), "", "", position.inst.inst_id,
            "sell" if position.direction > 0 else "buy", position.pos_side, position.mgn_mode,
            "market", None, size, True, position.lever, self.now, self.now, account.uid,
            category=category, last_px=market.last,
        )  # fmt: skip
        self.orders[order.ord_id] = order
        self._fill(order, position.mark, size, "T")

    # -- internals ---------------------------------------------------------------------------

    def _through(self, trade: RawTrade) -> list[SimOrder]:
        """Resting orders a trade at ``trade.px`` went through, best price first, then oldest."""
        hit = [
            o
            for o in self.live.values()
            if o.inst_id == trade.inst_id
            and o.px is not None
            and ((o.side == "buy" and o.px > trade.px) or (o.side == "sell" and o.px < trade.px))
        ]
        return sorted(hit, key=lambda o: (-o.px if o.side == "buy" else o.px, int(o.ord_id)))  # type: ignore[operator]

    def _pos_side(self, account: Account, params: Params, side: str) -> str:
        if account.pos_mode == "net_mode":
            return params.choice("posSide", ("net",), "net")
        return params.choice("posSide", ("long", "short"))

    def _is_closing(self, account: Account, request: SimOrderRequest) -> bool:
        if account.pos_mode == "net_mode":
            return request.reduce_only
        return (request.side == "sell") == (request.pos_side == "long")

    def _reducible(self, account: Account, order: SimOrderRequest | SimOrder) -> Decimal:
        """How much of the order can reduce the position it closes (0 if none)."""
        inst_id = order.inst.inst_id if isinstance(order, SimOrderRequest) else order.inst_id
        position = account.positions.get((inst_id, order.pos_side))
        if position is None:
            return ZERO
        if order.pos_side == "net":
            return max(-position.pos, ZERO) if order.side == "buy" else max(position.pos, ZERO)
        return position.pos

    def _execute(self, order: SimOrder, market: InstrumentMarket) -> None:
        """What happens on arrival: take, rest, or cancel as the order type says."""
        book = market.book
        if order.ord_type == "post_only" and book.crosses(order.side, order.px or ZERO):
            self._end(order, CANCEL_POST_ONLY)
            return
        if order.ord_type == "fok" and book.available(order.side, order.px or ZERO) < order.sz:
            self._end(order, CANCEL_FOK)
            return
        if order.ord_type != "post_only":
            self._take(order, market)
        if not order.is_live:
            return
        if order.ord_type in TAKER_ONLY:
            self._end(order, CANCEL_IOC)
        elif order.acc_fill_sz == 0:
            self._changed(order)
        self._refresh_frozen(self.accounts[order.uid])

    def _take(self, order: SimOrder, market: InstrumentMarket) -> None:
        wanted = order.remaining
        if order.reduce_only:
            wanted = min(wanted, self._reducible(self.accounts[order.uid], order))
        slip = market.inst.tick_sz * self.config.slippage_ticks
        for level_px, qty in market.book.take(order.side, wanted, order.px):
            px = level_px + slip if order.side == "buy" else level_px - slip
            if order.px is not None:
                px = min(px, order.px) if order.side == "buy" else max(px, order.px)
            self._fill(order, px, qty, "T")

    def _fill(self, order: SimOrder, px: Decimal, qty: Decimal, exec_type: str) -> Decimal:
        """Execute ``qty`` of ``order`` at ``px``; return what filled (reduce-only may cut it)."""
        account = self.accounts[order.uid]
        if order.reduce_only:
            qty = min(qty, self._reducible(account, order))
            if qty == 0:
                self._end(order, CANCEL_POSITION_CLOSED)
                return ZERO
        market = self.markets[order.inst_id]
        inst = market.inst
        rate = self.config.taker_fee if exec_type == "T" else self.config.maker_fee
        fee = -(inst.contracts_value(qty, px) * rate).quantize(USDT_QUANTUM)
        trade_id = market.new_trade_id()
        position, pnl = self._apply_to_position(account, order, px, qty, trade_id)
        position.fee += fee
        account.cash += pnl + fee
        account.u_time = self.now
        bill = Bill(
            account.uid,
            self.ids.bill(),
            order.inst_id,
            order.ord_id,
            trade_id,
            order.cl_ord_id,
            order.tag,
            "1" if order.side == "buy" else "2",
            px,
            qty,
            pnl,
            fee,
            account.cash,
            order.td_mode,
            exec_type,
            self.now,
        )
        self.bills.append(bill)
        fill = SimFill(trade_id, px, qty, fee, pnl, exec_type, self.now, market.mark, bill.bill_id)
        order.last_px = market.last
        order.add_fill(fill, self.now)
        if exec_type == "T":
            market.record_trade(order.side, px, qty, self.now, trade_id)
        self.ledger.record(
            "fill",
            ms(self.now),
            uid=order.uid,
            instId=order.inst_id,
            ordId=order.ord_id,
            clOrdId=order.cl_ord_id,
            tradeId=trade_id,
            side=order.side,
            posSide=order.pos_side,
            fillPx=num(px),
            fillSz=num(qty),
            fee=num(fee),
            pnl=num(pnl),
            execType=exec_type,
        )
        self._changed(order)
        self._ledger_position(position)
        self.listener.position_changed(account, position)
        self._ledger_balance(account, "fill")
        self._refresh_frozen(account, changed=True)
        if position.pos == 0:
            self._position_closed(account, position)
        return qty

    def _apply_to_position(
        self, account: Account, order: SimOrder, px: Decimal, qty: Decimal, trade_id: str
    ) -> tuple[SimPosition, Decimal]:
        """Move the position by a fill; return it and the realised PnL of the closed part."""
        market = self.markets[order.inst_id]
        key = (order.inst_id, order.pos_side)
        position = account.positions.get(key)
        if position is None:
            position = SimPosition(
                market.inst,
                self.ids.position(),
                order.pos_side,
                order.td_mode,
                order.lever,
                self.now,
                self.now,
                mark=market.mark,
                last=market.last,
            )
            account.positions[key] = position
        if position.pos == 0:
            position.c_time, position.mgn_mode, position.lever = (
                self.now,
                order.td_mode,
                order.lever,
            )
            position.realized_pnl = position.fee = ZERO
        opening = order.side == "buy" if order.pos_side != "short" else order.side == "sell"
        signed = qty if opening else -qty
        if order.pos_side == "net":
            signed = qty if order.side == "buy" else -qty
        old = position.pos
        pnl = ZERO
        if old == 0 or (old > 0) == (signed > 0):
            average = (abs(old) * position.avg_px + qty * px) / (abs(old) + qty)
            position.avg_px = average.quantize(market.inst.tick_sz * AVG_PX_DIGITS)
            position.pos = old + signed
        else:
            closed = min(abs(old), qty)
            pnl = market.inst.contracts_value(closed, px - position.avg_px) * position.direction
            pnl = pnl.quantize(USDT_QUANTUM)
            position.pos = old + signed
            if position.pos != 0 and (position.pos > 0) != (old > 0):
                position.avg_px, position.c_time = px, self.now
        position.realized_pnl += pnl
        position.trade_id = trade_id
        position.u_time = self.now
        position.mark, position.last = market.mark, market.last
        return position, pnl

    def _position_closed(self, account: Account, position: SimPosition) -> None:
        """A flat position takes its close-the-position algo orders with it."""
        for algo in list(self.algos.values()):
            if (
                algo.is_live
                and algo.uid == account.uid
                and algo.inst_id == position.inst.inst_id
                and (algo.close_fraction or algo.cxl_on_close_pos)
            ):
                algo.state, algo.u_time = "canceled", self.now
                self.listener.algo_changed(algo)

    def _end(self, order: SimOrder, source: str) -> None:
        order.cancel(source, self.now)
        self._changed(order)
        self._refresh_frozen(self.accounts[order.uid])

    def _changed(self, order: SimOrder) -> None:
        if order.is_live:
            self.live[order.ord_id] = order
        else:
            self.live.pop(order.ord_id, None)
            if order.attached and order.acc_fill_sz > 0 and not order.attached_done:
                order.attached_done = True
                if self.on_attached_due is not None:
                    self.on_attached_due(order)
        self.ledger.record(
            "order",
            ms(self.now),
            uid=order.uid,
            instId=order.inst_id,
            ordId=order.ord_id,
            clOrdId=order.cl_ord_id,
            state=order.state,
            accFillSz=num(order.acc_fill_sz),
            sz=num(order.sz),
            side=order.side,
            ordType=order.ord_type,
            px=num(order.px),
            cancelSource=order.cancel_source,
        )
        self.listener.order_changed(order)

    def _refresh(self, market: InstrumentMarket) -> None:
        """New mark/last: positions' upl changes (pushed by the periodic snapshots)."""
        for account in self.accounts.values():
            for position in account.positions.values():
                if position.inst.inst_id == market.inst.inst_id:
                    position.mark, position.last = market.mark, market.last

    def _refresh_frozen(self, account: Account, *, changed: bool = False) -> None:
        """Recompute the margin frozen by resting opening orders; push the account if it moved."""
        frozen = ZERO
        for order in self.live_orders(account.uid):
            if not order.reduce_only and order.px is not None:
                inst = self.markets[order.inst_id].inst
                frozen += inst.contracts_value(order.remaining, order.px) / order.lever
        if changed or frozen != account.order_frozen:
            account.order_frozen = frozen
            self.listener.account_changed(account)

    def _ledger_position(self, position: SimPosition) -> None:
        self.ledger.record(
            "position",
            ms(self.now),
            instId=position.inst.inst_id,
            posSide=position.pos_side,
            posId=position.pos_id,
            pos=num(position.pos),
            avgPx=num(position.avg_px),
            realizedPnl=num(position.realized_pnl),
        )

    def _ledger_balance(self, account: Account, reason: str) -> None:
        self.ledger.record(
            "balance", ms(self.now), uid=account.uid, cashBal=num(account.cash), reason=reason
        )

    def all_live_algos(self, inst_id: str) -> Iterator[SimAlgo]:
        """Live algo orders on an instrument (the trigger check walks them)."""
        return (a for a in list(self.algos.values()) if a.is_live and a.inst_id == inst_id)
