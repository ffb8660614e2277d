"""The hook contract: every question the host asks its plugins, when, and how answers combine.

Read this module to write a plugin. Each hook's docstring has the same parts:

* **When** — which step of the host's loop calls it;
* ``:param:`` / ``:returns:`` — what the plugin gets and what its answer means (``None`` always
  means "no opinion");
* **Combination** — how the answers of several plugins become one decision;
* **Default** — what the host does when no plugin answers;
* **On error** — what the host does when a plugin raises or answers something invalid (always the
  safe side: an entry is vetoed, an existing stop is kept);
* **Timing** — the budget, the same figure as in :data:`HOOK_BUDGETS` (a test keeps the two in
  step). Hooks marked *hot path* run on every tick: no I/O, no logging, no allocation beyond the
  answer. The host times every call; a plugin that overruns the budget several calls in a row is
  warned about once, with the figure.

A plugin is a class. The plugin manager imports it (built-ins by ``"module:Class"``, external
plugins from an entry point in the group ``scalphost.plugins``), validates the plugin's section of
the config against the class's nested pydantic model ``Settings`` (if it has one) and constructs
it with the result, once per session: ``Plugin(settings)``, or ``Plugin()`` without a
``Settings``. Its hooks are methods marked with :data:`host.hookimpl`. A module full of hook
functions is not a plugin: it has no settings to be constructed with, and is refused at
start-up as a configuration error naming the plugin (exit 2).

Rules that hold for every hook:

* Hooks are synchronous, pure decisions. The host does all I/O and all awaiting; an ``async def``
  implementation is refused at registration (pluggy would not await it, and its coroutine would
  silently count as an answer).
* Plugins receive frozen value objects (:mod:`host.domain`) and a read-only context
  (:class:`host.context.HookContext`), never host internals. Prices are ``Decimal``; instants are
  aware UTC. A plugin's own settings are given to its constructor. ``ctx.load`` carries the
  host's latest load measurements (event-loop lag, exchange latency) once it has them.
* Arguments are opt-in: an implementation may declare only the parameters it uses.
* Call order: pluggy calls implementations last-registered first, within the ``tryfirst`` /
  normal / ``trylast`` bands. The host registers built-in plugins first and external ones after,
  so an external plugin is asked before a built-in one; built-in defaults are ``trylast`` so an
  installed alternative overrides them without anyone disabling anything. Every combination rule
  below is order-independent except "first answer", which is the point of ``trylast`` defaults.
* "First answer" means the first *valid* answer: a plugin that raises or answers something
  invalid is passed over (its fault counted) and the plugins after it are asked, down to the
  ``trylast`` built-in. pluggy alone would stop at the failure and never ask the built-in; the
  host asks again without the plugins already heard, so no plugin is asked twice about one event.
* Only :mod:`host.dispatch` calls these hooks. It applies the combination rules, validates the
  answers and isolates a failing plugin, so one plugin's exception never hides another's answer.
* A plugin that keeps raising is switched off: after ``hooks.plugin_failure_limit`` exceptions
  in a row from one of its hooks (a call that returns resets the count), it is unregistered from
  every hook for the rest of the session, which is logged once, journaled and shown in the
  session summary with its error count. The other plugins and the host's defaults carry on (an
  open position keeps its exchange-side stop). An *essential* plugin (``drift_guard``) is never
  switched off: each of its failures already falls back to the safe side written under
  **On error**, and the host must keep asking it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from host.context import HookContext, HostInfo
    from host.decisions import (
        DriftResolution,
        EntryPlan,
        ExitProposal,
        ExpiryAction,
        Notification,
        Veto,
    )
    from host.domain import (
        Bar,
        ClosedPosition,
        Drift,
        Fill,
        HostEvent,
        Order,
        OrderRejection,
        Position,
        Regime,
        Signal,
        Tick,
    )

PROJECT_NAME = "scalphost"

_spec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = [
    "detect_regime",
    "generate_signals",
    "limit_order_ttl",
    "notification_for",
    "on_fill",
    "on_limit_expired",
    "on_order_rejected",
    "on_position_closed",
    "on_position_drift",
    "on_shutdown",
    "on_signal",
    "on_startup",
    "on_tick_exit",
    "plan_entry",
]

HOOK_BUDGETS: Mapping[str, timedelta] = {
    "on_startup": timedelta(seconds=1),
    "on_shutdown": timedelta(seconds=1),
    "detect_regime": timedelta(milliseconds=1),
    "generate_signals": timedelta(microseconds=20),
    "on_signal": timedelta(microseconds=50),
    "plan_entry": timedelta(microseconds=50),
    "limit_order_ttl": timedelta(microseconds=50),
    "on_limit_expired": timedelta(microseconds=50),
    "on_fill": timedelta(microseconds=100),
    "on_position_drift": timedelta(milliseconds=1),
    "on_position_closed": timedelta(microseconds=100),
    "on_order_rejected": timedelta(microseconds=100),
    "on_tick_exit": timedelta(microseconds=20),
    "notification_for": timedelta(milliseconds=1),
}
"""The time one call of each hook may take: the single source the host's guard and ``golive``
measure against. Each hook's **Timing** paragraph states the same figure in words."""

