"""Matching properties of the simulated exchange (hypothesis), on the engine without sockets.

Random sessions of market, limit, post-only and reduce-only orders, cancels and market time are
replayed against a seeded market; the invariants below must hold for every one of them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from host.sim import SimConfig, Simulator
from host.sim.engine import SimOrderRequest
from host.sim.instruments import DEFAULT_INSTRUMENTS
from host.sim.params import Params
from host.sim.wire import SimOkxError

BTC = DEFAULT_INSTRUMENTS[0]
UID = SimConfig().keys[0].uid
START = Decimal(10**7)


@dataclass(frozen=True)
class Action:
    kind: str  # market | limit | post_only | reduce | wait | cancel
    side: str = "buy"
    lots: int = 1
    offset: int = 0


actions = st.lists(
    st.one_of(
        st.builds(Action, st.just("market"), st.sampled_from(["buy", "sell"]), st.integers(1, 300)),
        st.builds(
            Action,
            st.sampled_from(["limit", "post_only"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 300),
            st.integers(-30, 30),
        ),
        st.builds(Action, st.just("reduce"), st.sampled_from(["buy", "sell"]), st.integers(1, 300)),
        st.builds(Action, st.just("wait"), lots=st.integers(1, 30)),
        st.builds(Action, st.just("cancel")),
        st.builds(
            Action,
            st.sampled_from(["stop", "trail"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 300),
            st.integers(1, 30),
        ),
    ),
    max_size=25,
)


@dataclass
class Touch:
    """The book when an order arrived: the best price a taker could get."""

    best_bid: Decimal
    best_ask: Decimal


def config(seed: int, **overrides: object) -> SimConfig:
    return SimConfig(seed=seed, instruments=(BTC,), start_balance=START, **overrides)  # type: ignore[arg-type]


def play(config: SimConfig, script: list[Action]) -> tuple[Simulator, dict[str, Touch]]:
    """Run ``script`` against a fresh (unstarted) simulator; remember the touch at each order."""
    sim = Simulator(config)
    engine = sim.engine
    touches: dict[str, Touch] = {}
    for action in script:
        if action.kind == "wait":
            for _ in range(action.lots):
                sim.clock.advance(sim.config.step)
                sim.step()
            continue
        if action.kind == "cancel":
            live = engine.live_orders(UID)
            if live:
                engine.cancel(UID, BTC.inst_id, live[-1].ord_id, "")
            continue
        if action.kind in ("stop", "trail"):
            place_stop(sim, action)
            continue
        book = engine.markets[BTC.inst_id].book
        touch = Touch(book.best_bid, book.best_ask)
        px = None
        if action.kind in ("limit", "post_only"):
            toward = action.offset if action.side == "buy" else -action.offset
            px = BTC.to_tick(book.mid) + toward * BTC.tick_sz
        ord_type = "market" if action.kind in ("market", "reduce") else action.kind
        request = SimOrderRequest(
            UID,
            BTC,
            action.side,
            pos_side(config, action),
            "cross",
            ord_type,
            px,
            BTC.lot_sz * action.lots,
            reduce_only=action.kind == "reduce",
        )
        try:
            order = engine.place(request)
        except SimOkxError:
            continue
        touches[order.ord_id] = touch
    return sim, touches


def pos_side(config: SimConfig, action: Action) -> str:
    """``net``; in long/short mode a buy opens a long and a ``reduce`` buy closes a short."""
    if config.pos_mode == "net_mode":
        return "net"
    opens_long = action.side == "buy"
    return "long" if opens_long != (action.kind == "reduce") else "short"


def place_stop(sim: Simulator, action: Action) -> None:
    """An exchange stop closing the whole position (``stop``) or a trailing one (``trail``)."""
    mark = sim.engine.markets[BTC.inst_id].mark
    away = action.offset * BTC.tick_sz * (-1 if action.side == "sell" else 1)
    closes = "long" if action.side == "sell" else "short"
    side = "net" if sim.config.pos_mode == "net_mode" else closes
    fields = {"instId": BTC.inst_id, "tdMode": "cross", "side": action.side, "posSide": side}
    fields |= {"reduceOnly": sim.config.pos_mode == "net_mode"}
    if action.kind == "stop":
        fields |= {"ordType": "conditional", "closeFraction": "1", "slOrdPx": "-1"}
        fields |= {"slTriggerPx": str(mark + away)}
    else:
        fields |= {"ordType": "move_order_stop", "sz": str(BTC.lot_sz * action.lots)}
        fields |= {"callbackSpread": str(action.offset * BTC.tick_sz)}
    with contextlib.suppress(SimOkxError):  # no position to close: refused, as on OKX
        sim.algos.place(UID, Params(fields))


seeds = st.integers(0, 2**16)


@given(seeds, st.integers(0, 3), actions)
def test_no_fill_is_better_than_the_book_or_the_limit(
    seed: int, slippage: int, script: list[Action]
) -> None:
    sim, touches = play(config(seed, slippage_ticks=slippage), script)
    for fill in sim.ledger.fills():
        order = sim.engine.orders[fill["ordId"]]
        if order.category != "normal":
            continue  # liquidation / ADL: closed at the mark by the exchange, not through the book
        px = Decimal(fill["fillPx"])
        if fill["execType"] == "T":
            # our own orders: the touch we saw; a stop's order: the touch when it fired
            touch = touches.get(order.ord_id) or Touch(*order.arrival_touch)
            assert px >= touch.best_ask if order.side == "buy" else px <= touch.best_bid
        else:
            assert px == order.px  # a maker fills at its own price, never better
        if order.px is not None:
            assert px <= order.px if order.side == "buy" else px >= order.px


@given(seeds, actions)
def test_position_is_the_signed_sum_of_fills_and_cash_adds_up(
    seed: int, script: list[Action]
) -> None:
    sim, _ = play(config(seed), script)
    fills = sim.ledger.fills()
    signed = sum(
        (Decimal(f["fillSz"]) * (1 if f["side"] == "buy" else -1) for f in fills), Decimal(0)
    )
    account = sim.engine.accounts[UID]
    position = account.positions.get((BTC.inst_id, "net"))
    assert (position.pos if position else Decimal(0)) == signed
    assert sim.ledger.position(BTC.inst_id) == signed
    flows = sum((Decimal(f["pnl"]) + Decimal(f["fee"]) for f in fills), Decimal(0))
    flows += sum((Decimal(e.data["amount"]) for e in sim.ledger.entries("funding")), Decimal(0))
    assert account.cash == START + flows


@given(seeds, actions)
def test_long_short_positions_are_each_the_sum_of_their_opening_and_closing_fills(
    seed: int, script: list[Action]
) -> None:
    sim, _ = play(config(seed, pos_mode="long_short_mode"), script)
    for side in ("long", "short"):
        opening = "buy" if side == "long" else "sell"
        fills = [f for f in sim.ledger.fills() if f["posSide"] == side]
        signed = sum(
            (Decimal(f["fillSz"]) * (1 if f["side"] == opening else -1) for f in fills), Decimal(0)
        )
        position = sim.engine.accounts[UID].positions.get((BTC.inst_id, side))
        assert signed >= 0  # closing orders never take a side below zero
        assert (position.pos if position else Decimal(0)) == signed


@given(seeds, st.sampled_from([("0.0002", "0.0005"), ("-0.0001", "0.0007"), ("0", "0")]), actions)
def test_fees_are_the_configured_rate_of_the_notional(
    seed: int, rates: tuple[str, str], script: list[Action]
) -> None:
    maker, taker = (Decimal(r) for r in rates)
    sim, _ = play(config(seed, maker_fee=maker, taker_fee=taker), script)
    for fill in sim.ledger.fills():
        rate = taker if fill["execType"] == "T" else maker
        notional = Decimal(fill["fillSz"]) * BTC.ct_val * Decimal(fill["fillPx"])
        assert Decimal(fill["fee"]) == -(notional * rate)


@given(seeds, actions)
def test_the_same_seed_and_orders_give_identical_ledgers(seed: int, script: list[Action]) -> None:
    first, _ = play(config(seed), script)
    second, _ = play(config(seed), script)
    assert first.ledger.as_json() == second.ledger.as_json()
    assert first.ledger.digest() == second.ledger.digest()


@given(seeds, actions)
def test_post_only_never_takes_and_reduce_only_never_opens_or_flips(
    seed: int, script: list[Action]
) -> None:
    sim, _ = play(config(seed), script)
    position = Decimal(0)
    for entry in sim.ledger.entries():
        if entry.kind == "fill":
            order = sim.engine.orders[entry.data["ordId"]]
            if order.ord_type == "post_only":
                assert entry.data["execType"] == "M"
            before = position
        elif entry.kind == "position":
            position = Decimal(entry.data["pos"])
            if order.reduce_only:
                assert abs(position) < abs(before)
                assert position == 0 or (position > 0) == (before > 0)
    crossing = [o for o in sim.engine.orders.values() if o.cancel_source == "31"]
    assert all(o.ord_type == "post_only" and o.acc_fill_sz == 0 for o in crossing)


def test_a_crossing_post_only_is_accepted_then_canceled_with_source_31() -> None:
    sim = Simulator(config(1))
    ask = sim.engine.markets[BTC.inst_id].book.best_ask
    order = sim.engine.place(
        SimOrderRequest(
            UID, BTC, "buy", "net", "cross", "post_only", ask, Decimal(1), reduce_only=False
        )
    )
    assert (order.state, order.cancel_source, order.acc_fill_sz) == ("canceled", "31", 0)


def test_a_resting_limit_fills_partially_when_less_trades_through_it() -> None:
    sim = Simulator(config(7))
    engine = sim.engine
    bid = engine.markets[BTC.inst_id].book.best_bid
    order = engine.place(
        SimOrderRequest(
            UID, BTC, "buy", "net", "cross", "limit", bid, Decimal(1000), reduce_only=False
        )
    )
    for _ in range(6000):
        if order.acc_fill_sz > 0:
            break
        sim.clock.advance(timedelta(milliseconds=100))
        sim.step()
    assert 0 < order.acc_fill_sz < order.sz
    assert order.state == "partially_filled"
    assert all(f.px == bid and f.exec_type == "M" for f in order.fills)
