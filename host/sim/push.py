"""Private and public pushes: who is subscribed to what, and what each channel sends.

The engine reports changes (it implements :class:`~host.sim.listener.EngineListener`); this module
turns them into OKX push messages for the sessions whose subscription matches, applying the
push faults (duplicate, drop, reorder) on the way. Public market data is published from the
market state after every simulation step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson

from host.sim import balpos
from host.sim.accounts import Account, SimPosition
from host.sim.algos import ADVANCE_TYPES
from host.sim.balpos import FillsSeen
from host.sim.candles import BARS
from host.sim.depth import DepthFeed
from host.sim.engine import SimEngine
from host.sim.market import InstrumentMarket
from host.sim.orders import SimAlgo, SimOrder
from host.sim.session import PushTarget

PUBLIC_CHANNELS = frozenset(
    {"tickers", "trades", "books", "books5", "bbo-tbt", "mark-price", "funding-rate"}
)
FUNDING_REPEAT = timedelta(seconds=60)
"""OKX pushes ``funding-rate`` every 30-90 s; here every 60 s."""
PRIVATE_CHANNELS = frozenset({"orders", "positions", "account", "balance_and_position"})
CANDLE_CHANNELS = frozenset(f"candle{bar}" for bar in BARS)
ALGO_CHANNELS = frozenset({"orders-algo", "algo-advance"})
BUSINESS_CHANNELS = ALGO_CHANNELS | CANDLE_CHANNELS
LOGIN_CHANNELS = PRIVATE_CHANNELS | ALGO_CHANNELS
CANDLE_THROTTLE = timedelta(seconds=1)
"""OKX pushes a forming candle at most about once a second."""
CHANNELS_BY_PATH = {
    "public": PUBLIC_CHANNELS,
    "private": PRIVATE_CHANNELS,
    "business": BUSINESS_CHANNELS,
}
MARK_HEARTBEAT = timedelta(seconds=10)
"""``mark-price`` is pushed on change, and every 10 s when it does not change."""
IDLE_CLOSE = (4004, "No data received in 30s.")
NOTICE_64008 = "The connection will soon be closed for a service upgrade. Please reconnect."


@dataclass(slots=True)
class PushFaults:
    """Pending faults on private pushes: the next N are dropped, duplicated, reordered or damaged.

    ``corruption`` names how a damaged push is damaged (see :func:`corrupt`).
    """

    drop: int = 0
    duplicate: int = 0
    reorder: int = 0
    corrupt: int = 0
    corruption: str = "truncate"
    channel: str | None = None
    held: list[tuple[PushTarget, dict[str, Any]]] = field(default_factory=list)

    def applies(self, channel: str) -> bool:
        """Tell whether a fault is pending for a push on ``channel``."""
        pending = self.drop or self.duplicate or self.reorder or self.corrupt
        return pending > 0 and self.channel in (None, channel)


CORRUPTIONS = ("truncate", "extra_field", "missing_field", "wrong_type")


def corrupt(message: dict[str, Any], how: str) -> str:
    """A push damaged as a faulty gateway or a schema change would (FAULTS F17).

    ``truncate``: half the JSON text; ``extra_field``: an unknown key in each item;
    ``missing_field``: each item's first key removed; ``wrong_type``: each item's ``uTime`` (or
    first) value sent as a JSON number instead of a string.
    """
    text = orjson.dumps(message).decode()
    if how == "truncate":
        return text[: len(text) // 2]
    damaged = orjson.loads(text)
    for item in damaged.get("data", []):
        if not isinstance(item, dict) or not item:
            continue
        first = next(iter(item))
        if how == "extra_field":
            item["simUnknownField"] = "1"
        elif how == "missing_field":
            del item[first]
        else:
            key = "uTime" if "uTime" in item else first
            item[key] = 1234567890123
    return orjson.dumps(damaged).decode()


@dataclass(slots=True)
class _Published:
    """What was last published for an instrument, to push only on change."""

    book_seq: int = -1
    mark: str = ""
    mark_at: datetime | None = None
    funding_at: datetime | None = None


@dataclass(slots=True)
class _CandleSeen:
    """The last bar pushed on one candle channel of one instrument."""

    closed_until: datetime | None = None
    row: list[str] = field(default_factory=list)
    at: datetime | None = None


@dataclass(slots=True)
class Hub:
    """Fan-out of pushes to subscribed sessions."""

    engine: SimEngine
    now: Callable[[], datetime]
    sessions: set[PushTarget] = field(default_factory=set)
    faults: PushFaults = field(default_factory=PushFaults)
    public_frozen: bool = False
    snapshot_interval: timedelta = timedelta(seconds=5)
    idle_timeout: timedelta = timedelta(seconds=30)
    _published: dict[str, _Published] = field(default_factory=dict)
    _candles: dict[tuple[str, str], _CandleSeen] = field(default_factory=dict)
    _positions: dict[tuple[str, str, str], tuple[Account, SimPosition]] = field(
        default_factory=dict
    )
    _accounts: dict[str, Account] = field(default_factory=dict)
    _fills: dict[str, FillsSeen] = field(default_factory=dict)
    _depth: dict[str, DepthFeed] = field(default_factory=dict)
    _next_snapshot: datetime | None = None
    _routes: dict[tuple[str, str | None], list[tuple[PushTarget, dict[str, Any]]]] | None = None
    """While :meth:`publish_market` runs: the subscribers of each (channel, instId), found once
    for the whole step instead of by a scan of every session per record."""

    # -- EngineListener ----------------------------------------------------------------------

    def order_changed(self, order: SimOrder) -> None:
        """``orders`` channel push; a fill is remembered for ``balance_and_position``."""
        self._private(order.uid, "orders", order.inst_id, lambda: [order.push_record()])
        self._fills.setdefault(order.uid, FillsSeen()).add(order, self.engine.now)

    def position_changed(self, account: Account, position: SimPosition) -> None:
        """Queue a ``positions`` event push (``pos:"0"`` when closed), sent at :meth:`flush`."""
        self._positions[(account.uid, position.inst.inst_id, position.pos_side)] = (
            account,
            position,
        )

    def account_changed(self, account: Account) -> None:
        """Queue an ``account`` event push, sent at :meth:`flush`."""
        self._accounts[account.uid] = account

    def flush(self) -> None:
        """Send the queued position and account events, one per position / account.

        OKX aggregates these over ~50 ms, so a market order that walks three book levels gives
        three ``orders`` pushes but one ``positions`` push with the final size.
        """
        positions, self._positions = self._positions, {}
        accounts, self._accounts = self._accounts, {}
        fills, self._fills = self._fills, {}
        for account, position in positions.values():
            self._private(
                account.uid,
                "positions",
                position.inst.inst_id,
                lambda a=account, p=position: [self._position_record(a, p)],  # type: ignore[misc]
                event="event_update",
            )
        for account in accounts.values():
            self._private(
                account.uid,
                "account",
                None,
                lambda a=account: [a.balance_record(self.now())],  # type: ignore[misc]
                event="event_update",
            )
        moved: dict[str, list[SimPosition]] = {}
        for account, position in positions.values():
            moved.setdefault(account.uid, []).append(position)
        for uid, changed in moved.items():
            self._balance_and_position(self.engine.accounts[uid], changed, fills.get(uid))

    def _balance_and_position(
        self, account: Account, positions: list[SimPosition], fills: FillsSeen | None
    ) -> None:
        """One push per account: fills behind it, or funding (the one change without a fill)."""
        trades = list(fills.trades) if fills else []
        event = fills.event if fills and trades else "funding_fee"
        self._private(
            account.uid,
            "balance_and_position",
            None,
            lambda: [
                balpos.item(
                    event,
                    account,
                    [self._position_record(account, p) for p in positions],
                    trades,
                    self.now(),
                )
            ],
        )

    def algo_changed(self, algo: SimAlgo) -> None:
        """``orders-algo`` push, or ``algo-advance`` for a trailing stop (business connection)."""
        name = "algo-advance" if algo.ord_type in ADVANCE_TYPES else "orders-algo"
        self._private(algo.uid, name, algo.inst_id, lambda: [algo.push_record()])

    # -- subscriptions -----------------------------------------------------------------------

    def subscribed(self, session: PushTarget, arg: dict[str, Any]) -> None:
        """What OKX sends right after a subscribe ack: private snapshots, public current state."""
        channel = arg["channel"]
        if channel in LOGIN_CHANNELS:
            session.send(
                {
                    "event": "channel-conn-count",
                    "channel": channel,
                    "connCount": str(self._conn_count(session, channel)),
                    "connId": session.conn_id,
                },
                self.now(),
            )
        if channel in ("positions", "account"):
            self._snapshot(session, arg, channel)
        elif channel == "balance_and_position":
            self._balance_and_position_snapshot(session, arg)
        elif channel == "books":
            market = self.engine.markets[arg["instId"]]
            self._push_depth(market, skip=session)
            feed = self._depth[market.inst.inst_id]
            message = {"arg": arg, "action": "snapshot", "data": [feed.snapshot(market)]}
            session.send(message, self.now())
        elif channel in CANDLE_CHANNELS:
            series = self.engine.markets[arg["instId"]].candles[channel.removeprefix("candle")]
            if series.current is not None:
                session.send({"arg": arg, "data": [series.current.row()]}, self.now())
        elif channel in PUBLIC_CHANNELS and channel != "trades":
            market = self.engine.markets[arg["instId"]]
            record = _public_record(channel, market, self)
            session.send({"arg": arg, "data": [record]}, self.now())

    def _conn_count(self, session: PushTarget, channel: str) -> int:
        return sum(
            1
            for other in self.sessions
            if other.uid == session.uid
            and any(sub["channel"] == channel for sub in other.subscriptions)
        )

    # -- periodic work -----------------------------------------------------------------------

    def publish_market(self) -> None:
        """Push public channels for everything that changed since the last step.

        Nothing subscribes or unsubscribes while a step's records are pushed, so who gets what
        is worked out once for the step (:attr:`_routes`).
        """
        self._routes = {}
        for session in list(self.sessions):
            for arg in session.subscriptions:
                key = (arg["channel"], arg.get("instId"))
                self._routes.setdefault(key, []).append((session, arg))
        try:
            self._publish_markets()
        finally:
            self._routes = None

    def _publish_markets(self) -> None:
        now = self.now()
        for inst_id, market in self.engine.markets.items():
            trades = market.drain_trades()
            if self.public_frozen:
                continue
            seen = self._published.setdefault(inst_id, _Published())
            for trade in trades:
                self._public("trades", inst_id, trade.record, now)
            if market.book.seq_id != seen.book_seq:
                seen.book_seq = market.book.seq_id
                # OKX's order per connection: bbo-tbt, then books, then books5
                for channel in ("tickers", "bbo-tbt"):
                    self._public(
                        channel, inst_id, partial(_public_record, channel, market, self), now
                    )
                self._push_depth(market)
                books5 = partial(_public_record, "books5", market, self)
                self._public("books5", inst_id, books5, now)
            mark = market.mark_record(now)
            if (
                mark["markPx"] != seen.mark
                or seen.mark_at is None
                or now - seen.mark_at >= MARK_HEARTBEAT
            ):
                seen.mark, seen.mark_at = mark["markPx"], now
                self._public("mark-price", inst_id, partial(dict, mark), now)
            if seen.funding_at is None or now - seen.funding_at >= FUNDING_REPEAT:
                seen.funding_at = now
                self._public(
                    "funding-rate",
                    inst_id,
                    partial(_public_record, "funding-rate", market, self),
                    now,
                )
            self._publish_candles(market, now)

    def _publish_candles(self, market: InstrumentMarket, now: datetime) -> None:
        """Closed bars with ``confirm "1"``; the forming bar when it changed, at most 1/s."""
        inst_id = market.inst.inst_id
        for bar, series in market.candles.items():
            name = f"candle{bar}"
            if not any(self._subscribers(name, inst_id)):
                continue
            seen = self._candles.setdefault((inst_id, bar), _CandleSeen())
            for candle in series.closed:
                if seen.closed_until is None or candle.start > seen.closed_until:
                    self._public(name, inst_id, candle.row, now)
            if series.closed:
                seen.closed_until = series.closed[-1].start
            current = series.current
            due = seen.at is None or now - seen.at >= CANDLE_THROTTLE
            if current is not None and due and current.row() != seen.row:
                seen.row, seen.at = current.row(), now
                self._public(name, inst_id, partial(list, seen.row), now)

    def _push_depth(self, market: InstrumentMarket, skip: PushTarget | None = None) -> None:
        """Bring ``books`` subscribers (but ``skip``, about to get a snapshot) to the book now."""
        inst_id = market.inst.inst_id
        subscribers = [(s, arg) for s, arg in self._subscribers("books", inst_id) if s is not skip]
        if not subscribers and skip is None:
            return  # nobody follows the chain; a first subscriber starts a new one
        record = self._depth.setdefault(inst_id, DepthFeed()).update(market)
        if record is None:
            return
        for session, arg in subscribers:
            session.send({"arg": arg, "action": "update", "data": [record]}, self.now())

    def _subscribers(self, channel: str, inst_id: str) -> list[tuple[PushTarget, dict[str, Any]]]:
        if self._routes is not None:
            return self._routes.get((channel, inst_id), [])
        return [
            (session, arg)
            for session in list(self.sessions)
            for arg in session.subscriptions
            if arg["channel"] == channel and arg.get("instId") == inst_id
        ]

    def periodic(self) -> None:
        """Regular position/account snapshots (~5 s on OKX), idle closes, scheduled closes."""
        now = self.now()
        if self._next_snapshot is None or now >= self._next_snapshot:
            self._next_snapshot = now + self.snapshot_interval
            for session in list(self.sessions):
                for arg in session.subscriptions:
                    if arg["channel"] in ("positions", "account"):
                        self._snapshot(session, arg, arg["channel"])
        for session in list(self.sessions):
            if session.close_at is not None and now >= session.close_at:
                session.close_at = None
                session.abort_after_queued()
            # a silenced socket plays a half-open connection: it gets no close frame either
            elif not session.silenced and now - session.last_activity > self.idle_timeout:
                session.close(*IDLE_CLOSE)
                self.sessions.discard(session)

    def flush_held(self) -> None:
        """Release pushes held by a reorder fault, in reverse order."""
        held, self.faults.held = self.faults.held, []
        for session, message in reversed(held):
            session.send(message, self.now())

    def notice(self, kind: str | None, close_after: timedelta | None) -> int:
        """Send the ``64008`` service-upgrade notice; optionally cut the connections later."""
        count = 0
        for session in self.matching(kind):
            if session.kind == "business":
                continue  # OKX sends the notice on /public and /private only
            session.send(
                {
                    "event": "notice",
                    "code": "64008",
                    "msg": NOTICE_64008,
                    "connId": session.conn_id,
                },
                self.now(),
            )
            if close_after is not None:
                session.close_at = self.now() + close_after
            count += 1
        return count

    def matching(self, kind: str | None) -> list[PushTarget]:
        """Sessions on a path kind (``public``/``private``/``business``), or all."""
        return [s for s in self.sessions if kind is None or s.kind == kind]

    def publish_record(self, channel: str, inst_id: str, record: dict[str, Any]) -> None:
        """Push ``record`` to the channel's subscribers as it is (fault injection)."""
        self._public(channel, inst_id, partial(dict, record), self.now())

    # -- internals ---------------------------------------------------------------------------

    def _public(
        self,
        channel: str,
        inst_id: str,
        build: Callable[[], dict[str, Any] | list[str]],
        now: datetime,
    ) -> None:
        """Push ``build()`` to the channel's subscribers; built only if there are any."""
        subscribers = self._subscribers(channel, inst_id)
        if not subscribers:
            return
        record = build()
        for session, arg in subscribers:
            session.send({"arg": arg, "data": [record]}, now)

    def _private(
        self,
        uid: str,
        channel: str,
        inst_id: str | None,
        build: Callable[[], list[dict[str, Any]]],
        event: str | None = None,
    ) -> None:
        data: list[dict[str, Any]] | None = None
        for session in list(self.sessions):
            if session.uid != uid:
                continue
            for arg in session.subscriptions:
                if arg["channel"] != channel or not _matches(arg, inst_id):
                    continue
                data = data if data is not None else build()
                message: dict[str, Any] = {"arg": {**arg, "uid": uid}}
                if event is not None:
                    message["eventType"] = event
                message["data"] = data
                self._deliver(session, channel, message)

    def _deliver(self, session: PushTarget, channel: str, message: dict[str, Any]) -> None:
        faults = self.faults
        if not faults.applies(channel):
            session.send(message, self.now())
        elif faults.drop:
            faults.drop -= 1
        elif faults.duplicate:
            faults.duplicate -= 1
            session.send(message, self.now())
            session.send(message, self.now())
        elif faults.corrupt:
            faults.corrupt -= 1
            session.send(corrupt(message, faults.corruption), self.now())
        else:
            faults.reorder -= 1
            faults.held.append((session, message))
            if faults.reorder == 0:
                self.flush_held()

    def _snapshot(self, session: PushTarget, arg: dict[str, Any], channel: str) -> None:
        assert session.uid is not None  # noqa: S101 -- private channels need a login
        account = self.engine.accounts[session.uid]
        if channel == "positions":
            data = [
                self._position_record(account, p)
                for p in account.open_positions()
                if _matches(arg, p.inst.inst_id)
            ]
        else:
            data = [account.balance_record(self.now())]
        session.send(
            {
                "arg": {**arg, "uid": session.uid},
                "eventType": "snapshot",
                "curPage": 1,
                "lastPage": True,
                "data": data,
            },
            self.now(),
        )

    def _balance_and_position_snapshot(self, session: PushTarget, arg: dict[str, Any]) -> None:
        assert session.uid is not None  # noqa: S101 -- private channels need a login
        account = self.engine.accounts[session.uid]
        records = [self._position_record(account, p) for p in account.open_positions()]
        data = [balpos.item("snapshot", account, records, [], self.now())]
        session.send({"arg": {**arg, "uid": session.uid}, "data": data}, self.now())

    def _position_record(self, account: Account, position: SimPosition) -> dict[str, Any]:
        return self.engine.position_record(account, position, push=True)


def _matches(arg: dict[str, Any], inst_id: str | None) -> bool:
    """Tell whether a private subscription (``instType``, ``instId``) covers ``inst_id``."""
    if arg.get("instType", "ANY") not in ("ANY", "SWAP"):
        return False
    wanted = arg.get("instId")
    family = arg.get("instFamily")
    if inst_id is None:
        return True
    if wanted and wanted != inst_id:
        return False
    return not family or inst_id.startswith(family + "-")


def _public_record(channel: str, market: InstrumentMarket, hub: Hub) -> dict[str, Any]:
    if channel == "funding-rate":
        return hub.engine.funding.record(market.inst.inst_id, hub.now())
    if channel == "tickers":
        return market.ticker_record()
    if channel == "mark-price":
        return market.mark_record()
    depth = 5 if channel == "books5" else 1
    record = market.books_record(depth, with_seq=True)
    if channel == "books5":
        record["instId"] = market.inst.inst_id
    return record
