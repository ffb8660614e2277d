"""The dispatch facade: the only caller of ``pm.hook``, one typed method per hook.

Each method applies the combination rule written in :mod:`host.hookspecs`, validates every answer
(Decimal prices, aware UTC instants, the right decision type) and turns a failing or invalid plugin
into the safe outcome: an entry is vetoed, an existing stop is kept. Trading invariants live here,
not in a plugin somebody could disable. Answers arrive tagged with their plugin's name
(:mod:`host.plugin_guard`), so every decision can say which plugin made it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeGuard, TypeVar

from host.clock import is_aware_utc
from host.decisions import (
    Accept,
    Adopt,
    CancelOrder,
    CloseNow,
    CrossSpread,
    DriftResolution,
    EntryPlan,
    ExitProposal,
    ExpiryAction,
    Flatten,
    Notification,
    RepriceOrder,
    StopAt,
    Veto,
)
from host.domain import (
    Bar,
    ClosedPosition,
    Drift,
    DriftKind,
    Fill,
    HostEvent,
    Order,
    OrderRejection,
    Position,
    PositionSide,
    Regime,
    Signal,
    Tick,
)
from host.plugin_guard import Answer, CountedPluginManager, DirectCall, FaultLog, PluginFault

if TYPE_CHECKING:
    import pluggy

    from host.context import HookContext, HostInfo
    from host.settings import HookSettings

T = TypeVar("T")

MAX_NOTIFICATION_TIMEOUT_SECONDS = 300
"""The longest one delivery attempt may wait for its receiver."""

HOST = "host"
"""Who decided when no plugin did: the host's default, or the initial stop it sets itself."""


class PluginStartupError(RuntimeError):
    """A plugin failed in ``on_startup``; the host must not trade."""


@dataclass(frozen=True, slots=True)
class SignalVerdict:
    """Whether an entry signal may go on, and who vetoed it and why."""

    vetoes: tuple[tuple[str, str], ...]

    @property
    def allowed(self) -> bool:
        """True when no plugin vetoed."""
        return not self.vetoes


@dataclass(frozen=True, slots=True)
class MoveStop:
    """Tighten a position's stop to ``price``, as proposed by ``plugin``."""

    price: Decimal
    plugin: str
    reason: str


@dataclass(frozen=True, slots=True)
class Close:
    """Close a position, as decided by ``plugin``."""

    plugin: str
    reason: str


ExitDecision = MoveStop | Close


@dataclass(frozen=True, slots=True)
class FirstAnswer(Generic[T]):
    """The outcome of a first-answer hook: the first valid answer and who gave it.

    ``value`` is ``None`` when no plugin answered validly; ``skipped`` counts the plugins that
    failed or answered something invalid on the way (each was passed over, the next one asked).
    """

    value: T | None
    plugin: str
    skipped: int


@dataclass(frozen=True, slots=True)
class DriftDecision:
    """How a drift is resolved and by which plugin (:data:`HOST` for the host's fallback)."""

    resolution: DriftResolution
    plugin: str