# ---------------------------------------------------------------------------------------------
# Life cycle
# ---------------------------------------------------------------------------------------------


@_spec
def on_startup(host: HostInfo) -> None:
    """Prepare a plugin before the first market event.

    When: once, after every plugin is registered and the registry has been rebuilt from the
    exchange and the journal, before any market data is handled.

    :param host: the mode, the traded instruments and the start instant.
    :returns: nothing; answers are ignored.

    Combination: notification — every implementation is called.
    Default: nothing happens.
    On error: start-up is aborted: a plugin that cannot start must not trade.
    Timing: not on the hot path; budget 1 s.
    """


@_spec
def on_shutdown(host: HostInfo) -> None:
    """Let a plugin finish before the host stops.

    When: once, after new entries have stopped and resting entry orders are cancelled, before
    the journal is flushed.

    :param host: the mode, the traded instruments and the shutdown instant.
    :returns: nothing; answers are ignored.

    Combination: notification — every implementation is called.
    Default: nothing happens.
    On error: logged and counted; shutdown goes on.
    Timing: not on the hot path; budget 1 s.
    """


# ---------------------------------------------------------------------------------------------
# Market
# ---------------------------------------------------------------------------------------------


@_spec(firstresult=True)
def detect_regime(bars: Sequence[Bar], ctx: HookContext) -> Regime | None:
    """Classify how the instrument's market behaves: trending, ranging or choppy.

    When: once per closed bar per instrument. The answer becomes ``ctx.regime`` for every later
    call about that instrument and is journaled with each entry.

    :param bars: the most recent closed bars, oldest first (the window length is configured).
    :param ctx: the instrument and the current instant; ``ctx.regime`` is the previous answer.
    :returns: the regime, or ``None`` to let the next plugin decide.

    Combination: first answer — the first valid non-``None`` answer wins (the built-in detector
    is ``trylast``, so an installed alternative is asked first).
    Default: the configured fallback regime (``hooks.regime_fallback``).
    On error: the failing (or invalid) plugin is passed over and the next one asked; if none
    answers, the configured fallback regime.
    Timing: once per bar, off the hot path; budget 1 ms.
    """


@_spec
def generate_signals(tick: Tick, ctx: HookContext) -> Sequence[Signal] | Signal | None:
    """Propose entries from the latest market data.

    When: once per tick per instrument, after ``on_tick_exit`` has been answered for the tick.

    :param tick: the new top of book and last price.
    :param ctx: instrument, regime and the current instant.
    :returns: zero or more signals for ``tick.inst_id`` as a list or tuple, or a single
        :class:`~host.domain.Signal` on its own (taken as a list of one), or ``None``. A signal
        for another instrument or with a naive time is refused (counted as an invalid answer);
        the plugin's other signals are kept.

    Combination: collect all — every plugin's signals are concatenated in call order; each then
    goes through ``on_signal`` on its own.
    Default: no signals, no entries.
    On error: the failing plugin's signals are dropped; other plugins' signals are kept.
    Timing: hot path; budget 20 µs per call.
    """


