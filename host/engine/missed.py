"""Fills whose push never came: read back from OKX at each periodic reconciliation.

A fill reaches the host on the orders channel. A push can be lost (a dropped frame, a socket that
died quietly between two pings), and an outside fill, or an exchange-side stop's, is never looked
up by ``clOrdId`` the way an own order is. Reconnects and restarts read OKX's recent fills; this
makes the periodic reconciliation do so too, so a lost push costs at most one reconciliation
interval instead of staying missing until the next reconnect.

What is read is ``trade/fills`` from a little before the newest fill the previous read listed
(one interval of overlap, for a fill OKX lists a moment after its time), not from the newest
journaled fill: a later fill of another instrument, pushed in time, would otherwise hide an
earlier one whose push was lost. The
overlap costs nothing but re-reading a few fills, which the fill ledger drops by ``tradeId``. It
runs in the reconciliation's task, never on a tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from host.domain import Fill
from host.exchange.api import OkxApi
from host.exchange.errors import OkxError

_log = logging.getLogger(__name__)


class MissedFills:
    """Reads OKX's fills since the previous read and hands each to ``apply`` (oldest first)."""

    def __init__(self, api: OkxApi, apply: Callable[[Fill], None], overlap: timedelta) -> None:
        self._api = api
        self._apply = apply
        self._overlap = overlap
        self._read_until: datetime = min(api.rest.server_now(), api.rest.local_now())
        """The newest fill time OKX listed (its own clock), or the start, the earlier of OKX's
        time as measured and the host's (a wider first window only re-reads a few fills); what
        came before the host started is the start-up's catch-up."""

    async def catch_up(self) -> None:
        """Apply every fill OKX lists since the last read; on a failure, read more next time.

        The next read starts from the newest fill listed, a time OKX stamped, never from the
        host's idea of OKX's time: that idea is only as good as the last clock measurement, and
        one measured while OKX's clock was 60 s ahead (the fault suite's clock skew) kept
        every later fill whose push was lost out of the window for good ("fills match").
        """
        try:
            fills = await self._api.fills(begin=self._read_until - self._overlap)
        except OkxError as error:
            _log.warning("fills not read back (%s); the next reconciliation tries again", error)
            return
        for fill in reversed(fills):  # OKX lists them newest first
            self._apply(fill)
        if fills:
            self._read_until = max(self._read_until, fills[0].ts)