class HookDispatch:
    """Typed facade over ``pm.hook``; see each hook's contract in :mod:`host.hookspecs`."""

    def __init__(self, pm: CountedPluginManager, policy: HookSettings, faults: FaultLog) -> None:
        self._pm = pm
        self._hook: Any = pm.hook
        self._tick_exit = DirectCall(pm, "on_tick_exit")  # the two hooks of every tick
        self._signals = DirectCall(pm, "generate_signals")
        self._faults = faults
        self._regime_fallback = policy.regime_fallback
        self._limit_order_wait = policy.limit_order_wait

    # --- life cycle ---------------------------------------------------------------------------

    def on_startup(self, host: HostInfo) -> None:
        """Notify every plugin; raise :class:`PluginStartupError` if any of them failed."""
        failed = [r.plugin for r in self._hook.on_startup(host=host) if isinstance(r, PluginFault)]
        if failed:
            raise PluginStartupError(f"plugins failed to start: {', '.join(failed)}")

    def on_shutdown(self, host: HostInfo) -> None:
        """Notify every plugin; failures are already logged and counted by the guard."""
        self._hook.on_shutdown(host=host)

    # --- market -------------------------------------------------------------------------------

    def detect_regime(self, bars: Sequence[Bar], ctx: HookContext) -> Regime:
        """First valid answer, else the configured fallback regime."""
        regime = self._first("detect_regime", _is_regime, bars=bars, ctx=ctx).value
        return regime if regime is not None else self._regime_fallback

    def generate_signals(self, tick: Tick, ctx: HookContext) -> tuple[Signal, ...]:
        """Every plugin's valid signals, in call order, each stamped with its plugin's name."""
        signals: list[Signal] = []
        for answer in self._answers(self._signals(tick, ctx)):
            values = answer.value if isinstance(answer.value, list | tuple) else [answer.value]
            for signal in values:
                if _valid_signal(signal, tick.inst_id):
                    signals.append(replace(signal, source=answer.plugin))
                else:
                    self._invalid(answer.plugin, "generate_signals", signal)
        return tuple(signals)

    # --- entry --------------------------------------------------------------------------------

    def on_signal(self, signal: Signal, ctx: HookContext) -> SignalVerdict:
        """Collect every answer; any veto, failure or invalid answer blocks the entry."""
        vetoes: list[tuple[str, str]] = []
        for result in self._hook.on_signal(signal=signal, ctx=ctx):
            if isinstance(result, PluginFault):
                vetoes.append((result.plugin, f"plugin failed: {result.error!r}"))
            elif isinstance(result.value, Veto):
                vetoes.append((result.plugin, result.value.reason))
            else:
                self._invalid(result.plugin, "on_signal", result.value)
                vetoes.append((result.plugin, "invalid answer"))
        return SignalVerdict(tuple(sorted(vetoes)))

    def plan_entry(self, signal: Signal, tick: Tick, ctx: HookContext) -> EntryPlan | None:
        """First valid answer, else a post-only limit at the touch.

        ``None`` (no entry) when a plugin failed or answered invalidly and none after it answered.
        """
        first = self._first("plan_entry", _valid_entry_plan, signal=signal, tick=tick, ctx=ctx)
        if first.value is not None or first.skipped:
            return first.value
        touch = tick.bid if signal.side is PositionSide.LONG else tick.ask
        return EntryPlan(price=touch, post_only=True)

    def limit_order_ttl(self, order: Order, ctx: HookContext) -> timedelta:
        """First valid answer, else the configured default; never past ``ctx.regime``'s maximum."""
        ttl = self._first("limit_order_ttl", _positive_timedelta, order=order, ctx=ctx).value
        return self._limit_order_wait(ctx.regime, ttl)

    def on_limit_expired(self, order: Order, tick: Tick, ctx: HookContext) -> ExpiryAction:
        """First valid answer, else cancel the rest of the order."""
        action = self._first(
            "on_limit_expired", _valid_expiry_action, order=order, tick=tick, ctx=ctx
        ).value
        return action if action is not None else CancelOrder("no valid limit-order policy answer")

    # --- position life ------------------------------------------------------------------------

    def on_fill(self, fill: Fill, position: Position | None, ctx: HookContext) -> None:
        """Notify every plugin; each failure is logged and counted, the others still run."""
        self._hook.on_fill(fill=fill, position=position, ctx=ctx)

    def on_position_closed(self, closed: ClosedPosition, ctx: HookContext) -> None:
        """Notify every plugin; each failure is logged and counted, the others still run."""
        self._hook.on_position_closed(closed=closed, ctx=ctx)

    def on_order_rejected(self, rejection: OrderRejection, ctx: HookContext) -> None:
        """Notify every plugin; each failure is logged and counted, the others still run."""
        self._hook.on_order_rejected(rejection=rejection, ctx=ctx)

    def on_position_drift(self, drift: Drift, ctx: HookContext) -> DriftDecision:
        """First valid answer; a failing or invalid plugin is skipped and the next one asked."""

        def resolves(value: object) -> TypeGuard[DriftResolution]:
            return _valid_drift_resolution(value, drift)

        first = self._first("on_position_drift", resolves, drift=drift, ctx=ctx)
        if first.value is not None:
            return DriftDecision(first.value, first.plugin)
        fallback: DriftResolution = (
            Accept("position is gone from the exchange")
            if drift.kind is DriftKind.REMOVE
            else Flatten("no plugin resolved the drift; flattening rather than leaving it bare")
        )
        return DriftDecision(fallback, HOST)

    # --- notification -------------------------------------------------------------------------

    def has_notifiers(self) -> bool:
        """Whether any plugin implements ``notification_for`` (else no event is worth building)."""
        return bool(self._hook.notification_for.get_hookimpls())

    def notification_for(self, event: HostEvent, mode: str) -> tuple[tuple[str, Notification], ...]:
        """Every plugin's valid notification for ``event``, with the plugin's name."""
        wanted: list[tuple[str, Notification]] = []
        for answer in self._answers(self._hook.notification_for(event=event, mode=mode)):
            if _valid_notification(answer.value):
                wanted.append((answer.plugin, answer.value))
            else:
                self._invalid(answer.plugin, "notification_for", answer.value)
        return tuple(wanted)

    # --- exit ---------------------------------------------------------------------------------

    def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitDecision]:
        """Reduce every plugin's proposals to one decision per position that must change.

        A close beats a stop; among stops the most protective wins (ties go to the plugin whose
        name sorts first, so the result never depends on registration order); a stop that is not
        tighter than the current one is dropped; a stop through the executable price is a close.
        """
        results = self._tick_exit(tick, positions, ctx)
        if not results:
            return {}
        by_id = {position.pos_id: position for position in positions}
        closes: dict[str, Close] = {}
        stops: dict[str, tuple[StopAt, str]] = {}
        for result in results:
            if not isinstance(result, Answer):
                continue
            plugin, proposals = result.plugin, result.value
            if not isinstance(proposals, Mapping):
                self._invalid(plugin, "on_tick_exit", proposals)
                continue
            for pos_id, proposal in proposals.items():
                position = by_id.get(pos_id)
                if position is None or not _valid_exit_proposal(proposal):
                    self._invalid(plugin, "on_tick_exit", (pos_id, proposal))
                elif isinstance(proposal, CloseNow):
                    _keep_first_by_name(closes, pos_id, Close(plugin, proposal.reason))
                elif _tighter(position.side, proposal.price, position.stop):
                    best = stops.get(pos_id)
                    if best is None or _beats(position.side, proposal, plugin, best):
                        stops[pos_id] = (proposal, plugin)
        decisions: dict[str, ExitDecision] = dict(closes)
        for pos_id, (stop, plugin) in stops.items():
            if pos_id not in closes:
                decisions[pos_id] = _stop_decision(by_id[pos_id].side, stop, plugin, tick)
        return decisions

    # --- helpers ------------------------------------------------------------------------------

    def _answers(self, results: list[Answer | PluginFault]) -> list[Answer]:
        """The real answers of a collect-all call; faults were logged and counted by the guard."""
        return [result for result in results if isinstance(result, Answer)]

    def _first(
        self, hook: str, valid: Callable[[object], TypeGuard[T]], **arguments: object
    ) -> FirstAnswer[T]:
        """Ask a first-answer hook until a plugin answers validly.

        pluggy stops a ``firstresult`` call at the first non-``None`` result, and a guarded
        failure is one: left alone, a raising plugin would hide every plugin behind it, built-in
        defaults included. So a plugin that fails or answers invalidly is passed over and the
        hook asked again without it (faults are counted by the guard; invalid answers here).
        """
        caller = getattr(self._hook, hook)
        passed_over: list[object] = []
        skipped = 0
        while True:
            implementations = caller.get_hookimpls()  # before the call: it may switch one off
            result = caller(**arguments)
            if result is None:
                return FirstAnswer(None, HOST, skipped)
            if isinstance(result, Answer):
                if valid(result.value):
                    return FirstAnswer(result.value, result.plugin, skipped)
                self._invalid(result.plugin, hook, result.value)
            skipped += 1
            passed_over.extend(_asked_until(implementations, result.plugin))
            caller = self._pm.subset_hook_caller(hook, remove_plugins=passed_over)

    def _invalid(self, plugin: str, hook: str, value: object) -> None:
        self._faults.record(plugin, hook, f"invalid answer {value!r}")


