"""Why a journal could not be opened: one exception family, so the CLI reports one line.

A journal that cannot be opened stops the start-up: trading without one would send orders whose
intents are nowhere, and a restart could not rebuild what the exchange does not keep.
"""

from __future__ import annotations


class JournalOpenError(RuntimeError):
    """The journal file cannot be used; the message names the file and the cause."""
