"""The engine: market data in, protected positions out.

The calling sequence a plugin author can rely on (README, "The engine's calling sequence"):

1. Each ``trades`` push feeds the instrument's bars; a closed bar calls ``detect_regime``.
2. Each ``tickers`` push is a *tick*. For the instrument's open positions, **one**
   ``on_tick_exit`` call carries them all; a close beats a stop, stops only tighten, and a stop
   the tick has crossed closes the position. Then a resting entry whose time-to-live ran out
   calls ``on_limit_expired``. Then, if the instrument is free (no position, no resting entry,
   no unresolved drift) and the safety limits allow it, ``generate_signals``; each signal goes
   through ``on_signal`` (any veto blocks), then ``plan_entry``, and the entry is sent; once
   OKX acknowledges it, ``limit_order_ttl`` (the wait counts from the acknowledgement).
3. A fill of an own order (entry, close, or the exchange-side stop) is journaled; an entry's
   position is looked up and protected with the initial stop and an exchange-side stop; then
   ``on_fill`` is called with the position after the fill (``None`` when flat), whether or not
   the positions push showing it has come yet.
4. A position the exchange shows and the host does not know is a drift: ``on_position_drift``
   decides (``drift_guard`` adopts it with a stop), before anything else on that instrument.
5. When the exchange reports a position flat, it is journaled with its PnL and
   ``on_position_closed`` is called.

Hook calls are synchronous and happen on the event loop in the order above; everything that
waits on the network or the disk runs as a task, so a tick never waits for I/O. Only one
position per instrument (OKX net mode) and one entry at a time per instrument.
"""

from __future__ import annotations

from host.domain import (
    Tick,
)
from host.engine.positions import PositionFlow
from host.exchange.events import (
    AccountPush,
    AlgoOrderPush,
    ExchangeEvent,
    MarkPricePush,
    OrderPush,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)
from host.journal.records import BalanceSnapshot

SETTLEMENT_CURRENCY = "USDT"
"""The currency every traded swap settles in: the balance worth journaling."""


class Engine(PositionFlow):
    """One account's trading: decisions through the plugins, orders through the executor."""

    # --- the feed's sink ----------------------------------------------------------------------

    def on_event(self, event: ExchangeEvent) -> None:
        """Take one de-duplicated exchange event (the :class:`ExchangeFeed` sink)."""
        if isinstance(event, TickerPush):
            self._on_tick(self.market.on_ticker(event.tick))
        elif isinstance(event, QuotePush):
            self.market.on_quote(event.inst_id, event.bid, event.ask, event.ts)
        elif isinstance(event, MarkPricePush):
            self.market.on_mark(event.inst_id, event.mark)
        elif isinstance(event, TradePush):
            self._on_trade(event)
        elif isinstance(event, OrderPush):
            self._on_order(event)
        elif isinstance(event, PositionsPush):
            self._on_positions(event)
        elif isinstance(event, AlgoOrderPush):
            self._on_algo(event)
        elif isinstance(event, AccountPush):
            self._on_account(event)

    def _on_account(self, push: AccountPush) -> None:
        """Journal the settlement currency's balance (OKX pushes it on change and periodically)."""
        for balance in push.balances:
            if balance.ccy == SETTLEMENT_CURRENCY and balance.available is not None:
                self.journal.write(
                    BalanceSnapshot(balance.ccy, balance.equity, balance.available, push.updated_at)
                )

    def _on_trade(self, push: TradePush) -> None:
        inst_id = push.trade.inst_id
        if inst_id not in self.specs:
            return
        closed = self.bars.add(push.trade)
        if closed is not None:
            self.regimes[inst_id] = self.dispatch.detect_regime(
                self.bars.bars(inst_id), self.context(inst_id)
            )

    def _on_tick(self, tick: Tick) -> None:
        inst_id = tick.inst_id
        if inst_id not in self.specs:
            return
        self.stats.ticks += 1
        ctx = self.context(inst_id)
        positions = self.registry.for_instrument(inst_id)
        if positions and not self.gate.drifting(inst_id):  # a drift is resolved before all else
            self._exits(tick, positions, ctx)
        self._expire_entries(inst_id, tick, ctx)
        if self._may_enter(inst_id, tick):
            for signal in self.dispatch.generate_signals(tick, ctx):
                self._consider(signal, tick, ctx)
                if self.gate.entering(inst_id):
                    break
        self._housekeeping()

    def _housekeeping(self) -> None:
        """Per-tick chores: the timed ones, and re-arming the dead man's switch.

        The switch is re-armed only while ticks flow: if the host or its market data stops,
        OKX cancels the resting entries by itself.
        """
        self.chores()
        now = self.clock.monotonic()
        dead_man = self.settings.dead_man_seconds
        if dead_man and now >= self._next_dead_man:
            self._next_dead_man = now + dead_man / 3
            self.spawn(self.api.cancel_all_after(dead_man))

    def chores(self) -> None:
        """What is due on the clock, ticks or not (the runner also calls this every second).

        Exchange-side stops to move, orders no push settled, the periodic reconciliation.
        """
        now = self.clock.monotonic()
        for pos_id in list(self._stop_dirty):
            if now - self._last_stop_move.get(pos_id, 0.0) < self.settings.stop_amend_min_seconds:
                continue
            self._stop_dirty.discard(pos_id)
            position = self.registry.get(pos_id)
            algo_id = self.exchange_stops.get(pos_id)
            if position is None or position.stop is None or algo_id is None:
                continue
            self._last_stop_move[pos_id] = now
            self.spawn(self.executor.move_stop(position.inst_id, algo_id, position.stop))
        for tracked in list(self.orders.values()):
            if tracked.settle_at is not None and now >= tracked.settle_at:
                self.settle(tracked)
        if now >= self._next_reconcile:
            self._next_reconcile = now + self.settings.reconcile_interval_seconds
            self.spawn(self.reconcile_now())

    async def reconcile_now(self) -> None:
        """Reconcile positions with the exchange's, then check every exchange-side stop."""
        self.reconcile(await self.api.positions())
        await self.check_protection()
