"""One OKX WebSocket endpoint kept alive: login, subscriptions, keep-alive, reconnect, hand-over.

OKX bots fail here in known ways, and each has its rule below:

* **Silence is death.** A socket can stay open with nothing arriving. After
  ``ping_interval_seconds`` without a message the text ``ping`` goes out; if no ``pong`` (or any
  message) follows within ``pong_timeout_seconds`` the connection is rebuilt. A subscription can
  die on a busy connection too: OKX pushes the mark price of every instrument at least every 10 s,
  so a mark-price stream silent for ``stream_stale_seconds`` rebuilds the connection.
* **Login before subscribing.** On a private or business socket the subscriptions are sent only
  after OKX acknowledged the login; subscribing earlier gets ``60011`` and a silent channel. A
  login refused for the key, secret or passphrase stops the socket (:class:`OkxAuthError`); one
  refused for the clock, a rate limit or an internal error is retried like a lost connection,
  after the clock is measured again.
* **Reconnect with back-off and jitter**, doubling up to a ceiling, so a fleet of bots does not
  hammer OKX in step after an outage. The back-off starts over only once a connection has held
  for the ceiling's length: one that dies right after opening keeps backing off.
* **Nothing lost in the gap.** After every reconnect the ``on_reconnected`` callback runs (the
  host takes a REST snapshot of positions, orders, stops and fills and reconciles it) before the
  socket reports itself ready, so anything that happened while disconnected is caught.
* **Service upgrade (``64008``) without a gap.** OKX warns before closing a connection for an
  upgrade. A new connection is opened, logged in and subscribed while the old one still delivers;
  only then is the old one closed. If the replacement fails, the old connection is kept until OKX
  closes it. The overlap may deliver a push twice: :mod:`host.exchange.feed` drops it.
* **Frames are never logged**: a login frame carries the key and its signature, so the
  ``websockets`` library gets a logger that stays silent below WARNING whatever the host's level.

Decoded events go to ``on_events`` synchronously, in arrival order: that callback is the start of
the hot path, so it must not block.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from host.clock import Clock
from host.exchange.backoff import Backoff
from host.exchange.decode import FrameDecoder
from host.exchange.errors import OkxAuthError, OkxError, OkxRejected
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
_frame_log = logging.getLogger(__name__ + ".frames")
_frame_log.setLevel(logging.WARNING)  # never DEBUG: frames hold the login signature

EventSink = Callable[[tuple[ExchangeEvent, ...]], None]
Reconnected = Callable[[], Awaitable[None]]
LinkListener = Callable[[str, str | None], None]
"""Told ``(url, how it was lost)`` when a connection is lost, ``(url, None)`` when it is back."""

SERVICE_UPGRADE_NOTICE = "64008"
RETRYABLE_LOGIN_CODES = frozenset({"60004", "60006", "60014", "63999"})
"""Login refused for the timestamp, a rate limit or an OKX internal error: worth another try."""
CLOCK_LOGIN_CODES = frozenset({"60004", "60006"})
RETRYABLE_SUBSCRIBE_CODES = frozenset({"60014"})
"""Subscribing too often; other refusals name a channel or instrument OKX does not have."""
HEARTBEAT_CHANNEL = "mark-price"
"""OKX pushes the mark price every 200 ms on change and every 10 s regardless."""
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
"""What a reconnect can cure. An authentication error or a refused channel is not among them."""


class OkxSocket:
    """One endpoint (``/ws/v5/public``, ``/private`` or ``/business``) and its subscriptions.

    ``credentials`` makes it a logged-in socket (private, business). ``server_offset`` gives the
    offset to OKX's clock measured by the REST client, so the login is signed in OKX's time, and
    ``measure_clock`` measures it again when OKX refuses a login for its timestamp.
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
        on_link: LinkListener | None = None,
        server_offset: Callable[[], timedelta] = lambda: timedelta(0),
        measure_clock: Callable[[], Awaitable[object]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self._subscriptions = tuple(subscriptions)
        self._on_events = on_events
        self._settings = settings
        self._clock = clock
        self._health = health
        self._credentials = credentials
        self._on_reconnected = on_reconnected
        self._on_link = on_link
        self._down = False
        """Lost and not back yet: an outage is announced once, however often a retry fails."""
        self._server_offset = server_offset
        self._measure_clock = measure_clock
        self._backoff = Backoff(
            settings.reconnect_backoff_seconds,
            ceiling_seconds=settings.reconnect_backoff_max_seconds,
            jitter=rng or random.Random(),  # noqa: S311 -- jitter, not cryptography
        )
        self.decoder = FrameDecoder()
        self.ready = asyncio.Event()
        """Set while a connection is logged in, subscribed and (after a reconnect) resynced."""
        self.connections_opened = 0
        self.errors = 0
        """``error`` events OKX sent after start-up (each is logged)."""
        self._stop = asyncio.Event()
        self._connection: ClientConnection | None = None
        self._pongs: deque[asyncio.Future[bool]] = deque()
        """A waiter per ``ping`` sent and not answered yet, oldest first (OKX answers in order)."""
        self._opening: ClientConnection | None = None
        self._handover_requested = False
        self._lost_reason: str | None = None
        self._heartbeats = tuple(
            f"{HEARTBEAT_CHANNEL}:{sub.inst_id}"
            for sub in self._subscriptions
            if sub.channel == HEARTBEAT_CHANNEL and sub.inst_id is not None
        )
        self._ready_at: float | None = None
        self._next_stream_check = 0.0

    async def run(self) -> None:
        """Connect, and reconnect after every loss, until :meth:`stop`.

        Raises :class:`OkxAuthError` when the login is refused for the credentials and
        :class:`OkxRejected` when OKX refuses a subscription: reconnecting cannot fix either.
        Whatever ends it (including cancellation), the connection is closed.
        """
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    if self._connection is None:
                        self._connection = await self._open()
                        if self.connections_opened > 1:
                            await self._after_reconnect()
                        self._ready_at = self._clock.monotonic()
                        self.ready.set()
                        self._link_changed(None)
                    self._connection = await self._serve(self._connection)
                except _CONNECTION_FAILURES as lost:
                    if self._held_long_enough():
                        failures = 0
                    await self._drop_connection()
                    if self._stop.is_set():
                        break
                    delay = self._backoff.delay(failures)
                    failures += 1
                    _log.warning("%s: connection lost (%s); retry in %.2f s", self.url, lost, delay)
                    self._link_changed(str(lost) or type(lost).__name__)
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            await self._drop_connection()

    async def round_trip(self) -> bool:
        """Send a ``ping`` and wait for its ``pong``; return whether it came.

        OKX answers in order, so once the pong is here every frame sent before it has been
        delivered: a replay driving a simulated clock uses this as a barrier before moving time.
        Returns at once when not connected, and when the connection is lost or handed over
        meanwhile (the reconnect's REST resync then stands in for what the barrier would have
        waited for). A round trip that ends without its pong (timed out, canceled) withdraws
        its waiter: left in line, it would take the next pong, and every later round trip
        would wait out its time-out for a pong already taken (found by the fault suite: after
        one pong lost in a service-upgrade hand-over, every frame it fed took 10 s).
        """
        connection = self._connection
        if connection is None or not self.ready.is_set():
            return False
        pong = self._expect_pong()
        try:
            with suppress(ConnectionClosed, TimeoutError):
                await connection.send("ping")
                return await asyncio.wait_for(pong, self._settings.pong_timeout_seconds)
            return False
        finally:
            if pong in self._pongs:
                self._pongs.remove(pong)

    def _expect_pong(self) -> asyncio.Future[bool]:
        """Queue a waiter for the answer to a ``ping`` about to be sent."""
        pong: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pongs.append(pong)
        return pong

    def _release_pongs(self) -> None:
        """Release every round trip waiting on a connection that is gone (``False``)."""
        while self._pongs:
            waiter = self._pongs.popleft()
            if not waiter.done():
                waiter.set_result(False)

    async def stop(self) -> None:
        """End :meth:`run`: close the connection (or the one being opened) to wake it."""
        self._stop.set()
        for connection in (self._connection, self._opening):
            if connection is not None:
                await connection.close()

    async def _drop_connection(self) -> None:
        self.ready.clear()
        self._release_pongs()
        if self._connection is not None:
            await self._connection.close()
        self._connection = None

    def _link_changed(self, lost: str | None) -> None:
        """Tell the listener the first loss of an outage, and the end of one."""
        if self._on_link is None or self._down == (lost is not None):
            return
        self._down = lost is not None
        self._on_link(self.url, lost)

    def _held_long_enough(self) -> bool:
        """Whether the lost connection held long enough for the back-off to start over."""
        if self._ready_at is None:
            return False
        held = self._clock.monotonic() - self._ready_at
        self._ready_at = None
        return held >= self._settings.reconnect_backoff_max_seconds

    # --- one connection ---------------------------------------------------------------------------

    async def _open(self) -> ClientConnection:
        """Connect, log in if needed, subscribe, and wait for the acknowledgements."""
        connection = await asyncio.wait_for(
            connect(
                self.url,
                ping_interval=None,
                max_size=MAX_FRAME_BYTES,
                open_timeout=None,
                logger=_frame_log,
            ),
            self._settings.login_timeout_seconds,
        )
        self._opening = connection
        try:
            self.connections_opened += 1
            if self._credentials is not None:
                await self._login(connection)
            await self._subscribe(connection)
            if self._stop.is_set():
                raise ConnectionLost("stopping")
        except BaseException:
            await connection.close()
            raise
        finally:
            self._opening = None
        return connection

    async def _login(self, connection: ClientConnection) -> None:
        credentials = self._credentials
        if (
            credentials is None
            or credentials.api_key is None
            or credentials.secret_key is None
            or credentials.passphrase is None
        ):
            raise OkxAuthError("60009", "no API credentials configured for a private socket")
        timestamp = str(int((self._clock.now() + self._server_offset()).timestamp()))
        login = {
            "apiKey": credentials.api_key.get_secret_value(),
            "passphrase": credentials.passphrase.get_secret_value(),
            "timestamp": timestamp,
            "sign": ws_login_signature(credentials.secret_key.get_secret_value(), timestamp),
        }
        await connection.send(orjson.dumps({"op": "login", "args": [login]}).decode())
        reply = await self._await_control(connection, {"login", "error"})
        if reply.ok:
            return
        if reply.code in CLOCK_LOGIN_CODES:
            await self._measure_clock_again()
        if reply.code in RETRYABLE_LOGIN_CODES:
            raise ConnectionLost(f"login refused for now: OKX {reply.code} {reply.msg}")
        raise OkxAuthError(reply.code, reply.msg or "login refused")

    async def _measure_clock_again(self) -> None:
        """Measure OKX's clock after a login refused for its timestamp, before the next login.

        Measuring is a REST call, which can itself be refused for a while (``50011`` rate limit,
        ``503``): that is a reason to log in again later, after the back-off, not to give up the
        socket (found by the fault suite: a skewed exchange clock, then a rate-limited
        ``public/time``, ended the session).
        """
        if self._measure_clock is not None:
            await _lost_on_okx_error(self._measure_clock, "OKX's clock could not be measured")

    async def _subscribe(self, connection: ClientConnection) -> None:
        if not self._subscriptions:
            return
        args = [subscription.to_wire() for subscription in self._subscriptions]
        await connection.send(orjson.dumps({"op": "subscribe", "args": args}).decode())
        for _ in args:
            reply = await self._await_control(connection, {"subscribe", "error"})
            if reply.ok:
                continue
            if reply.code in RETRYABLE_SUBSCRIBE_CODES:
                raise ConnectionLost(f"subscription refused for now: OKX {reply.code}")
            raise OkxRejected(reply.code, f"subscription refused: {reply.msg}", path=self.url)

    async def _await_control(self, connection: ClientConnection, events: set[str]) -> ControlEvent:
        """Read until a control event of one of ``events``; pushes meanwhile are delivered."""
        async with asyncio.timeout(self._settings.login_timeout_seconds):
            while True:
                for event in self._deliver(await connection.recv()):
                    if isinstance(event, ControlEvent) and event.event in events:
                        return event

    async def _serve(self, connection: ClientConnection) -> ClientConnection:
        """Deliver frames until the connection is lost or handed over; return the live one."""
        while not self._stop.is_set():
            try:
                frame = await asyncio.wait_for(
                    connection.recv(), self._settings.ping_interval_seconds
                )
            except TimeoutError:
                self._expect_pong()  # its pong is not a round trip's
                await connection.send("ping")
                try:
                    frame = await asyncio.wait_for(
                        connection.recv(), self._settings.pong_timeout_seconds
                    )
                except TimeoutError:
                    raise ConnectionLost("no pong or data after a ping") from None
            self._deliver(frame)
            if self._lost_reason is not None:
                reason, self._lost_reason = self._lost_reason, None
                raise ConnectionLost(reason)
            if self._handover_requested:
                self._handover_requested = False
                return await self._hand_over(connection)
            self._check_heartbeats()
        return connection

    def _check_heartbeats(self) -> None:
        """Reconnect when a mark-price stream fell silent on an otherwise live connection.

        Checked at most once a second: this runs on every frame. A stream that never delivered
        counts from the moment the connection became ready.
        """
        now = self._clock.monotonic()
        if now < self._next_stream_check or self._ready_at is None:
            return
        self._next_stream_check = now + 1.0
        since_ready = now - self._ready_at
        for stream in self._heartbeats:
            age = self._health.message_age(stream)
            silent = since_ready if age is None else min(age, since_ready)
            if silent > self._settings.stream_stale_seconds:
                raise ConnectionLost(f"{stream} silent for {silent:.1f} s")

    async def _hand_over(self, old: ClientConnection) -> ClientConnection:
        """Replace a connection OKX is about to close, without a gap (``64008``)."""
        _log.info("%s: service upgrade announced; opening a replacement connection", self.url)
        drain = asyncio.ensure_future(self._drain(old))
        try:
            new = await self._open()
        except _CONNECTION_FAILURES as failed:
            _log.warning(
                "%s: replacement failed (%s); keeping the old connection", self.url, failed
            )
            return old
        finally:
            drain.cancel()
            with suppress(asyncio.CancelledError):
                await drain
        await old.close()
        self._release_pongs()  # pings sent on the old connection are answered there or never
        self._health.record_reconnect()
        return new

    async def _drain(self, old: ClientConnection) -> None:
        """Keep delivering the old connection's frames while its replacement opens."""
        with suppress(ConnectionClosed):
            while True:
                self._deliver(await old.recv())

    async def _after_reconnect(self) -> None:
        """Count the reconnect and let the host resync; a failed resync is another lost link."""
        self._health.record_reconnect()
        if self._on_reconnected is not None:
            await _lost_on_okx_error(self._on_reconnected, "resync after reconnect failed")

    def _deliver(self, frame: str | bytes) -> tuple[ExchangeEvent, ...]:
        """Decode one frame, hand its pushes on, and note what it says about the connection."""
        events = self.decoder.decode(frame)
        if events and isinstance(events[0], Pong) and self._pongs:
            waiter = self._pongs.popleft()
            if not waiter.done():
                waiter.set_result(True)
        pushes = tuple(event for event in events if not isinstance(event, Pong))
        for event in pushes:
            if isinstance(event, ControlEvent):
                self._note_control(event)
            else:
                self._health.record_message(stream_of(event))
        if pushes:
            self._on_events(pushes)
        return events

    def _note_control(self, event: ControlEvent) -> None:
        if event.event == "notice" and event.code == SERVICE_UPGRADE_NOTICE:
            self._handover_requested = True
        elif event.event == "channel-conn-count-error":
            # OKX acknowledged the subscription, then ended it: too many connections.
            self._lost_reason = f"OKX ended the {event.channel} subscription (connection count)"
        elif event.event == "error" and self.ready.is_set():
            self.errors += 1
            _log.error("%s: OKX error %s: %s", self.url, event.code, event.msg)


def stream_of(event: ExchangeEvent) -> str:
    """The stream a push counts against for staleness: ``channel:instId`` for market data.

    Private pushes count against their channel (``orders``, ``positions``...).
    """
    match event:
        case MarkPricePush():
            return f"{HEARTBEAT_CHANNEL}:{event.inst_id}"
        case QuotePush():
            return f"{event.channel}:{event.inst_id}"
    return _STREAM_NAMES.get(type(event), type(event).__name__)


_STREAM_NAMES: dict[type, str] = {
    TickerPush: "tickers",
    TradePush: "trades",
    OrderPush: "orders",
    PositionsPush: "positions",
    AccountPush: "account",
    AlgoOrderPush: "orders-algo",
}


async def _lost_on_okx_error(call: Callable[[], Awaitable[object]], failing: str) -> None:
    """Await ``call``; an OKX error other than a refused authentication is a lost link.

    A REST call a socket makes between connecting and serving (a resync, a clock measurement)
    can be refused for a while (rate limit, maintenance): the socket's back-off and reconnect
    retry it, where letting the error through would end the socket and the session.
    """
    try:
        await call()
    except OkxAuthError:
        raise
    except OkxError as failed:
        raise ConnectionLost(f"{failing}: {failed}") from None