def _asked_until(implementations: Sequence[pluggy.HookImpl], plugin: str) -> list[object]:
    """The plugins a first-answer call asked, up to and including ``plugin``.

    pluggy calls the last implementation of its list first, so those are ``plugin``'s and every
    one after it: asking again without them never asks a plugin twice about one event.
    """
    names = [implementation.plugin_name for implementation in implementations]
    return [implementation.plugin for implementation in implementations[names.index(plugin) :]]


# --- validation -------------------------------------------------------------------------------


def _is_regime(value: object) -> TypeGuard[Regime]:
    return isinstance(value, Regime)


def _valid_price(value: object) -> TypeGuard[Decimal]:
    return isinstance(value, Decimal) and value.is_finite() and value > 0


def _valid_signal(signal: object, inst_id: str) -> TypeGuard[Signal]:
    return (
        isinstance(signal, Signal)
        and signal.inst_id == inst_id
        and isinstance(signal.side, PositionSide)
        and is_aware_utc(signal.created_at)
        and (signal.reference_price is None or _valid_price(signal.reference_price))
    )


def _valid_entry_plan(plan: object) -> TypeGuard[EntryPlan]:
    return isinstance(plan, EntryPlan) and _valid_price(plan.price)


def _positive_timedelta(value: object) -> TypeGuard[timedelta]:
    return isinstance(value, timedelta) and value > timedelta(0)


