"""De-duplication of exchange pushes: private events by identity, market data by watermark.

OKX re-sends pushes: "in exceptional cases, the same message may be sent multiple times", WebSocket
replays after a reconnect, and the positions channel repeats every open position in a snapshot
about every 5 s. The bot scalphost replaces keyed its filter on ``posId`` alone and so threw away
real updates, because OKX pushes the same ``posId`` many times with new data. Here a private event
is keyed on its *identity*, the fields that say what happened, so an exact re-send is dropped and
every real update passes:

* a **fill** is its ``(instId, tradeId)``: OKX says a ``tradeId`` is processed once per ``instId``;
* an **order** is its id with ``state``, ``accFillSz``, size and price, but not ``uTime``, because
  OKX's re-sends may carry a different ``uTime``; every step of its life (ack, amend, partial fill,
  fill, cancel) changes one of those fields and passes;
* a **position** is its exchange-owned fields including ``uTime`` (the time of the last
  adjustment, not of the push), so a periodic snapshot that repeats it is dropped, while a size
  that goes 1 → 2 → 1 passes three times: each change was a new adjustment with a new ``uTime``.

Identities are remembered in a :class:`cachetools.TTLCache` sized and timed by the ``dedup``
settings, on the injected clock's monotonic time. Remembering is bounded on purpose: a re-send
arriving after the TTL, or after ``maxsize`` newer events pushed it out, passes again. Positions and
orders are states, so applying one twice is harmless; fills are increments, so the registry must
also apply them idempotently (a persisted ``tradeId`` record), and this filter only keeps the
common case cheap.

Public market data (tickers, trades, books) arrives far too often for that: it goes through
:class:`MarketDataWatermark`, one integer comparison per push.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import assert_never

from cachetools import TTLCache

from host.clock import Clock
from host.domain import Fill, Order, Position
from host.settings import DedupSettings

PrivateEvent = Fill | Order | Position
"""What arrives on OKX's private channels once decoded (positions, orders, fills)."""

EventIdentity = tuple[Hashable, ...]
"""The fields that tell two private events apart, tagged with the kind of event."""


def event_identity(event: PrivateEvent) -> EventIdentity:
    """Return what makes ``event`` a different event from any other, and nothing more.

    A fill with the same ``trade_id`` on the same instrument is the same fill, whatever else a
    re-send says (fee, time): OKX assigns one ``tradeId`` per execution, and a later push cannot
    make it a second execution. ``trade_id`` is unique per instrument only, so ``inst_id`` is part
    of the identity.

    An order without ``ord_id`` (not yet acknowledged) is named by ``cl_ord_id``; the tag keeps
    the two id spaces apart. Size and price are included so that an amend passes; a reverted
    amend (price 100 → 101 → 100 at the same fill state within the TTL) is taken for a re-send,
    because the domain order carries neither ``uTime`` (re-sends may change it) nor ``reqId``.

    A position's host-owned fields (``origin``, ``stop``) are left out: the exchange never
    sends them, so they cannot tell two pushes apart.
    """
    if isinstance(event, Fill):
        return ("fill", event.inst_id, event.trade_id)
    if isinstance(event, Order):
        order_id = (
            ("ordId", event.ord_id) if event.ord_id is not None else ("clOrdId", event.cl_ord_id)
        )
        return (
            "order",
            event.inst_id,
            order_id,
            event.state,
            event.filled_size,
            event.size,
            event.price,
        )
    if isinstance(event, Position):
        return (
            "position",
            event.pos_id,
            event.inst_id,
            event.side,
            event.size,
            event.entry_price,
            event.entry_time,
            event.updated_at,
        )
    assert_never(event)


class PrivateEventDedup:
    """Pass each private event the first time its identity is seen; drop exact re-sends.

    The TTL runs from the *first* sighting and a duplicate does not extend it. The positions
    channel repeats unchanged positions every ~5 s, so a window renewed on every hit would never
    close for them; with a fixed window, a state wrongly taken for a re-send (two adjustments
    within one millisecond of ``uTime``) is let through again by the first snapshot after the TTL.
    """

    def __init__(self, maxsize: int, ttl_seconds: float, clock: Clock) -> None:
        self._seen: TTLCache[EventIdentity, bool] = TTLCache(
            maxsize=maxsize, ttl=ttl_seconds, timer=clock.monotonic
        )
        self.dropped = 0
        """Duplicates dropped so far, for the metrics ("dup pushes injected vs suppressed")."""

    @classmethod
    def from_settings(cls, settings: DedupSettings, clock: Clock) -> PrivateEventDedup:
        """Build the filter from the ``dedup`` section of the host's settings."""
        return cls(settings.private_cache_size, settings.private_ttl_seconds, clock)

    @property
    def maxsize(self) -> int:
        """Most identities remembered at once."""
        return int(self._seen.maxsize)

    @property
    def ttl_seconds(self) -> float:
        """Seconds an identity is remembered after its first sighting."""
        return float(self._seen.ttl)

    @property
    def remembered(self) -> int:
        """Identities held now (expired ones are purged on the next insert)."""
        return len(self._seen)

    def first_time(self, event: PrivateEvent) -> bool:
        """Return True and remember ``event`` if its identity is new; False for a duplicate."""
        identity = event_identity(event)
        if identity in self._seen:
            self.dropped += 1
            return False
        self._seen[identity] = True
        return True


class MarketDataWatermark:
    """Per-stream high-water mark for public market data: a push passes only if it is newer.

    A stream is a ``(channel, inst_id)`` pair, and its *stamp* is the number the exchange increases
    for each new push on that stream; pass the one that fits the channel:

    * ``tickers``, ``mark-price``: ``ts`` in integer milliseconds;
    * ``trades``: ``int(tradeId)``, not ``ts``: several taker orders can trade in the same
      millisecond, and a ``ts`` watermark would drop all but the first;
    * ``books``, ``books5``, ``bbo-tbt``: ``seqId``, the sequence that identifies a book state. A
      keep-alive (``prevSeqId == seqId``) carries nothing new and is dropped. Gaps, checksums and
      sequence resets (``seqId < prevSeqId``) are the order-book module's business; after a reset
      it must call :meth:`forget`, or every later push would look old.

    Equal or older stamps are dropped: re-sends, replays after a reconnect, and reordered
    pushes, which are stale by the time they arrive. This sits on the hot path, so it is one dict
    lookup and one comparison, with no logging and no I/O; callers watching for stale data
    should time the pushes *before* this filter, since a keep-alive is dropped here.
    """

    def __init__(self) -> None:
        self._marks: dict[tuple[str, str], int] = {}
        self.dropped = 0
        """Pushes dropped so far as equal or older than their stream's watermark."""

    def is_new(self, channel: str, inst_id: str, stamp: int) -> bool:
        """Return True and advance the stream's watermark iff ``stamp`` exceeds it."""
        key = (channel, inst_id)
        last = self._marks.get(key)
        if last is not None and stamp <= last:
            self.dropped += 1
            return False
        self._marks[key] = stamp
        return True

    def forget(self, channel: str, inst_id: str) -> None:
        """Drop a stream's watermark so the next stamp passes, e.g. after a sequence reset."""
        self._marks.pop((channel, inst_id), None)