# ---------------------------------------------------------------------------------------------
# Entry
# ---------------------------------------------------------------------------------------------


@_spec
def on_signal(signal: Signal, ctx: HookContext) -> Veto | None:
    """Approve or veto an entry signal before any order is built.

    When: once per signal, before ``plan_entry``. The circuit breaker, risk limits and regime
    filters answer here.

    :param signal: the proposed entry.
    :param ctx: instrument, regime and the current instant.
    :returns: a :class:`~host.decisions.Veto` to block the entry, ``None`` to allow it.

    Combination: collect all, any veto blocks — deliberately not "first answer", so no plugin can
    hide the circuit breaker's veto. Every veto is journaled with its plugin's name.
    Default: allowed.
    On error: vetoed (fail closed).
    Timing: hot path when a signal fires; budget 50 µs.
    """


@_spec(firstresult=True)
def plan_entry(signal: Signal, tick: Tick, ctx: HookContext) -> EntryPlan | None:
    """Choose the price and kind of the entry limit order for an approved signal.

    When: once per signal that passed ``on_signal``.

    :param signal: the approved entry.
    :param tick: the latest top of book for the instrument.
    :param ctx: instrument, regime and the current instant.
    :returns: an :class:`~host.decisions.EntryPlan`; the host rounds its price to the tick in the
        direction that never pays more.

    Combination: first answer (the built-in limit-order policy is ``trylast``).
    Default: a post-only limit at the touch: the bid for a long, the ask for a short.
    On error: the failing (or invalid) plugin is passed over and the next one asked; if none
    answers, the entry is dropped (fail closed), not sent at the default.
    Timing: once per entry; budget 50 µs.
    """


@_spec(firstresult=True)
def limit_order_ttl(order: Order, ctx: HookContext) -> timedelta | None:
    """Say how long a resting limit entry may wait before ``on_limit_expired`` is asked.

    When: once OKX has acknowledged the entry order (not before sending it: the wait is counted
    from the acknowledgement, so a slow request does not eat it), and again after each reprice.
    Not asked for an entry that does not rest: refused, of unknown outcome, or a market order.

    :param order: the resting order, with its exchange ``ord_id`` (``filled_size`` shows
        partial fills).
    :param ctx: instrument, regime and the current instant.
    :returns: the time to wait, measured on the host's clock from now.

    Combination: first answer (the built-in limit-order policy is ``trylast``); a wait that is
    not a positive ``timedelta`` is ignored. Whatever the answer, and the default too, the host
    caps the wait at ``hooks.limit_order_max_wait_seconds`` for ``ctx.regime`` (45 s trending,
    45 s ranging, 30 s choppy by default), so no plugin can make an entry rest longer in any
    regime. The conformance suite holds a policy to the same maximum.
    Default: ``hooks.limit_order_ttl_default_seconds`` (60 s), capped likewise.
    On error: the failing (or invalid) plugin is passed over and the next one asked; if none
    answers, the default.
    Timing: once per order; budget 50 µs.
    """


@_spec(firstresult=True)
def on_limit_expired(order: Order, tick: Tick, ctx: HookContext) -> ExpiryAction | None:
    """Decide what happens to a limit entry whose time-to-live ran out.

    When: when the clock passes the order's time-to-live while part of it is still resting.

    :param order: the order, with what has filled so far.
    :param tick: the latest top of book.
    :param ctx: instrument, regime and the current instant.
    :returns: cancel the rest, reprice it, or cross the spread.

    Combination: first answer (the built-in limit-order policy is ``trylast``).
    Default: cancel the rest.
    On error: the failing (or invalid) plugin is passed over and the next one asked; if none
    answers, cancel the rest (fail closed).
    Timing: once per expiry; budget 50 µs.
    """


