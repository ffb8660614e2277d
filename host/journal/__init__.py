"""The SQLite journal: one file per account, written off the event loop, read back at restart.

See docs/journal.md for the schema, table by table.
"""

from host.journal.errors import JournalOpenError
from host.journal.journal import Journal, JournalClosedError, journal_path
from host.journal.records import (
    BalanceSnapshot,
    BreakerTrip,
    ErrorEvent,
    IntegrityReport,
    IntentOutcome,
    IntentPurpose,
    OpenPosition,
    OrderIntent,
    Outcome,
    PositionChanged,
    PositionOpened,
    Record,
    SignalRecord,
    StopMove,
)
from host.journal.schema import JournalVersionError
from host.journal.store import UnknownPositionError
from host.journal.writer import JournalInUseError, WriteGuard, disk_full

__all__ = [
    "BalanceSnapshot",
    "BreakerTrip",
    "ErrorEvent",
    "IntegrityReport",
    "IntentOutcome",
    "IntentPurpose",
    "Journal",
    "JournalClosedError",
    "JournalInUseError",
    "JournalOpenError",
    "JournalVersionError",
    "OpenPosition",
    "OrderIntent",
    "Outcome",
    "PositionChanged",
    "PositionOpened",
    "Record",
    "SignalRecord",
    "StopMove",
    "UnknownPositionError",
    "WriteGuard",
    "disk_full",
    "journal_path",
]
