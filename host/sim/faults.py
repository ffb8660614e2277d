"""Fault injection: the failures a live bot meets on OKX, on demand (FAULTS.md §7.2).

Every fault is a method here, callable in-process from a test, by name from the loopback admin
endpoint (:meth:`Faults.apply`), or at a simulated time from a schedule (:meth:`Faults.schedule`),
so a seeded schedule replays the same failures at the same moments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from host.sim.engine import SimOrderRequest
from host.sim.params import Params
from host.sim.push import CORRUPTIONS
from host.sim.source import RawTrade
from host.sim.wire import (
    POSITION_MISSING,
    RATE_LIMITED,
    REQUEST_TIMEOUT,
    SERVICE_UNAVAILABLE,
    SYSTEM_ERROR,
    SYSTEMS_BUSY,
    SimOkxError,
    ms,
)

if TYPE_CHECKING:
    from host.sim.server import Simulator

MAX_COUNT = 10_000
"""The most requests, logins or pushes one fault may hit."""
MAX_REPLY_DELAY = 60.0
"""The longest ``delay_reply`` (wall seconds: the reply really is held)."""
MAX_SHOCK_PERCENT = 90.0
"""The largest price gap one shock may make (a fall of 100 % would price the swap at zero)."""
DAY = 86_400.0

REST_FAILURES: dict[str, SimOkxError] = {
    "unavailable": SERVICE_UNAVAILABLE,
    "server_error": SYSTEM_ERROR,
    "busy": SYSTEMS_BUSY,
    "rate_limit": RATE_LIMITED,
    "request_timeout": REQUEST_TIMEOUT,
}
"""Failures answered *instead of* executing the request (F10, F14, F16)."""

AFTER_EXECUTION = frozenset({"lose_reply", "delay_reply"})
"""Failures applied *after* executing the request: the order exists, the reply is lost (F9, F18)."""

HTML_503 = "html_503"
"""A gateway error page instead of JSON (F16/F17)."""


@dataclass(slots=True)
class RestFault:
    """A pending REST failure for the next ``count`` requests whose path starts with ``path``."""

    kind: str
    path: str
    count: int
    seconds: float = 0.0
    after: int = 0
    """Matching requests to let through first: the fault hits the (after+1)-th one."""


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A fault to apply at a simulated time, or once the ledger holds ``fills`` fills."""

    name: str
    params: dict[str, Any]
    at: datetime | None = None
    fills: int | None = None

    def due(self, now: datetime, fills: int) -> bool:
        """Tell whether its trigger has been reached."""
        if self.at is not None:
            return now >= self.at
        return self.fills is not None and fills >= self.fills


