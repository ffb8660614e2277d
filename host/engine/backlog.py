"""Records the journal could not write (a full disk), written in their order once it can.

While the journal's disk is full the host keeps trading what it holds: the exchange-side stops
fire, positions close from the app, fills arrive. Their records must still reach the journal
once it has room again, or the journal says open what the exchange has closed and a restart
rebuilds the wrong account. Fills and closes are kept here and written at each reconciliation,
oldest first; both are idempotent in the journal (one row per ``tradeId``, one close per
position lifetime), so a record also written another way meanwhile costs nothing.
Order intents are never kept: an order whose intent was not journaled is not sent at all.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import deque

from host.domain import ClosedPosition, Fill
from host.journal import Journal

_log = logging.getLogger(__name__)

KEPT_LIMIT = 10_000
"""Records kept at most; past it the oldest is dropped, and said so (a disk full for days)."""


class JournalBacklog:
    """Commits fills and closes; keeps those a failing journal refused, for :meth:`write_kept`."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._kept: deque[Fill | ClosedPosition] = deque()

    @property
    def kept(self) -> int:
        """Records waiting for the journal to write again."""
        return len(self._kept)

    async def commit(self, record: Fill | ClosedPosition) -> None:
        """Commit ``record``; when the journal cannot write it, keep it for later."""
        try:
            await self._journal.commit(record)
        except sqlite3.Error as failure:
            if len(self._kept) >= KEPT_LIMIT:
                _log.error("journal backlog full: %r dropped", self._kept.popleft())
            self._kept.append(record)
            _log.error(
                "%s not journaled (%s); kept, and written once the journal can write",
                type(record).__name__,
                failure,
            )

    async def write_kept(self) -> None:
        """Write the kept records, oldest first; stop at the first the journal still refuses."""
        written = 0
        while self._kept:
            try:
                await self._journal.commit(self._kept[0])
            except sqlite3.Error:
                break
            self._kept.popleft()
            written += 1
        if written:
            _log.warning("%d records journaled late (%d still kept)", written, len(self._kept))
