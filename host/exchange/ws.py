"""One OKX WebSocket endpoint kept alive: login, subscriptions, keep-alive, reconnect, hand-over.

OKX bots fail here in known ways, and each has its rule below:

* **Silence is death.** A socket can stay open with nothing arriving. After
  ``ping_interval_seconds`` without a message the text ``ping`` goes out; if no ``pong`` (or any
  message) follows within ``pong_timeout_seconds`` the connection is rebuilt.
* **Login before subscribing.** On a private or business socket the subscriptions are sent only
  after OKX acknowledged the login; subscribing earlier gets ``60011`` and a silent channel.
* **Reconnect with back-off and jitter**, doubling up to a ceiling, so a fleet of bots does not
  hammer OKX in step after an outage.
* **Nothing lost in the gap.** After every reconnect the ``on_reconnected`` callback runs (the
  host takes a REST snapshot of positions and open orders and reconciles it) once the new
  subscriptions are acknowledged, so anything that happened while disconnected is caught.
* **Service upgrade (``64008``) without a gap.** OKX warns before closing a connection for an
  upgrade. A new connection is opened, logged in and subscribed while the old one still delivers;
  only then is the old one closed. The overlap may deliver a push twice: the de-duplication
  filters (:mod:`host.dedup`) exist for exactly that.

Decoded events go to ``on_events`` synchronously, in arrival order: that callback is the start of
the hot path, so it must not block.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from host.clock import Clock
from host.exchange.decode import FrameDecoder
from host.exchange.errors import OkxAuthError
from host.exchange.events import (
    AccountPush,
    AlgoOrderPush,
    ControlEvent,
    ExchangeEvent,
    MarkPricePush,
    OrderPush,
    Pong,
    PositionsPush,
    QuotePush,
    TickerPush,
    TradePush,
)
from host.exchange.health import ExchangeHealth
from host.exchange.signing import ws_login_signature
from host.settings import Credentials, ExchangeSettings

_log = logging.getLogger(__name__)

EventSink = Callable[[tuple[ExchangeEvent, ...]], None]
Reconnected = Callable[[], Awaitable[None]]

SERVICE_UPGRADE_NOTICE = "64008"
MAX_FRAME_BYTES = 16 * 1024 * 1024
"""A positions snapshot of a big account is large; OKX's own limit on frames is far below this."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One channel argument, as OKX spells it (``instId`` or ``instType`` selects what)."""

    channel: str
    inst_id: str | None = None
    inst_type: str | None = None

    def to_wire(self) -> dict[str, str]:
        """The ``args`` element of a subscribe request."""
        arg = {"channel": self.channel}
        if self.inst_id is not None:
            arg["instId"] = self.inst_id
        if self.inst_type is not None:
            arg["instType"] = self.inst_type
        return arg


class ConnectionLost(Exception):
    """The connection went silent, closed, or must be replaced; the socket reconnects."""


_CONNECTION_FAILURES = (ConnectionLost, ConnectionClosed, InvalidHandshake, OSError, TimeoutError)
"""What a reconnect can cure. An authentication error is not among them."""