# ---------------------------------------------------------------------------------------------
# Position life
# ---------------------------------------------------------------------------------------------


@_spec
def on_fill(fill: Fill, position: Position | None, ctx: HookContext) -> None:
    """Learn about an execution of one of the host's own orders (the exit plugins arm here).

    The host's own orders are its entries, its closes and its exchange-side stops: every fill of
    a position the host opened or adopted reaches this hook, the stop's fill included, so an
    exit plugin or a breaker never misses how a position ended. A liquidation or an order placed
    outside the host is journaled but not announced here: the position it changes reaches the
    plugins as a drift (``on_position_drift``) or a close (``on_position_closed``). One gap: a
    stop's fill that no push reported, which the host finds only in OKX's fill list after a
    reconnect, carries nothing that ties it to the stop; it is journaled without ``on_fill``
    (the position's close still comes through ``on_position_closed``).

    When: after a de-duplicated fill has been journaled (and an entry's position found,
    protected and tracked); once per ``tradeId``, before ``on_position_closed`` of a position
    the fill closed.

    :param fill: the execution (``size`` is this fill's ``fillSz``, not the cumulative size).
    :param position: the position *after* the fill, even when the fill arrives before the
        exchange's positions push: a partial close gives what is left, an add-on the larger
        position at the averaged entry price. ``None`` when the fill left the instrument flat
        (a full close, the stop's fill), and for an entry fill whose position OKX did not show
        in time (reconciliation then finds it and ``on_position_drift`` protects it).
    :param ctx: instrument, regime and the current instant.
    :returns: nothing; answers are ignored.

    Combination: notification — every implementation is called.
    Default: nothing happens.
    On error: logged and counted; the other implementations are still called.
    Timing: once per fill; budget 100 µs.
    """


@_spec(firstresult=True)
def on_position_drift(drift: Drift, ctx: HookContext) -> DriftResolution | None:
    """Resolve a disagreement between the registry and the exchange (the source of truth).

    When: whenever reconciliation (start-up, every reconnect, every configured interval) finds
    a position the host did not know (*add*), one it knew that is gone (*remove*) or one whose
    side, size or entry price changed (*change*). Nothing else happens on that instrument until
    the drift is resolved.

    :param drift: what differs, with the current mark price.
    :param ctx: instrument, regime and the current instant.
    :returns: ``Adopt(stop)`` to protect the position at ``stop``; ``Accept`` to take the
        exchange's version; ``Flatten`` to close it. An *add* must be answered ``Adopt`` or
        ``Flatten`` (never left unprotected); a *remove* can only be ``Accept``-ed.

    Combination: first answer. The essential built-in ``drift_guard`` is ``trylast`` and always
    answers, so a drifted position can never be left without an exit.
    Default: cannot happen while ``drift_guard`` is registered (it cannot be disabled); if no
    valid answer comes, the host flattens the position.
    On error: the failing (or invalid) plugin is passed over and the next one asked.
    Timing: off the hot path, but the position is unprotected until it returns; budget 1 ms.
    """


@_spec
def on_position_closed(closed: ClosedPosition, ctx: HookContext) -> None:
    """Learn that a position is flat, with its realised PnL (the circuit breaker counts here).

    When: once per position, after the close is confirmed by the exchange and journaled —
    whether the host closed it, an exchange-side stop did, or it vanished in reconciliation.
    Also at start-up, before ``on_startup``: the host replays the journaled closes of the last
    48 hours, oldest first, with ``ctx.now`` set to each ``closed_at``, so plugins that judge
    history (the circuit breaker) come back in the state they were in. A plugin must therefore
    tolerate hearing a ``pos_id`` it has already heard (the built-ins ignore repeats).

    :param closed: the position as it was, exit price and instant, PnL and reason.
    :param ctx: instrument, regime and the current instant.
    :returns: nothing; answers are ignored.

    Combination: notification — every implementation is called.
    Default: nothing happens.
    On error: logged and counted; the other implementations are still called.
    Timing: once per close; budget 100 µs.
    """