def _valid_expiry_action(action: object) -> TypeGuard[ExpiryAction]:
    if isinstance(action, RepriceOrder):
        return _valid_price(action.price)
    return isinstance(action, CancelOrder | CrossSpread)


def _valid_exit_proposal(proposal: object) -> TypeGuard[ExitProposal]:
    return isinstance(proposal, CloseNow) or (
        isinstance(proposal, StopAt) and _valid_price(proposal.price)
    )


def _valid_notification(value: object) -> TypeGuard[Notification]:
    """An http(s) URL, a JSON object body, a positive time-out of at most five minutes."""
    return (
        isinstance(value, Notification)
        and isinstance(value.url, str)
        and value.url.startswith(("http://", "https://"))
        and isinstance(value.body, Mapping)
        and isinstance(value.timeout_seconds, int | float)
        and 0 < value.timeout_seconds <= MAX_NOTIFICATION_TIMEOUT_SECONDS
    )


def _valid_drift_resolution(resolution: object, drift: Drift) -> TypeGuard[DriftResolution]:
    """An *add* must be protected or flattened; a *remove* can only be accepted."""
    if drift.kind is DriftKind.REMOVE:
        return isinstance(resolution, Accept)
    if isinstance(resolution, Adopt):
        return _valid_price(resolution.stop) and _protects(drift, resolution.stop)
    return isinstance(resolution, Flatten) or (
        isinstance(resolution, Accept) and drift.acceptable_as_is
    )


def _protects(drift: Drift, stop: Decimal) -> bool:
    """A stop for an adopted position must sit on the losing side of the current mark."""
    position = drift.exchange
    if position is None or drift.mark_price is None:
        return position is not None
    if position.side is PositionSide.LONG:
        return stop < drift.mark_price
    return stop > drift.mark_price


# --- exit reduction ---------------------------------------------------------------------------


def _keep_first_by_name(closes: dict[str, Close], pos_id: str, close: Close) -> None:
    current = closes.get(pos_id)
    if current is None or close.plugin < current.plugin:
        closes[pos_id] = close


def _tighter(side: PositionSide, price: Decimal, reference: Decimal | None) -> bool:
    """Whether a stop at ``price`` protects more than one at ``reference`` (none: always)."""
    if reference is None:
        return True
    return price > reference if side is PositionSide.LONG else price < reference


def _beats(side: PositionSide, stop: StopAt, plugin: str, best: tuple[StopAt, str]) -> bool:
    """Most protective wins; an equal level goes to the plugin whose name sorts first."""
    best_stop, best_plugin = best
    if stop.price == best_stop.price:
        return plugin < best_plugin
    return _tighter(side, stop.price, best_stop.price)


def _stop_decision(side: PositionSide, stop: StopAt, plugin: str, tick: Tick) -> ExitDecision:
    """A stop at or through the executable price (bid for a long, ask for a short) is a close."""
    crossed = stop.price >= tick.bid if side is PositionSide.LONG else stop.price <= tick.ask
    if crossed:
        return Close(plugin, f"stop {stop.price} already crossed: {stop.reason}")
    return MoveStop(stop.price, plugin, stop.reason)
