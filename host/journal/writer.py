"""The journal's writer thread: the only owner of the SQLite connection.

SQLite calls block (a commit in ``synchronous=FULL`` waits for the disk), so none of them may
run on the event loop. The loop hands jobs to this thread through a queue and goes on. The
thread takes whatever has queued up (up to ``max_batch``) and writes it in **one transaction**:
under load, many records share one commit and its fsync (group commit); when idle, a record is
committed on its own right away. A job may carry a completion callback, called after its
transaction has committed — that is what makes a durable write durable.

Each record runs inside its own savepoint, so a record that fails (say, a stop move for a
position the journal does not know) is undone alone and reported to its own caller, while the
rest of the batch commits. When SQLite aborts the whole transaction instead (disk full, I/O
error), the batch is retried record by record, so again only what cannot be written fails.

Reads run on the same thread, after the writes queued before them have committed, so a reader
always sees everything written before it asked.

When writing starts to fail with an error of the disk (full, I/O), the writer says so once, at
CRITICAL (no order goes out unjournaled until it writes again), and says again when a write
succeeds: the repeated per-record errors between the two are rate-limited by the log handler.

A **write guard** (:attr:`WriterThread.write_guard`) runs inside every write transaction before
its records: what it raises fails the transaction exactly as SQLite's own error would. It is the
seam through which the fault suite makes the disk fill and heal (:func:`disk_full`): a real full
disk fails the write-ahead log's growth, which no test can cause without a filesystem of its
own, and capping ``max_page_count`` fails nothing while free pages remain.

One writer per file, any number of readers: the thread holds an exclusive ``flock`` on
``<journal>.lock`` for as long as it lives, so a second host on the same account is refused at
once, while SQLite itself runs in WAL mode with normal locking, so ``scalphost report`` (or any
read-only connection) can read a journal that a running session is still writing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from host.clock import monotonic_ns
from host.durations import DurationHistogram
from host.journal.errors import JournalOpenError
from host.journal.schema import migrate
from host.journal.store import store

LOG = logging.getLogger("host.journal")

Done = Callable[[Any, BaseException | None], None]
"""Completion callback: ``(result, None)`` after the commit, or ``(None, error)``."""

WriteGuard = Callable[[], None]
"""Runs on the writer thread at the start of each write transaction; may raise ``sqlite3.Error``."""


def disk_full() -> None:
    """A write guard that fails every write as SQLite does on a full disk (``SQLITE_FULL``)."""
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL
    error.sqlite_errorname = "SQLITE_FULL"
    raise error


class JournalInUseError(JournalOpenError):
    """Another process holds the journal: two hosts must never trade one account."""


@dataclass(frozen=True, slots=True)
class _Write:
    record: Any
    done: Done | None


@dataclass(frozen=True, slots=True)
class _Read:
    query: Callable[[sqlite3.Connection], Any]
    done: Done


_STOP = object()
"""Queued by :meth:`WriterThread.stop`: commit what is pending, close the file, end the thread."""


class WriterThread:
    """Owns the connection; feeds it batches of jobs from a thread-safe queue."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["full", "normal"],
        max_batch: int,
        now: Callable[[], datetime],
    ) -> None:
        self._path = path
        self._synchronous = synchronous
        self._max_batch = max_batch
        self._now = now
        self._queue: queue.SimpleQueue[_Write | _Read | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"journal:{path.name}", daemon=True)
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self.failed_writes = 0
        """Fire-and-forget records that could not be written (each is also logged)."""
        self.commit_timing = DurationHistogram()
        """How long each transaction took to write and commit, on this machine's clock."""
        self.write_guard: WriteGuard | None = None
        """Run before the records of every write transaction (see the module docstring); set it
        between jobs (``Journal.guard_writes`` queues the change) so no batch sees half of it."""
        self.failing_since_ok = 0
        """Write transactions failed since the last one that committed (0: writing works)."""

    # --- called from other threads --------------------------------------------------------------

    def start(self) -> None:
        """Open the file on the writer thread and wait for it; raise what opening raised.

        Blocks the calling thread for the duration of the open and migration, so the asyncio
        facade calls it through ``asyncio.to_thread``.
        """
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            self._thread.join()
            raise self._open_error

    def write(self, record: Any, done: Done | None) -> None:
        """Queue a record; ``done`` (if any) runs on the writer thread after its commit."""
        self._queue.put(_Write(record, done))

    def read(self, query: Callable[[sqlite3.Connection], Any], done: Done) -> None:
        """Queue a query to run after every write queued before it has committed."""
        self._queue.put(_Read(query, done))

    def stop(self) -> None:
        """Commit what is queued, close the file, and wait for the thread to end."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    @property
    def alive(self) -> bool:
        """Whether the thread is still taking jobs."""
        return self._thread.is_alive()

    # --- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            lock = self._lock()
        except BaseException as error:  # reported to start(), which re-raises it
            self._open_error = error
            self._opened.set()
            return
        try:
            connection = self._connect()
        except BaseException as error:
            os.close(lock)
            self._open_error = error
            self._opened.set()
            return
        self._opened.set()
        try:
            while self._serve(connection):
                pass
        finally:
            connection.close()
            os.close(lock)  # closing the descriptor releases the flock

    def _lock(self) -> int:
        """Take ``<journal>.lock`` for this writer; :class:`JournalInUseError` if held elsewhere.

        A separate file rather than the journal itself: SQLite's own POSIX locks on the journal
        are dropped by the process when *any* descriptor of that file is closed.
        """
        self._path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self._path.with_name(self._path.name + ".lock"), os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            raise JournalInUseError(
                f"{self._path} is in use by another process (another host on this account?)"
            ) from None
        return lock

    def _connect(self) -> sqlite3.Connection:
        if _empty_without_log(self._path):
            LOG.warning(
                "%s is empty (0 bytes): starting a new journal. A crash while it was created "
                "leaves it so; if this account traded before, its journal was lost, and the "
                "positions found on the exchange will be adopted with new stops",
                self._path,
            )
        # A read-only reader may briefly hold the file while it recovers the WAL: wait a little.
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=5)
        try:
            connection.row_factory = sqlite3.Row
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise sqlite3.OperationalError(f"{self._path}: WAL mode refused (got {mode})")
            connection.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
            connection.execute("PRAGMA foreign_keys = ON")
            migrate(connection, self._now())
        except BaseException:
            connection.close()
            raise
        return connection

    def _serve(self, connection: sqlite3.Connection) -> bool:
        """Handle one batch; ``False`` once asked to stop."""
        batch = [self._queue.get()]
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        writes: list[_Write] = []
        for job in batch:
            if isinstance(job, _Write):
                writes.append(job)
                continue
            self._commit(connection, writes)
            writes = []
            if job is _STOP:
                return False
            if isinstance(job, _Read):
                _run_read(connection, job)
        self._commit(connection, writes)
        return True

    def _commit(self, connection: sqlite3.Connection, writes: list[_Write]) -> None:
        if not writes:
            return
        started = monotonic_ns()
        try:
            outcomes = _transaction(connection, writes, self.write_guard)
            self.commit_timing.record_ns(monotonic_ns() - started)
            self._writes_again()
        except sqlite3.Error as failure:
            # The whole transaction is lost (disk full, I/O error). Retry each record alone, so
            # a record that does fit is not failed for another one's sake.
            self._cannot_write(failure)
            LOG.error("journal commit of %d records failed: %s", len(writes), failure)
            if len(writes) == 1:
                outcomes = [(None, failure)]
            else:
                outcomes = [_alone(connection, job, self.write_guard) for job in writes]
                if any(error is None for _, error in outcomes):
                    self._writes_again()
        for job, (result, error) in zip(writes, outcomes, strict=True):
            self._report(job, result, error)

    def _cannot_write(self, failure: sqlite3.Error) -> None:
        """Count a lost transaction; the first after a success is said loudly, once."""
        self.failing_since_ok += 1
        if self.failing_since_ok == 1:
            LOG.critical(
                "journal %s cannot write (%s): no order is sent until it can; exchange-side "
                "stops keep protecting open positions; free disk space to resume",
                self._path,
                failure,
            )

    def _writes_again(self) -> None:
        if self.failing_since_ok:
            LOG.warning(
                "journal %s writes again, after %d failed transactions",
                self._path,
                self.failing_since_ok,
            )
            self.failing_since_ok = 0

    def _report(self, job: _Write, result: Any, error: BaseException | None) -> None:
        if job.done is not None:
            job.done(result, error)
        elif error is not None:
            self.failed_writes += 1
            LOG.error("journal lost a %s: %s", type(job.record).__name__, error)


class InlineWriter(WriterThread):
    """The same transactions as :class:`WriterThread`, run on the caller's thread, for replays.

    A replay must write the same journal run after run. A writer thread completes each commit
    whenever the disk lets it, so the tasks waiting on commits could resume in a different order
    from one run to the next (and place their orders in a different order). Here records wait
    in a list and are committed in one transaction when a durable write or a read needs them,
    or once ``max_batch`` have gathered: an order's intent is still committed before the order
    goes out, and the completion callbacks run in the order the records were written.
    """

    _connection: sqlite3.Connection | None = None
    _lock_fd: int | None = None

    def start(self) -> None:
        """Take the lock and open the file on this thread; raise what opening raised."""
        lock = self._lock()
        try:
            self._connection = self._connect()
        except BaseException:
            os.close(lock)
            raise
        self._lock_fd = lock
        self._pending: list[_Write] = []

    def write(self, record: Any, done: Done | None) -> None:
        """Keep ``record``; commit what is kept when ``done`` waits for it or a batch is full."""
        self._pending.append(_Write(record, done))
        if done is not None or len(self._pending) >= self._max_batch:
            self._commit_pending()

    def read(self, query: Callable[[sqlite3.Connection], Any], done: Done) -> None:
        """Commit what is kept, then run ``query``."""
        self._commit_pending()
        if self._connection is not None:
            _run_read(self._connection, _Read(query, done))

    def stop(self) -> None:
        """Commit what is kept, close the file and release the lock."""
        if self._connection is None:
            return
        self._commit_pending()
        self._connection.close()
        self._connection = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def alive(self) -> bool:
        """Whether the file is open."""
        return self._connection is not None

    def _commit_pending(self) -> None:
        writes, self._pending = self._pending, []
        if self._connection is not None:
            self._commit(self._connection, writes)


Outcome = tuple[Any, Exception | None]


def _transaction(
    connection: sqlite3.Connection, writes: list[_Write], guard: WriteGuard | None
) -> list[Outcome]:
    """Write ``writes`` in one transaction; raise if the transaction as a whole failed."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        if guard is not None:
            guard()
        outcomes = [_store_in_savepoint(connection, job.record) for job in writes]
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return outcomes


def _alone(connection: sqlite3.Connection, job: _Write, guard: WriteGuard | None) -> Outcome:
    try:
        (outcome,) = _transaction(connection, [job], guard)
    except sqlite3.Error as error:
        return None, error
    return outcome


def _store_in_savepoint(connection: sqlite3.Connection, record: Any) -> Outcome:
    connection.execute("SAVEPOINT record")
    try:
        result = store(connection, record)
    except Exception as error:
        if not connection.in_transaction:
            raise  # SQLite ended the whole transaction (e.g. disk full): the batch is lost
        connection.execute("ROLLBACK TO record")  # one bad record must not undo the others
        connection.execute("RELEASE record")
        return None, error
    connection.execute("RELEASE record")
    return result, None


def _run_read(connection: sqlite3.Connection, job: _Read) -> None:
    try:
        result = job.query(connection)
    except Exception as error:  # handed to the reader, who decides
        job.done(None, error)
    else:
        job.done(result, None)


def _empty_without_log(path: Path) -> bool:
    """A journal file of 0 bytes with no write-ahead log to recover it from."""
    wal = path.with_name(path.name + "-wal")
    has_log = wal.is_file() and wal.stat().st_size > 0
    return path.is_file() and path.stat().st_size == 0 and not has_log
