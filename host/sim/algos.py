"""Exchange-side stops: conditional (TP/SL), oco, trigger and trailing (``move_order_stop``).

They live on the exchange, so they fire even when the client is disconnected — the reason the host
places them. Each is checked against the price it names (``last``, ``mark``; ``index`` is served by
the mark, the simulator has no separate index) after every market update. When one fires it
places a normal order (market when its order price is ``-1``) and becomes ``effective``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from host.sim.engine import SimEngine, SimOrderRequest
from host.sim.orders import SimAlgo, SimOrder
from host.sim.params import Params
from host.sim.wire import ALGO_MISSING, POSITION_MISSING, SimOkxError, param_error

ALGO_TYPES = ("conditional", "oco", "trigger", "move_order_stop")
ADVANCE_TYPES = frozenset({"move_order_stop"})
"""OKX's "advance" algo orders: canceled through ``cancel-advance-algos``, pushed on
``algo-advance`` (nautilus_trader's ``OKX_ADVANCE_ALGO_ORDER_TYPES``)."""
PRICE_TYPES = ("last", "index", "mark")
MARKET_PX = Decimal(-1)


@dataclass(slots=True)
class AlgoDesk:
    """Places, amends, cancels and fires algo orders of an :class:`SimEngine`."""

    engine: SimEngine

    def __post_init__(self) -> None:
        self.engine.on_attached_due = self.place_attached

    def place_attached(self, order: SimOrder) -> None:
        """Place the TP/SL an order carried (``attachAlgoOrds``) for the size it filled."""
        for item in order.attached:
            try:
                item.algo_id = self.place(order.uid, item.algo_params(order)).algo_id
            except SimOkxError as error:
                item.fail = error

    def place(self, uid: str, params: Params) -> SimAlgo:
        """Validate and register a ``POST /trade/order-algo`` request."""
        engine = self.engine
        market = engine.market(params.text("instId"))
        account = engine.accounts[uid]
        ord_type = params.choice("ordType", ALGO_TYPES)
        side = params.choice("side", ("buy", "sell"))
        td_mode = params.choice("tdMode", ("cross", "isolated"))
        if account.pos_mode == "net_mode":
            pos_side = params.choice("posSide", ("net",), "net")
        else:
            pos_side = params.choice("posSide", ("long", "short"))
        close_fraction = params.text("closeFraction", "") == "1"
        sz = Decimal(0) if close_fraction else params.positive("sz")
        if close_fraction and ord_type not in ("conditional", "oco"):
            raise param_error("closeFraction")
        if not close_fraction and not market.inst.on_lot(sz):
            raise param_error("sz")
        algo = SimAlgo(
            engine.ids.algo(),
            params.client_id("algoClOrdId"),
            params.tag(),
            market.inst.inst_id,
            ord_type,
            side,
            pos_side,
            td_mode,
            sz,
            params.flag("reduceOnly") or close_fraction,
            close_fraction,
            account.lever(market.inst.inst_id, td_mode, pos_side),
            engine.now,
            engine.now,
            uid,
            cxl_on_close_pos=params.flag("cxlOnClosePos"),
            last_px=market.last,
            ct_val=market.inst.ct_val,
        )
        if close_fraction and _closable(engine, algo) == 0:
            raise POSITION_MISSING
        _read_prices(algo, params, market.last)
        engine.algos[algo.algo_id] = algo
        self._changed(algo)
        return algo

    def find(self, uid: str, inst_id: str, algo_id: str, algo_cl_ord_id: str) -> SimAlgo:
        """An algo order by ``algoId`` or ``algoClOrdId``; ``51603`` if unknown."""
        for algo in self.engine.algos.values():
            if (
                algo.uid == uid
                and algo.inst_id == inst_id
                and (
                    (algo_id and algo.algo_id == algo_id)
                    or (not algo_id and algo_cl_ord_id and algo.algo_cl_ord_id == algo_cl_ord_id)
                )
            ):
                return algo
        raise ALGO_MISSING

    def cancel(
        self, uid: str, inst_id: str, algo_id: str, algo_cl_ord_id: str, *, advance: bool = False
    ) -> SimAlgo:
        """Cancel a live algo order; an already finished one is ``51603`` too (OKX: not pending).

        ``advance`` says which endpoint asked: each knows only its own family of algo orders.
        """
        algo = self.find(uid, inst_id, algo_id, algo_cl_ord_id)
        if not algo.is_live or (algo.ord_type in ADVANCE_TYPES) != advance:
            raise ALGO_MISSING
        algo.state, algo.u_time = "canceled", self.engine.now
        self._changed(algo)
        return algo

    def amend(self, uid: str, params: Params) -> SimAlgo:
        """``POST /trade/amend-algos``: new size and/or trigger / order prices of a live algo."""
        algo = self.find(
            uid, params.text("instId"), params.text("algoId", ""), params.text("algoClOrdId", "")
        )
        if not algo.is_live:
            raise ALGO_MISSING
        new_sz = params.decimal("newSz", required=False)
        if new_sz is not None:
            if new_sz <= 0:
                raise param_error("newSz")
            algo.sz = new_sz
        for name, attr in (
            ("newTriggerPx", "trigger_px"),
            ("newOrdPx", "order_px"),
            ("newSlTriggerPx", "sl_trigger_px"),
            ("newSlOrdPx", "sl_ord_px"),
            ("newTpTriggerPx", "tp_trigger_px"),
            ("newTpOrdPx", "tp_ord_px"),
        ):
            value = params.decimal(name, required=False)
            if value is not None:
                setattr(algo, attr, value)
        algo.u_time = self.engine.now
        self._changed(algo)
        return algo

    def check(self) -> None:
        """Fire every live algo order whose trigger the current prices reached."""
        for inst_id, market in self.engine.markets.items():
            for algo in self.engine.all_live_algos(inst_id):
                algo.last_px = market.last
                fired = _fired(algo, market.last, market.mark)
                if fired is not None:
                    self._fire(algo, *fired)

    def _fire(self, algo: SimAlgo, kind: str, order_px: Decimal | None) -> None:
        engine = self.engine
        market = engine.markets[algo.inst_id]
        algo.trigger_time = algo.u_time = engine.now
        algo.actual_side = kind
        size = _closable(engine, algo) if algo.close_fraction else algo.sz
        px = None if order_px is None or order_px == MARKET_PX else order_px
        try:
            if size == 0:
                raise POSITION_MISSING
            order = engine.place(
                SimOrderRequest(
                    algo.uid,
                    market.inst,
                    algo.side,
                    algo.pos_side,
                    algo.td_mode,
                    "market" if px is None else "limit",
                    px,
                    size,
                    algo.reduce_only,
                    algo=algo,
                )
            )
        except SimOkxError:
            algo.state = "order_failed"
        else:
            algo.state, algo.ord_id = "effective", order.ord_id
            algo.actual_sz, algo.actual_px = size, order.avg_px or px
        self._changed(algo)

    def _changed(self, algo: SimAlgo) -> None:
        self.engine.listener.algo_changed(algo)


def _closable(engine: SimEngine, algo: SimAlgo) -> Decimal:
    """The position size an algo closing its whole position would close now."""
    position = engine.accounts[algo.uid].positions.get((algo.inst_id, algo.pos_side))
    if position is None or position.pos == 0:
        return Decimal(0)
    closes_long = algo.side == "sell"
    if position.pos_side == "net" and (position.pos > 0) != closes_long:
        return Decimal(0)
    return position.size


def _read_prices(algo: SimAlgo, params: Params, last: Decimal) -> None:
    """Read the trigger parameters of each algo type (``51000`` names the missing one)."""
    if algo.ord_type in ("conditional", "oco"):
        algo.sl_trigger_px = params.decimal("slTriggerPx", required=False)
        algo.tp_trigger_px = params.decimal("tpTriggerPx", required=False)
        algo.sl_ord_px = params.decimal("slOrdPx", required=algo.sl_trigger_px is not None)
        algo.tp_ord_px = params.decimal("tpOrdPx", required=algo.tp_trigger_px is not None)
        algo.sl_trigger_px_type = params.choice("slTriggerPxType", PRICE_TYPES, "last")
        algo.tp_trigger_px_type = params.choice("tpTriggerPxType", PRICE_TYPES, "last")
        if algo.sl_trigger_px is None and algo.tp_trigger_px is None:
            raise param_error("slTriggerPx")
        if algo.ord_type == "oco" and (algo.sl_trigger_px is None or algo.tp_trigger_px is None):
            raise param_error("tpTriggerPx")
    elif algo.ord_type == "trigger":
        algo.trigger_px = params.positive("triggerPx")
        algo.order_px = params.decimal("orderPx")
        algo.trigger_px_type = params.choice("triggerPxType", PRICE_TYPES, "last")
        algo.trigger_above = algo.trigger_px >= last
    else:
        algo.callback_ratio = params.decimal("callbackRatio", required=False)
        algo.callback_spread = params.decimal("callbackSpread", required=False)
        if (algo.callback_ratio is None) == (algo.callback_spread is None):
            raise param_error("callbackRatio")
        algo.active_px = params.decimal("activePx", required=False)
        algo.activated = algo.active_px is None
        algo.order_px = MARKET_PX


def _fired(algo: SimAlgo, last: Decimal, mark: Decimal) -> tuple[str, Decimal | None] | None:
    """``(kind, order price)`` if ``algo`` triggers at these prices, else None."""

    def price(kind: str) -> Decimal:
        return last if kind == "last" else mark

    sell = algo.side == "sell"
    if algo.ord_type in ("conditional", "oco"):
        sl, tp = algo.sl_trigger_px, algo.tp_trigger_px
        if algo.ord_type == "conditional" and sl is not None:
            tp = None  # OKX: a net conditional with both performs only the stop-loss
        if sl is not None:
            px = price(algo.sl_trigger_px_type)
            if (sell and px <= sl) or (not sell and px >= sl):
                return "sl", algo.sl_ord_px
        if tp is not None:
            px = price(algo.tp_trigger_px_type)
            if (sell and px >= tp) or (not sell and px <= tp):
                return "tp", algo.tp_ord_px
        return None
    if algo.ord_type == "trigger":
        assert algo.trigger_px is not None  # noqa: S101 -- set by _read_prices
        px = price(algo.trigger_px_type)
        hit = px >= algo.trigger_px if algo.trigger_above else px <= algo.trigger_px
        return ("", algo.order_px) if hit else None
    return _trail(algo, last)


def _trail(algo: SimAlgo, last: Decimal) -> tuple[str, Decimal | None] | None:
    """``move_order_stop``: follow the best price since activation; fire on the callback."""
    sell = algo.side == "sell"
    if not algo.activated:
        assert algo.active_px is not None  # noqa: S101 -- activated is False only with activePx
        algo.activated = last >= algo.active_px if sell else last <= algo.active_px
        if not algo.activated:
            return None
    if algo.extreme is None or (last > algo.extreme if sell else last < algo.extreme):
        algo.extreme = last
    if algo.callback_ratio is not None:
        factor = 1 - algo.callback_ratio if sell else 1 + algo.callback_ratio
        level = algo.extreme * factor
    else:
        spread = algo.callback_spread or Decimal(0)
        level = algo.extreme - spread if sell else algo.extreme + spread
    algo.move_trigger_px = level
    hit = last <= level if sell else last >= level
    return ("", MARKET_PX) if hit else None
