"""What the monitor reads: the parts of one running session, handed over by the runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from host.engine.engine import Engine
from host.exchange.connection import OkxConnection
from host.pluginmanager import PluginInfo
from host.settings import Settings


@dataclass(frozen=True, slots=True)
class GoliveInForce:
    """The go-live stamp a run started under, as the command line found it before starting.

    ``state`` is ``passed`` (a stamp for exactly this config and code), ``skipped`` (live with
    ``--skip-golive``), ``missing`` or ``not required`` (paper and demo need none); ``detail``
    says which stamp, or what it lacks.
    """

    state: str
    detail: str
    profile: str | None = None
    passed_at: datetime | None = None


NOT_REQUIRED = GoliveInForce("not required", "paper and demo trading need no go-live stamp")


@dataclass(frozen=True, slots=True)
class Watched:
    """One session's engine, exchange link, plugins and settings, read at scrape time."""

    settings: Settings
    engine: Engine
    connection: OkxConnection
    plugins: tuple[PluginInfo, ...]
    golive: GoliveInForce = NOT_REQUIRED
