"""A paper session's progress on the console that the log records go to as well.

On a terminal it is one rich progress bar at the bottom; log records are printed above it by a
:class:`rich.logging.RichHandler` on the *same* :class:`~rich.console.Console`, so neither tears
the other (two writers on one stderr interleave half-lines). Not on a terminal (a pipe, a CI log)
there is no bar to redraw: each report is a line of its own, through the same console.
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn


class SessionProgress:
    """Called with each progress report of :func:`~host.sessions.paper.run_paper`."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> SessionProgress:
        if self._console.is_terminal:
            self._bar = Progress(
                BarColumn(), TextColumn("{task.description}"), console=self._console
            )
            self._task = self._bar.add_task("starting", total=None)
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, elapsed: timedelta, length: timedelta, status: str) -> None:
        """Show how far the session is: ``elapsed`` of ``length``, and its status line."""
        if self._bar is None or self._task is None:
            self._console.print(status, highlight=False, markup=False, soft_wrap=True)
            return
        self._bar.update(
            self._task,
            description=status,
            completed=elapsed.total_seconds(),
            total=length.total_seconds(),
        )
