"""The journal as the event loop sees it: hand a record over and go on, or await its commit.

Two verbs, one per durability need:

* :meth:`Journal.write` — fire and forget. The record joins the writer thread's next batch; the
  loop does not wait at all. For records whose loss in a crash is harmless or recoverable from
  the exchange (signals, outcomes, balances, errors).
* :meth:`Journal.commit` — ``await`` returns once the record is committed to the file. For the
  records a restart depends on: an order intent **before** its order is sent (so a crash can
  never leave an order on the exchange that the journal does not know), fills, positions and
  their stops, closes. It answers whether the record was new (a duplicated fill is ``False``).

:meth:`Journal.flush` waits until everything handed over so far is committed (for shutdown).
The restart queries run on the writer thread too, after every earlier write.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from host.clock import Clock
from host.domain import ClosedPosition, OrderRejection
from host.durations import DurationHistogram
from host.journal import queries
from host.journal.errors import JournalOpenError
from host.journal.records import IntegrityReport, OpenPosition, OrderIntent, Record
from host.journal.store import writer_for
from host.journal.writer import Done, InlineWriter, WriteGuard, WriterThread
from host.settings import JournalSettings

T = TypeVar("T")

_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class JournalClosedError(RuntimeError):
    """A record was handed to a journal that has been closed."""


def journal_path(settings: JournalSettings, account: str) -> Path:
    """The journal file of one account: ``<directory>/<account>.sqlite3``.

    ``account`` names the account (e.g. ``paper``, or the OKX ``uid`` with the mode); it must be
    a plain file name, so no account can write outside the journal directory.
    """
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"account name {account!r} is not a plain file name")
    return settings.directory / f"{account}.sqlite3"


class Journal:
    """One account's journal file, written by its own thread. Create with :meth:`open`."""

    def __init__(self, writer: WriterThread, path: Path) -> None:
        self._writer = writer
        self._path = path
        self._closed = False

    @classmethod
    async def open(
        cls, path: Path, clock: Clock, settings: JournalSettings, *, inline: bool = False
    ) -> Journal:
        """Open (creating and migrating as needed) the journal at ``path``.

        Raises a :class:`~host.journal.JournalOpenError`: a
        :class:`~host.journal.JournalVersionError` for a file from a newer scalphost, a
        :class:`~host.journal.JournalInUseError` when another process holds it, and the base
        class for a file that is empty, corrupt or cannot be created. An existing empty file is
        refused rather than taken for a new journal: the journal of an account that traded does
        not lose its contents by itself, and starting afresh would forget its positions' stops.

        ``inline`` writes on the event loop's thread (:class:`~host.journal.writer.InlineWriter`):
        for replays, whose journal must not depend on when a thread gets the disk.
        """
        kind = InlineWriter if inline else WriterThread
        writer = kind(
            path,
            synchronous=settings.synchronous,
            max_batch=settings.max_batch,
            now=clock.now,
        )
        try:
            if inline:
                writer.start()
            else:
                await asyncio.to_thread(writer.start)
        except sqlite3.DatabaseError as error:
            raise JournalOpenError(f"{path}: not a usable journal: {error}") from None
        except OSError as error:
            raise JournalOpenError(f"{path}: cannot open the journal: {error}") from None
        return cls(writer, path)

    @property
    def path(self) -> Path:
        """Where the journal file is."""
        return self._path

    @property
    def commit_timing(self) -> DurationHistogram:
        """How long the writer's transactions took (write and commit), for the metrics."""
        return self._writer.commit_timing

    @property
    def failed_writes(self) -> int:
        """Fire-and-forget records lost to a write error since opening (each was logged)."""
        return self._writer.failed_writes

    # --- writing --------------------------------------------------------------------------------

    def write(self, record: Record) -> None:
        """Queue ``record`` for the next batch and return at once."""
        self._check_open()
        writer_for(record)
        self._writer.write(record, None)

    async def commit(self, record: Record) -> bool:
        """Write ``record`` and return once it is committed; ``True`` when it was new.

        Raises what the write raised (the record is then not in the journal), e.g.
        :class:`~host.journal.store.UnknownPositionError` or :class:`sqlite3.Error`. Cancelling
        the awaiting task does not withdraw the record: it has been handed over.
        """
        self._check_open()
        writer_for(record)
        done, result = self._completion()
        self._writer.write(record, done)
        return bool(await result)

    async def guard_writes(self, guard: WriteGuard | None) -> None:
        """Run ``guard`` inside every write transaction from now on; ``None`` removes it.

        The seam for fault tests (``scalphost faults``' disk rule): with
        :func:`~host.journal.writer.disk_full` every write fails as on a full disk, and ``None``
        frees the disk again. The change is queued like a read, so every record handed over
        before it is written without it and every record after with it. Reads are never guarded:
        a full disk still lets SQLite read.
        """

        def install(_connection: sqlite3.Connection) -> None:
            self._writer.write_guard = guard

        await self._read(install)

    async def flush(self) -> None:
        """Return once every record handed over before this call is committed."""
        await self._read(lambda _connection: None)

    async def close(self) -> None:
        """Flush, close the file and end the writer thread. Further writes are refused."""
        if self._closed:
            return
        self._closed = True
        if isinstance(self._writer, InlineWriter):
            self._writer.stop()
        else:
            await asyncio.to_thread(self._writer.stop)

    # --- what a restart reads -------------------------------------------------------------------

    async def open_positions(self) -> tuple[OpenPosition, ...]:
        """See :func:`host.journal.queries.open_positions`."""
        return await self._read(queries.open_positions)

    async def unresolved_intents(self) -> tuple[OrderIntent, ...]:
        """See :func:`host.journal.queries.unresolved_intents`."""
        return await self._read(queries.unresolved_intents)

    async def seen_trade_ids(self, since: datetime | None = None) -> frozenset[tuple[str, str]]:
        """See :func:`host.journal.queries.seen_trade_ids`."""
        return await self._read(lambda connection: queries.seen_trade_ids(connection, since))

    async def intent_client_ids(self) -> frozenset[str]:
        """See :func:`host.journal.queries.intent_client_ids`."""
        return await self._read(queries.intent_client_ids)

    async def fills_seen_since(
        self, since: datetime
    ) -> tuple[tuple[tuple[str, str], datetime], ...]:
        """See :func:`host.journal.queries.fills_seen_since`."""
        return await self._read(lambda connection: queries.fills_seen_since(connection, since))

    async def closed_since(self, since: datetime) -> tuple[ClosedPosition, ...]:
        """See :func:`host.journal.queries.closed_since`."""
        return await self._read(lambda connection: queries.closed_since(connection, since))

    async def rejections_since(self, since: datetime) -> tuple[OrderRejection, ...]:
        """See :func:`host.journal.queries.rejections_since`."""
        return await self._read(lambda connection: queries.rejections_since(connection, since))

    async def integrity(self) -> IntegrityReport:
        """See :func:`host.journal.queries.integrity`."""
        return await self._read(queries.integrity)

    # --- plumbing -------------------------------------------------------------------------------

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        self._check_open()
        done, result = self._completion()
        self._writer.read(query, done)
        value: T = await result
        return value

    def _completion(self) -> tuple[Done, asyncio.Future[Any]]:
        """A future of the running loop, and the writer-thread callback that settles it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if future.done():  # the awaiting task was cancelled
                return
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

        def done(result: Any, error: BaseException | None) -> None:
            # The loop may be gone if its task was abandoned at shutdown; nothing awaits then,
            # and the writer thread must go on serving the other jobs.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result, error)

        return done, future

    def _check_open(self) -> None:
        if self._closed or not self._writer.alive:
            raise JournalClosedError(f"journal {self._path} is closed")
