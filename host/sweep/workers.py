"""Where the runs execute: Ray (local or a cluster), or a plain process pool on this machine.

Both hand each task to a worker process and give the results back as they finish; the caller
counts them for the progress display. Ray is an optional extra (``scalphost[sweep]``): without
it, the command says how to install it or to use ``--local``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

Task = TypeVar("Task")
Outcome = TypeVar("Outcome")

RAY_MISSING = (
    "scalphost sweep needs Ray: pip install 'scalphost[sweep]' "
    "(or use --local for a process pool on this machine)"
)


CLUSTER_CONNECT_BOUNDS = {
    "RAY_gcs_server_port_wait_time_s": "2",
    "RAY_gcs_rpc_server_connect_timeout_s": "3",
    "RAY_py_gcs_connect_timeout_s": "5",
}
"""Ray's own settings for joining a cluster (``--address``), each unless the user set it.

Unbounded, Ray tries an address where no cluster answers twenty times for about 40 s each (a
quarter of an hour), logging warnings all along. Bounded: two attempts (``..._wait_time_s``, one
a second), each allowing 3 s to connect and 5 s for the cluster to answer — about 25 s in all
(27 s measured), then Ray's ``ConnectionError``, which the command prints as one line. A
reachable head answers well within that; a user on a slow link can raise them in the environment.
"""


@contextmanager
def _core_warnings_dropped() -> Iterator[None]:
    """Send this process's standard error to /dev/null while Ray's core joins a cluster.

    Ray's C++ client logs a warning for every failed attempt straight to file descriptor 2,
    before its log level applies; the command says what went wrong in one line instead.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class RayMissingError(RuntimeError):
    """Ray is not installed (the ``sweep`` extra)."""


@dataclass(frozen=True, slots=True)
class Finished:
    """One task's end: its outcome, or the error that kept it from having one."""

    index: int
    outcome: Any
    error: BaseException | None = None


class Workers(Protocol):
    """Runs tasks in worker processes and yields them as they finish."""

    slots: int
    """How many tasks run at once (the cores the workers have)."""

    def run(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Finished]:
        """Run ``function`` on every task; yield each :class:`Finished` as it arrives."""
        ...

    def close(self) -> None:
        """Let the workers go."""
        ...


def default_slots() -> int:
    """The machine's cores (at least one)."""
    return os.cpu_count() or 1


class InProcessWorkers:
    """One task at a time, in this process (``--local --workers 1``): nothing to start.

    For a sweep too small to pay for worker processes, and for debugging a plugin in a run.
    """

    slots = 1

    def run(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Finished]:
        """Run each task in turn."""
        for index, task in enumerate(tasks):
            try:
                finished = Finished(index, function(task))
            except Exception as error:  # the task's own failure, reported
                finished = Finished(index, None, error)
            yield finished

    def close(self) -> None:
        """Nothing to let go."""


def local_workers(slots: int) -> Workers:
    """Workers on this machine: in this process for one, a process pool for more."""
    return InProcessWorkers() if slots == 1 else LocalWorkers(slots)


class LocalWorkers:
    """A process pool on this machine: no Ray needed, no cluster possible.

    Workers are spawned, not forked: a fork of a process with threads (the progress display,
    an event loop's executor) can inherit a held lock.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._pool = ProcessPoolExecutor(slots, mp_context=multiprocessing.get_context("spawn"))

    def run(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Finished]:
        """Submit every task; yield each result as its process returns it."""
        futures: dict[Future[Any], int] = {
            self._pool.submit(function, task): index for index, task in enumerate(tasks)
        }
        for future in as_completed(futures):
            error = future.exception()
            yield Finished(futures[future], None if error else future.result(), error)

    def close(self) -> None:
        """Stop the pool's processes."""
        self._pool.shutdown(cancel_futures=True)


class RayWorkers:
    """Ray tasks: a local Ray started with ``slots`` cores, or an existing cluster's address.

    Ray starts with the first batch of tasks (a sweep whose results are all stored needs no
    workers: starting Ray takes seconds). Every task asks for one CPU, so Ray runs as many at
    once as the cluster has cores.
    """

    def __init__(self, slots: int | None, address: str | None) -> None:
        if address:
            for name, value in CLUSTER_CONNECT_BOUNDS.items():
                os.environ.setdefault(name, value)  # read by Ray's core when it is imported
        try:
            import ray
        except ImportError:
            raise RayMissingError(RAY_MISSING) from None
        self._ray = ray
        self._address = address
        self._started = False
        self.slots = slots or default_slots()

    def run(self, function: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Finished]:
        """Submit every task as a Ray task; yield each as :func:`ray.wait` returns it."""
        if not tasks:
            return
        ray = self._ray
        if not ray.is_initialized():
            try:
                with _core_warnings_dropped() if self._address else nullcontext():
                    ray.init(
                        address=self._address,
                        num_cpus=None if self._address else self.slots,
                        include_dashboard=False,
                        logging_level=logging.ERROR,
                        log_to_driver=False,
                    )
            except (ConnectionError, ValueError) as error:  # no cluster there, or no Ray Client
                message = " ".join(str(error).split())
                raise ConnectionError(f"--address {self._address}: {message}") from None
            self._started = True
            self.slots = int(ray.cluster_resources().get("CPU", 1))
        remote = ray.remote(num_cpus=1, max_retries=0)(function)
        pending = {remote.remote(task): index for index, task in enumerate(tasks)}
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(ready)
            try:
                finished = Finished(index, ray.get(ready))
            except Exception as error:  # a worker died or the task raised
                finished = Finished(index, None, error)
            yield finished

    def close(self) -> None:
        """Shut Ray down if this sweep started it (a cluster keeps running)."""
        if self._started:
            self._ray.shutdown()
