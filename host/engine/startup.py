"""Start-up and restart: rebuild the engine's state from the journal and the exchange.

The exchange is the source of truth for what is open; the journal for what the exchange does not
keep (each position's stop, origin and regime at entry, the fills already seen, the orders whose
outcome was never learnt). The order below is what makes "a restart never leaves a position
unprotected, and never loosens a stop" hold:

1. refuse to start when the account's position mode is not the one the host trades in;
2. remember the fills journaled within ``engine.fill_memory_hours`` (older ones are never taken
   as new: :class:`~host.engine.ledger.FillLedger`), so a replayed push cannot be applied twice, and
   journal the exchange's recent fills the journal lacks (made while no host was running, or
   never journaled by a killed one);
3. settle every order intent of unknown outcome by asking OKX for its ``clOrdId``;
4. replay the last 48 hours of closes and rejections to the plugins, oldest first (the circuit
   breaker comes back in the state it was in);
5. take the exchange's open positions: one the journal knows keeps its journaled stop (never a
   looser one); any other is a drift, resolved by the plugins before trading starts;
6. back every open position with an exchange-side stop, reusing one already resting there;
7. cancel entry orders an earlier run left resting (their time-to-live went with it).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from host.context import HostInfo
from host.domain import ClosedPosition, InstrumentSpec, OrderRejection
from host.engine.engine import Engine
from host.exchange.api import OkxApi
from host.journal.records import IntentOutcome, Outcome
from host.settings import Settings

_log = logging.getLogger(__name__)

NET_MODE = "net_mode"
REPLAY_HISTORY = timedelta(hours=48)
"""How far back closes are replayed to the plugins (the circuit breaker judges at most this)."""


class StartupRefused(Exception):
    """The host cannot trade this account as configured; the message says why and what to do."""


async def instrument_specs(api: OkxApi, settings: Settings) -> dict[str, InstrumentSpec]:
    """The configured instruments as OKX lists them; refuse any it does not list."""
    listed = {spec.inst_id: spec for spec in await api.instruments()}
    missing = [inst_id for inst_id in settings.instruments if inst_id not in listed]
    if missing:
        raise StartupRefused(f"not listed as live USDT swaps by the exchange: {', '.join(missing)}")
    return {inst_id: listed[inst_id] for inst_id in settings.instruments}


async def check_account(api: OkxApi, settings: Settings) -> None:
    """Refuse an account in long/short mode; set each instrument's leverage."""
    config = await api.account_config()
    if config.position_mode != NET_MODE:
        raise StartupRefused(
            f"the account is in {config.position_mode}; scalphost trades in {NET_MODE} "
            "(OKX: Settings → Position mode → One-way mode)"
        )
    for inst_id in settings.instruments:
        await api.set_leverage(inst_id, settings.engine.max_leverage, settings.engine.margin_mode)


async def replay_history(engine: Engine, since: datetime) -> None:
    """Tell the plugins the journaled closes and rejections since ``since``, oldest first.

    Each call's ``ctx.now`` is the event's own time, so a plugin that judges history (the
    circuit breaker: losing streaks, loss per UTC day, reject rate) rebuilds exactly the state
    it had before the restart.
    """
    closes = await engine.journal.closed_since(since)
    rejections = await engine.journal.rejections_since(since)
    events: list[tuple[datetime, ClosedPosition | OrderRejection]] = [
        (closed.closed_at, closed) for closed in closes
    ] + [(rejection.at, rejection) for rejection in rejections]
    for at, event in sorted(events, key=lambda item: item[0]):
        inst_id = event.position.inst_id if isinstance(event, ClosedPosition) else event.inst_id
        if inst_id not in engine.specs:
            continue
        ctx = replace(engine.context(inst_id), now=at)
        if isinstance(event, ClosedPosition):
            engine.dispatch.on_position_closed(event, ctx)
        else:
            engine.dispatch.on_order_rejected(event, ctx)


async def restore(engine: Engine, settings: Settings) -> None:
    """Bring the engine back to where the journal and the exchange say it is (steps 2-6)."""
    journal, api, now = engine.journal, engine.api, engine.clock.now()
    engine.ledger.remember(await journal.fills_seen_since(engine.ledger.horizon()))
    for fill in reversed(await api.fills()):  # oldest first
        await engine.fills.catch_up(fill)
    for intent in await journal.unresolved_intents():
        order = intent.order
        found = await api.get_order(order.inst_id, cl_ord_id=order.cl_ord_id)
        journal.write(
            IntentOutcome(
                order.cl_ord_id,
                Outcome.RESOLVED,
                now,
                ord_id=found.order.ord_id if found else None,
                exchange_state=found.order.state if found else None,
                detail="settled at start-up",
            )
        )
    await replay_history(engine, now - REPLAY_HISTORY)
    journaled = {
        (open_.position.pos_id, open_.position.entry_time): open_
        for open_ in await journal.open_positions()
    }
    prefix = engine.executor.ids.prefix
    ours = [stop for stop in await api.pending_stops() if stop.algo_cl_ord_id.startswith(prefix)]
    for report in await api.positions():
        there = report.position
        # OKX reuses a posId for later positions of the instrument: the creation time tells
        # this position from an earlier one the journal also knows.
        known = journaled.pop((there.pos_id, there.entry_time), None)
        before = known.position if known is not None else None
        if before is None or before.stop is None or before.side is not there.side:
            continue  # not ours as journaled: reconciliation below makes it a drift
        position = replace(there, origin=before.origin, stop=before.stop)
        engine.registry.track(position)
        if known is not None and known.regime is not None:
            engine.stats.entered(there.pos_id, known.regime)
        closing_side = there.side.entry_side.opposite.value
        resting = next(
            (s for s in ours if s.inst_id == there.inst_id and s.side == closing_side), None
        )
        if resting is not None:
            engine.protection.reuse(there.pos_id, resting.algo_id)
        else:
            engine.spawn(engine.protection.protect(position))
        _log.info("%s: restored with stop %s", there.pos_id, position.stop)
    for gone in journaled.values():  # closed while no host was running
        if gone.position.inst_id in engine.specs:
            engine.closes.settle(gone.position, "closed while the host was not running")
    # Anything else open is a drift for the plugins.
    engine.positions.reconcile(await api.positions())
    for pending in await api.pending_orders():
        order = pending.order
        if order.cl_ord_id.startswith(engine.executor.ids.prefix) and not order.reduce_only:
            # An entry of an earlier run: its time-to-live was lost with that run.
            await api.cancel_order(order.inst_id, ord_id=order.ord_id)
    await engine.idle()
    engine.dispatch.on_startup(HostInfo(now=now, mode=settings.mode, instruments=engine.specs))
    # Operators (and the crash tests) learn from this line that recovery is complete.
    _log.info("restored: %d open positions; trading", len(engine.registry.positions()))
