"""What every part of the engine uses and none owns: settings, plugins, journal, clock, tasks.

The parts (desks, keeper, recorder) each own their state and take their collaborators in their
constructor; these eight they all share, so they travel as one value instead of eight parameters
repeated in every constructor.
"""

from __future__ import annotations

from dataclasses import dataclass

from host.clock import Clock
from host.dispatch import HookDispatch
from host.engine.backlog import JournalBacklog
from host.engine.stats import SessionStats
from host.engine.tasks import EngineTasks
from host.journal import Journal
from host.notify.service import Notifier
from host.settings import EngineSettings


@dataclass(frozen=True, slots=True)
class EngineServices:
    """Settings, dispatch, journal, the session's figures, clock, tasks, notifier, backlog."""

    settings: EngineSettings
    dispatch: HookDispatch
    journal: Journal
    stats: SessionStats
    clock: Clock
    tasks: EngineTasks
    notifier: Notifier
    backlog: JournalBacklog
    """Fills and closes a full disk kept out of the journal, written at reconciliations."""
