"""Ending a long-running command gracefully on SIGINT (Ctrl-C) or SIGTERM.

The handlers are installed on the running event loop, which also replaces an *ignored* SIGINT:
a process started in the background by a non-interactive shell (``cmd &`` in a script, a CI
runner) inherits SIGINT as ignored, and Python then never turns it into ``KeyboardInterrupt``.
``scalphost sim`` relied on that and, started that way, could not be stopped but by SIGKILL
(its TLS key left behind in a temporary directory).
"""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: the run ends gracefully instead of being killed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    return stop