class Faults:
    """The fault controls of one :class:`~host.sim.server.Simulator`."""

    ADMIN_NAMES = frozenset(
        {
            "fail_rest",
            "race_cancel_with_fill",
            "drop_sockets",
            "silence_sockets",
            "heal_sockets",
            "notice_upgrade",
            "fail_logins",
            "reject_channel",
            "duplicate_pushes",
            "drop_pushes",
            "reorder_pushes",
            "corrupt_pushes",
            "delay_logins",
            "freeze_market_data",
            "external_order",
            "external_close",
            "external_cancel_algo",
            "external_leverage",
            "adl",
            "shock_market",
            "skew_clock",
            "maintenance",
        }
    )

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self.rest: list[RestFault] = []
        self.in_maintenance = False
        self.scheduled: list[Scheduled] = []

    # -- REST --------------------------------------------------------------------------------

    def fail_rest(
        self,
        kind: str,
        path: str = "/api/v5/",
        count: int = 1,
        seconds: float = 0.0,
        after: int = 0,
    ) -> None:
        """Fail the next ``count`` REST requests under ``path``.

        ``kind``: one of :data:`REST_FAILURES` (answered without executing), ``html_503``
        (an HTML error page), ``lose_reply`` (executed, then the connection is cut before the
        answer) or ``delay_reply`` (executed, answered after ``seconds`` of wall time).
        """
        if kind not in REST_FAILURES and kind not in AFTER_EXECUTION and kind != HTML_503:
            raise ValueError(f"unknown REST fault {kind!r}")
        bounded("count", count, 1, MAX_COUNT)
        bounded("after", after, 0, MAX_COUNT)
        bounded("seconds", seconds, 0, MAX_REPLY_DELAY)
        self.rest.append(RestFault(kind, path, count, seconds, after))

    def take_rest(self, path: str) -> RestFault | None:
        """The fault that applies to a request on ``path`` now (consuming one use)."""
        for fault in self.rest:
            if not path.startswith(fault.path):
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            fault.count -= 1
            if fault.count <= 0:
                self.rest.remove(fault)
            return fault
        return None

    def race_cancel_with_fill(self, count: int = 1) -> None:
        """The next ``count`` cancels find their order filled just before (answer ``51400``)."""
        self._sim.api.cancel_fill_races += count

    # -- WebSocket ---------------------------------------------------------------------------

    def drop_sockets(self, kind: str | None = None) -> int:
        """Cut connections (all, or one path kind) without a close frame; return how many."""
        sessions = self._sim.hub.matching(kind)
        for session in sessions:
            session.abort()
        return len(sessions)

    def silence_sockets(self, kind: str | None = None) -> int:
        """Keep connections open but send nothing more, not even ``pong`` (half-open stream)."""
        sessions = self._sim.hub.matching(kind)
        for session in sessions:
            session.silenced = True
        return len(sessions)

    def heal_sockets(self) -> None:
        """Undo socket and push faults (silence, rejected channels, failing logins, frozen data)."""
        for session in self._sim.hub.sessions:
            session.silenced = False
        gateway = self._sim.gateway
        gateway.faults.rejected_channels = frozenset()
        gateway.faults.fail_logins = 0
        gateway.faults.login_delay = timedelta(0)
        self._sim.hub.public_frozen = False

    def notice_upgrade(
        self, kind: str | None = None, close_after_seconds: float | None = None
    ) -> int:
        """Send ``64008`` and, if asked, cut the connections that much simulated time later."""
        delay = None
        if close_after_seconds is not None:
            delay = timedelta(seconds=bounded("close_after_seconds", close_after_seconds, 0, DAY))
        return self._sim.hub.notice(kind, delay)

    def fail_logins(self, count: int = 1) -> None:
        """Answer the next ``count`` WebSocket logins with ``60009 Login failed.``."""
        self._sim.gateway.faults.fail_logins += int(bounded("count", count, 1, MAX_COUNT))

    def reject_channel(self, channel: str) -> None:
        """Answer subscriptions to ``channel`` with ``60018`` (one rejected in a batch)."""
        faults = self._sim.gateway.faults
        faults.rejected_channels = faults.rejected_channels | {channel}

    def duplicate_pushes(self, count: int = 1, channel: str | None = None) -> None:
        """Send each of the next ``count`` private pushes twice."""
        self._push_fault(channel).duplicate += count

    def drop_pushes(self, count: int = 1, channel: str | None = None) -> None:
        """Never send the next ``count`` private pushes (the fill happened; nobody hears)."""
        self._push_fault(channel).drop += count

    def reorder_pushes(self, count: int = 2, channel: str | None = None) -> None:
        """Hold the next ``count`` private pushes and send them in reverse order."""
        self._push_fault(channel).reorder += count

    def corrupt_pushes(
        self, count: int = 1, kind: str = "truncate", channel: str | None = None
    ) -> None:
        """Damage the next ``count`` private pushes (malformed frames, F17).

        ``kind``: ``truncate``, ``extra_field``, ``missing_field`` or ``wrong_type``.
        """
        if kind not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {kind!r}; known: {', '.join(CORRUPTIONS)}")
        faults = self._push_fault(channel)
        faults.corrupt += count
        faults.corruption = kind

    def delay_logins(self, seconds: float) -> None:
        """Answer WebSocket logins only after ``seconds`` of simulated time (F4)."""
        self._sim.gateway.faults.login_delay = timedelta(
            seconds=bounded("seconds", seconds, 0, DAY)
        )

    def freeze_market_data(self, frozen: bool = True) -> None:
        """Stop (or resume) public pushes while the market keeps trading (stale data)."""
        self._sim.hub.public_frozen = frozen

    def bogus_ticker(self, inst_id: str, **fields: str) -> None:
        """Push one ``tickers`` record with ``fields`` overridden: well-formed nonsense (F17).

        E.g. ``bidPx="1", askPx="1.1"`` on BTC, a ``last`` of ``"0"``, or a ``ts`` a century
        ahead. It is stamped a millisecond after now unless ``fields`` say otherwise, so it is the
        newest push of its stream. The market itself does not move.
        """
        record = self._sim.engine.market(inst_id).ticker_record()
        record.update({"ts": ms(self._sim.hub.now() + timedelta(milliseconds=1)), **fields})
        self._sim.hub.publish_record("tickers", inst_id, record)

    # -- outside the bot ---------------------------------------------------------------------

    def external_order(
        self, inst_id: str, side: str, sz: str, uid: str | None = None, pos_side: str = "net"
    ) -> str:
        """Open, add to or reduce a position at market "from the app"; return the ``ordId``."""
        engine = self._sim.engine
        market = engine.market(inst_id)
        order = engine.place(
            SimOrderRequest(
                uid or self._sim.config.keys[0].uid,
                market.inst,
                side,
                pos_side,
                "cross",
                "market",
                None,
                Params({"sz": sz}).positive("sz"),
                reduce_only=False,
            )
        )
        return order.ord_id

    def external_close(self, inst_id: str, uid: str | None = None, pos_side: str = "net") -> None:
        """Close a whole position at market "from the app"."""
        self._sim.engine.close_position(
            uid or self._sim.config.keys[0].uid,
            inst_id,
            pos_side,
            auto_cxl=False,
            cl_ord_id="",
            tag="",
        )

    def external_leverage(self, inst_id: str, lever: str, uid: str | None = None) -> None:
        """Change an instrument's leverage "from the app" (cross margin)."""
        account = uid or self._sim.config.keys[0].uid
        self._sim.engine.set_leverage(account, inst_id, Decimal(lever), "cross", "")

    def adl(self, inst_id: str, sz: str, uid: str | None = None, pos_side: str = "net") -> None:
        """Auto-deleverage ``sz`` of a position at the mark (an ``adl`` order nobody sent)."""
        engine = self._sim.engine
        account = engine.accounts[uid or self._sim.config.keys[0].uid]
        position = account.positions.get((inst_id, pos_side))
        if position is None or position.pos == 0:
            raise POSITION_MISSING
        engine.forced_close(account, position, min(Decimal(sz), position.size), "adl")

    def external_cancel_algo(self, inst_id: str, algo_id: str, uid: str | None = None) -> None:
        """Cancel an algo order (e.g. our stop) "from the app"."""
        self._sim.algos.cancel(uid or self._sim.config.keys[0].uid, inst_id, algo_id, "")

    def shock_market(self, inst_id: str, percent: float, sz: str = "1") -> str:
        """Gap the price by ``percent`` with one trade (stops and liquidations follow); new last.

        A generated market carries on from the new price; a replay returns to its data.
        """
        bounded("percent", percent, -MAX_SHOCK_PERCENT, MAX_SHOCK_PERCENT)
        size = Params({"sz": sz}).positive("sz")
        engine = self._sim.engine
        market = engine.market(inst_id)
        moved = market.inst.to_tick(market.last * (1 + Decimal(str(percent)) / 100))
        jump = getattr(self._sim.source, "jump", None)
        if jump is not None:
            jump(inst_id, moved)
        side = "buy" if percent > 0 else "sell"
        engine.on_market_trade(RawTrade(inst_id, side, moved, size, engine.now))
        return str(moved)

    # -- time and availability ---------------------------------------------------------------

    def skew_clock(self, seconds: float) -> None:
        """Shift the exchange's clock by ``seconds`` against the client's (``50102``/``60006``)."""
        self._sim.skew = timedelta(seconds=bounded("seconds", seconds, -DAY, DAY))

    def maintenance(self, on: bool = True) -> None:
        """Start or end maintenance: REST ``503 50001``, WS notice then cut, new sockets refused."""
        self.in_maintenance = on
        self._sim.gateway.faults.refuse_connections = on
        if on:
            self._sim.hub.notice(None, timedelta(0))

    # -- schedules and the admin endpoint ----------------------------------------------------

    def schedule(self, at: datetime, name: str, **params: Any) -> None:
        """Apply fault ``name`` with ``params`` when the simulated clock reaches ``at``."""
        self._check_name(name)
        self.scheduled.append(Scheduled(name, params, at=at))

    def after_fills(self, fills: int, name: str, **params: Any) -> None:
        """Apply fault ``name`` once ``fills`` more fills have happened (an event trigger)."""
        self._check_name(name)
        total = len(self._sim.ledger.entries("fill")) + fills
        self.scheduled.append(Scheduled(name, params, fills=total))

    def run_due(self, now: datetime) -> None:
        """Apply the scheduled faults whose trigger was reached (every step and request)."""
        fills = len(self._sim.ledger.entries("fill")) if self.scheduled else 0
        due = [item for item in self.scheduled if item.due(now, fills)]
        for item in due:
            self.scheduled.remove(item)
            self.apply(item.name, item.params)

    def apply(self, name: str, params: dict[str, Any]) -> Any:
        """Apply a fault by name (admin endpoint, schedules); unknown names are refused."""
        self._check_name(name)
        return getattr(self, name)(**params)

    def _check_name(self, name: str) -> None:
        if name not in self.ADMIN_NAMES:
            raise ValueError(
                f"unknown fault {name!r}; known: {', '.join(sorted(self.ADMIN_NAMES))}"
            )

    def _push_fault(self, channel: str | None) -> Any:
        faults = self._sim.hub.faults
        faults.channel = channel
        return faults


def bounded(name: str, value: float, low: float, high: float) -> float:
    """``value`` if it is a finite number in ``[low, high]``; else ValueError naming ``name``.

    Fault arguments come from the admin endpoint as JSON: NaN, infinity, a boolean or a huge
    number must be refused there, not hang or crash the simulator.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value