class OkxSocket:
    """One endpoint (``/ws/v5/public``, ``/private`` or ``/business``) and its subscriptions.

    ``credentials`` makes it a logged-in socket (private, business). ``server_offset`` gives the
    offset to OKX's clock measured by the REST client, so the login is signed in OKX's time.
    """

    def __init__(
        self,
        url: str,
        subscriptions: Sequence[Subscription],
        on_events: EventSink,
        settings: ExchangeSettings,
        clock: Clock,
        health: ExchangeHealth,
        *,
        credentials: Credentials | None = None,
        on_reconnected: Reconnected | None = None,
        server_offset: Callable[[], timedelta] = lambda: timedelta(0),
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url = url
        self._subscriptions = tuple(subscriptions)
        self._on_events = on_events
        self._settings = settings
        self._clock = clock
        self._health = health
        self._credentials = credentials
        self._on_reconnected = on_reconnected
        self._server_offset = server_offset
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not cryptography
        self._sleep = sleep
        self.decoder = FrameDecoder()
        self.ready = asyncio.Event()
        """Set while a connection is logged in and subscribed."""
        self.connections_opened = 0
        self._stopping = False
        self._handover_requested = False
        self._connection: ClientConnection | None = None
        self._watched_streams = tuple(
            f"{sub.channel}:{sub.inst_id}"
            for sub in self._subscriptions
            if sub.channel in MARKET_DATA_CHANNELS and sub.inst_id is not None
        )
        self._ready_at = 0.0
        self._next_stream_check = 0.0

    async def run(self) -> None:
        """Connect, and reconnect after every loss, until :meth:`stop`.

        Raises :class:`OkxAuthError` when the login is refused: reconnecting cannot fix that.
        """
        failures = 0
        while not self._stopping:
            try:
                if self._connection is None:
                    self._connection = await self._open()
                    failures = 0
                    if self.connections_opened > 1:
                        await self._after_reconnect()
                self._connection = await self._serve(self._connection)
            except (
                ConnectionLost,
                ConnectionClosed,
                InvalidHandshake,
                OSError,
                TimeoutError,
            ) as lost:
                await self._drop_connection()
                if self._stopping:
                    break
                delay = self._backoff(failures)
                failures += 1
                _log.warning(
                    "%s: connection lost (%s); reconnecting in %.2f s", self.url, lost, delay
                )
                await self._sleep(delay)
        await self._drop_connection()

    async def stop(self) -> None:
        """End :meth:`run`: close the connection, which wakes the loop waiting on it."""
        self._stopping = True
        if self._connection is not None:
            await self._connection.close()

    async def _drop_connection(self) -> None:
        self.ready.clear()
        if self._connection is not None:
            await self._connection.close()
        self._connection = None

    # --- one connection ---------------------------------------------------------------------------

    async def _open(self) -> ClientConnection:
        """Connect, log in if needed, subscribe, and wait for the acknowledgements."""
        connection = await asyncio.wait_for(
            connect(self.url, ping_interval=None, max_size=MAX_FRAME_BYTES, open_timeout=None),
            self._settings.login_timeout_seconds,
        )
        try:
            self.connections_opened += 1
            if self._credentials is not None:
                await self._login(connection)
            await self._subscribe(connection)
        except BaseException:
            await connection.close()
            raise
        self.ready.set()
        self._ready_at = self._clock.monotonic()
        return connection

    async def _login(self, connection: ClientConnection) -> None:
        key, secret, passphrase = (
            self._credentials.api_key if self._credentials else None,
            self._credentials.secret_key if self._credentials else None,
            self._credentials.passphrase if self._credentials else None,
        )
        if key is None or secret is None or passphrase is None:
            raise OkxAuthError("60009", "no API credentials configured for a private socket")
        timestamp = str(int((self._clock.now() + self._server_offset()).timestamp()))
        login = {
            "apiKey": key.get_secret_value(),
            "passphrase": passphrase.get_secret_value(),
            "timestamp": timestamp,
            "sign": ws_login_signature(secret.get_secret_value(), timestamp),
        }
        await connection.send(orjson.dumps({"op": "login", "args": [login]}).decode())
        reply = await self._await_control(connection, {"login", "error"})
        if not reply.ok:
            raise OkxAuthError(reply.code, reply.msg or "login refused")

    async def _subscribe(self, connection: ClientConnection) -> None:
        if not self._subscriptions:
            return
        args = [subscription.to_wire() for subscription in self._subscriptions]
        await connection.send(orjson.dumps({"op": "subscribe", "args": args}).decode())
        for _ in args:
            reply = await self._await_control(connection, {"subscribe", "error"})
            if not reply.ok:
                _log.error("%s: subscription refused: %s %s", self.url, reply.code, reply.msg)

    async def _await_control(self, connection: ClientConnection, events: set[str]) -> ControlEvent:
        """Read until a control event of one of ``events``; pushes meanwhile are delivered."""
        deadline = self._settings.login_timeout_seconds
        async with asyncio.timeout(deadline):
            while True:
                for event in self._deliver(await connection.recv()):
                    if isinstance(event, ControlEvent) and event.event in events:
                        return event

    async def _serve(self, connection: ClientConnection) -> ClientConnection:
        """Deliver frames until the connection is lost or handed over; return the live one."""
        while not self._stopping:
            try:
                frame = await asyncio.wait_for(
                    connection.recv(), self._settings.ping_interval_seconds
                )
            except TimeoutError:
                await connection.send("ping")
                try:
                    frame = await asyncio.wait_for(
                        connection.recv(), self._settings.pong_timeout_seconds
                    )
                except TimeoutError:
                    raise ConnectionLost("no pong or data after a ping") from None
            self._deliver(frame)
            if self._handover_requested:
                self._handover_requested = False
                return await self._hand_over(connection)
            self._check_streams()
        return connection

    def _check_streams(self) -> None:
        """Reconnect when a subscribed market-data stream fell silent on a live connection.

        Checked at most once a second: this runs on every frame. A stream that never delivered
        counts from the moment the connection became ready.
        """
        now = self._clock.monotonic()
        if now < self._next_stream_check:
            return
        self._next_stream_check = now + 1.0
        limit = self._settings.market_data_stale_seconds
        for stream in self._watched_streams:
            age = self._health.message_age(stream)
            since_ready = now - self._ready_at
            silent = since_ready if age is None else min(age, since_ready)
            if silent > limit:
                raise ConnectionLost(f"{stream} silent for {silent:.1f} s")

    async def _hand_over(self, old: ClientConnection) -> ClientConnection:
        """Replace a connection OKX is about to close, without a gap (``64008``)."""
        _log.info("%s: service upgrade announced; opening a replacement connection", self.url)
        opened = asyncio.ensure_future(self._open())
        drain = asyncio.ensure_future(self._drain(old))
        try:
            new = await opened
        finally:
            drain.cancel()
        await old.close()
        self._health.record_reconnect()
        return new

    async def _drain(self, old: ClientConnection) -> None:
        """Keep delivering the old connection's frames while its replacement opens."""
        try:
            while True:
                self._deliver(await old.recv())
        except ConnectionClosed:
            return

    async def _after_reconnect(self) -> None:
        self._health.record_reconnect()
        if self._on_reconnected is not None:
            await self._on_reconnected()

    def _deliver(self, frame: str | bytes) -> tuple[ExchangeEvent, ...]:
        """Decode one frame, hand its events on, and note what it says about the connection."""
        events = self.decoder.decode(frame)
        pushes = tuple(event for event in events if not isinstance(event, Pong))
        for event in pushes:
            if isinstance(event, ControlEvent):
                if event.event == "notice" and event.code == SERVICE_UPGRADE_NOTICE:
                    self._handover_requested = True
            else:
                self._health.record_message(_channel_of(event))
        if pushes:
            self._on_events(pushes)
        return events

    def _backoff(self, failures: int) -> float:
        """Exponential back-off with full jitter in its upper half: 0.5..1 × the base delay."""
        base = min(
            self._settings.reconnect_backoff_max_seconds,
            self._settings.reconnect_backoff_seconds * 2**failures,
        )
        return float(base * (0.5 + self._rng.random() / 2))


MARKET_DATA_CHANNELS = frozenset({"tickers", "trades", "books5", "bbo-tbt", "mark-price"})
"""Channels expected to flow on a live market; silence there means a dead subscription."""

_CHANNELS: dict[type, str] = {
    OrderPush: "orders",
    PositionsPush: "positions",
    AccountPush: "account",
    AlgoOrderPush: "orders-algo",
}


def _channel_of(event: ExchangeEvent) -> str:
    """The stream a push counts against for staleness: ``channel:instId`` for market data."""
    if isinstance(event, TickerPush):
        return f"tickers:{event.tick.inst_id}"
    if isinstance(event, TradePush):
        return f"trades:{event.trade.inst_id}"
    if isinstance(event, QuotePush | MarkPricePush):
        channel = event.channel if isinstance(event, QuotePush) else "mark-price"
        return f"{channel}:{event.inst_id}"
    return _CHANNELS.get(type(event), type(event).__name__)
