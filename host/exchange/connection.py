"""The host's whole link to OKX: one REST client and the public, private and business sockets.

This is what the engine holds. It wires the pieces so the rules hold together:

* every socket's frames go through one :class:`~host.exchange.feed.ExchangeFeed`, so a push seen
  on two connections (a reconnect replay, a ``64008`` hand-over) reaches the engine once;
* the private and business sockets log in with the offset to OKX's clock measured over REST;
* after a private or business socket reconnects, positions, resting orders, exchange-side stops
  and the fills since the previous resync (all of them, page by page) are fetched over REST and
  handed to ``on_resync`` — the engine reconciles them (drift), so nothing that happened during
  the gap is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp

from host.clock import Clock
from host.dedup import MarketDataWatermark, PrivateEventDedup
from host.domain import Fill
from host.exchange.api import OkxApi
from host.exchange.credibility import PriceCredibility
from host.exchange.events import AlgoOrderPush, OrderPush, PositionReport
from host.exchange.feed import EngineSink, ExchangeFeed
from host.exchange.health import ExchangeHealth
from host.exchange.rest import OkxRest
from host.exchange.ws import LinkListener, OkxSocket, Subscription
from host.settings import Settings

PUBLIC_CHANNELS = ("tickers", "trades", "bbo-tbt", "mark-price")
PRIVATE_SUBSCRIPTIONS = (
    Subscription("orders", inst_type="SWAP"),
    Subscription("positions", inst_type="SWAP"),
    Subscription("account"),
)
BUSINESS_SUBSCRIPTIONS = (Subscription("orders-algo", inst_type="SWAP"),)
RESYNC_OVERLAP = timedelta(minutes=1)
"""A resync reads fills from this long before the previous one: clocks differ, fills are late."""


@dataclass(frozen=True, slots=True)
class ExchangeSnapshot:
    """What OKX reported over REST, asked from ``taken_at`` on.

    ``taken_at`` is stamped *before* the first request, so a push that arrived while the
    requests were in flight is never mistaken for older than the snapshot. ``fills`` are the
    executions since the previous snapshot (the first: all of OKX's last three days): an order
    filled during a disconnect has left the resting orders, and its fill must still be found.
    """

    positions: tuple[PositionReport, ...]
    orders: tuple[OrderPush, ...]
    stops: tuple[AlgoOrderPush, ...]
    fills: tuple[Fill, ...]
    taken_at: datetime


Resync = Callable[[ExchangeSnapshot], Awaitable[None]]


def public_subscriptions(instruments: Sequence[str]) -> tuple[Subscription, ...]:
    """Market data the host needs per instrument: ticker, trades, best bid/ask, mark price."""
    return tuple(
        Subscription(channel, inst_id=inst_id)
        for inst_id in instruments
        for channel in PUBLIC_CHANNELS
    )


def build_feed(sink: EngineSink, settings: Settings, clock: Clock) -> ExchangeFeed:
    """The feed between the exchange's pushes and ``sink``, with the settings' filters."""
    return ExchangeFeed(
        sink,
        PrivateEventDedup.from_settings(settings.dedup, clock),
        MarketDataWatermark(),
        PriceCredibility(settings.credibility, clock),
    )


class OkxConnection:
    """REST plus sockets for one account, feeding one engine."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        clock: Clock,
        sink: EngineSink,
        on_resync: Resync,
        *,
        rest_url: str,
        ws_url: str,
        on_link: LinkListener | None = None,
    ) -> None:
        exchange = settings.exchange
        self._clock = clock
        self._on_resync = on_resync
        self._fills_since: datetime | None = None
        self.health = ExchangeHealth(clock)
        self.rest = OkxRest(
            session, exchange, settings.credentials, clock, self.health, base_url=rest_url
        )
        self.api = OkxApi(
            self.rest,
            lookup_attempts=exchange.order_lookup_attempts,
            lookup_delay_seconds=exchange.retry_backoff_seconds,
            request_timeout_seconds=exchange.request_timeout_seconds,
        )
        self.feed = build_feed(sink, settings, clock)
        base = ws_url.rstrip("/")
        self.sockets = [
            OkxSocket(
                f"{base}/ws/v5/public",
                public_subscriptions(settings.instruments),
                self.feed,
                exchange,
                clock,
                self.health,
                on_link=on_link,
            )
        ]
        if settings.credentials.api_key is not None:
            for path, subscriptions in (
                ("/ws/v5/private", PRIVATE_SUBSCRIPTIONS),
                ("/ws/v5/business", BUSINESS_SUBSCRIPTIONS),
            ):
                self.sockets.append(
                    OkxSocket(
                        base + path,
                        subscriptions,
                        self.feed,
                        exchange,
                        clock,
                        self.health,
                        credentials=settings.credentials,
                        on_reconnected=self.resync,
                        on_link=on_link,
                        server_offset=lambda: self.rest.clock_offset,
                        measure_clock=self.rest.sync_clock,
                    )
                )

    async def run(self) -> None:
        """Measure the clock offset, then keep every socket connected until :meth:`stop`."""
        await self.rest.sync_clock()
        async with asyncio.TaskGroup() as sockets:
            for socket in self.sockets:
                sockets.create_task(socket.run())

    async def wait_ready(self) -> None:
        """Return once every socket is logged in and subscribed."""
        await asyncio.gather(*(socket.ready.wait() for socket in self.sockets))

    async def round_trip(self) -> bool:
        """Ping every socket and wait for the pongs: everything sent before is delivered.

        Returns whether every pong came (``False``: a socket was down, or lost its pong).
        """
        answered = await asyncio.gather(*(socket.round_trip() for socket in self.sockets))
        return all(answered)

    async def stop(self) -> None:
        """Close every socket; :meth:`run` returns once they are closed."""
        for socket in self.sockets:
            await socket.stop()

    async def resync(self) -> None:
        """Fetch positions, resting orders, stops and fills over REST; hand them to the engine."""
        taken_at = self._clock.now()
        snapshot = ExchangeSnapshot(
            positions=await self.api.positions(),
            orders=await self.api.pending_orders(),
            stops=await self.api.pending_stops("conditional")
            + await self.api.pending_stops("move_order_stop"),
            fills=await self.api.fills(begin=self._fills_since),
            taken_at=taken_at,
        )
        self._fills_since = taken_at - RESYNC_OVERLAP
        await self._on_resync(snapshot)