@_spec
def on_order_rejected(rejection: OrderRejection, ctx: HookContext) -> None:
    """Learn that an order request failed (the circuit breaker counts reject and error rates).

    When: once per order request that OKX refused (``sCode`` ≠ 0) or that failed on the way
    (HTTP error, time-out), after it is journaled. Also at start-up, before ``on_startup``, the
    journaled rejections of the last 48 hours are replayed oldest first, like
    ``on_position_closed``.

    :param rejection: which order, when, OKX's code (or the failure's name) and message.
    :param ctx: instrument, regime and the current instant.
    :returns: nothing; answers are ignored.

    Combination: notification — every implementation is called.
    Default: nothing happens.
    On error: logged and counted; the other implementations are still called.
    Timing: once per rejection; budget 100 µs.
    """


# ---------------------------------------------------------------------------------------------
# Exit
# ---------------------------------------------------------------------------------------------


@_spec
def on_tick_exit(
    tick: Tick, positions: Sequence[Position], ctx: HookContext
) -> Mapping[str, ExitProposal] | None:
    """Propose exits for every open position of one instrument on a new tick.

    When: once per tick per instrument that has open positions — one call carrying all of them,
    not one call per position (a pluggy call costs about 1.4 µs plus 0.5 µs per implementation,
    so a call per position would spend the tick budget on dispatch).

    :param tick: the new top of book, last and mark price.
    :param positions: the instrument's open positions, each with its current ``stop``.
    :param ctx: instrument, regime and the current instant.
    :returns: a mapping ``pos_id -> StopAt(price) | CloseNow``; positions left out keep their stop.

    Combination: collect all, per position: any ``CloseNow`` wins; otherwise the most protective
    ``StopAt`` (highest for a long, lowest for a short) is taken if it is tighter than the current
    stop — a stop only ratchets toward the market. A stop at or through the executable price (the
    bid for a long, the ask for a short) becomes a close.
    Default: every position keeps its current stop.
    On error: the failing plugin's proposals are ignored (the existing stop is kept); the other
    plugins are still heard.
    Timing: hot path; budget 20 µs per call for all positions of the instrument.
    """


# ---------------------------------------------------------------------------------------------
# Notification
# ---------------------------------------------------------------------------------------------


@_spec
def notification_for(event: HostEvent, mode: str) -> Notification | None:
    """Say whether an event is worth a message, and what and to whom (a notifier plugin).

    The plugin decides; the host delivers. The answer is a :class:`~host.decisions.Notification`
    (URL, JSON body, headers, time-out) that the host POSTs from its own queue, with retries
    (exponential back-off), a rate limit and a bounded queue (``notify`` settings), never on the
    event loop's critical path and never blocking it. The event's id travels with every attempt
    (the ``Idempotency-Key`` header) so a receiver can drop a repeat: delivery is at least once.

    When: once per event, in the notifier's own task, never on the tick path — a fill of an own
    order, a position closed (with its PnL), a plugin starting to block entries (a circuit
    breaker tripping), a plugin switched off, a connection to OKX lost or restored, a position
    left without its exchange-side stop, a live run refused for its go-live stamp. Events are
    asked about in the order they happened. Not called at all when no plugin implements it, nor
    in the fast replay (on virtual time it cannot wait on a real receiver).

    :param event: kind, id, instant (aware UTC), a one-line summary and the details as text.
    :param mode: ``paper``, ``demo`` or ``live`` (a notifier may keep quiet in paper mode).
    :returns: a notification, or ``None`` for "not this one".

    Combination: collect all — every plugin's notification is delivered. Each plugin has its
    own queue: its messages arrive in the order of the events, and a receiver that hangs or
    fails holds back only that plugin's messages.
    Default: nothing is sent.
    On error: logged and counted; the other notifiers are still asked. An invalid answer (not a
    ``Notification``, a URL that is not http(s), a time-out not in (0, 300] seconds) is counted
    and dropped.
    Timing: off the hot path; budget 1 ms.
    """
