"""Live (or OKX demo) trading: the host against OKX until SIGINT or SIGTERM.

The venue comes from the configuration (``exchange.rest_url`` / ``ws_url`` / ``demo``) and the
credentials from the environment or the secrets directory. Each API key journals into its own
file, named after the mode and a digest of the key (never the key itself).
"""

from __future__ import annotations

import hashlib

from host.clock import LiveClock
from host.engine.engine import Engine
from host.exchange.connection import OkxConnection
from host.monitor.watched import NOT_REQUIRED, GoliveInForce
from host.pluginmanager import PluginHost
from host.sessions.runner import Venue, trade
from host.settings import Settings
from host.signals import stop_on_signals


def account_name(settings: Settings) -> str:
    """``<mode>-<first 12 hex digits of SHA-256(api key)>``: one journal per key, key not shown."""
    key = settings.credentials.api_key
    digest = hashlib.sha256(key.get_secret_value().encode()).hexdigest()[:12] if key else "nokey"
    return f"{settings.mode}-{digest}"


async def run_live(
    settings: Settings, plugin_host: PluginHost, golive: GoliveInForce = NOT_REQUIRED
) -> Engine:
    """Trade the configured OKX account until a signal asks to stop; return the engine.

    Demo mode trades OKX's simulated money. Live mode trades real money: the caller has checked
    the go-live stamp first (:func:`host.golive.gate.admit_live`, which says what ``golive`` is
    in force), as ``scalphost run`` does.
    """
    clock = LiveClock()
    stop = stop_on_signals()
    if settings.mode == "demo":  # OKX demo trading: the same hosts, with the demo header
        demo = settings.exchange.model_copy(update={"demo": True})
        settings = settings.model_copy(update={"exchange": demo})
    venue = Venue(
        rest_url=settings.exchange.rest_url,
        ws_url=settings.exchange.ws_url,
        credentials=settings.credentials,
        clock=clock,
        account=account_name(settings),
    )

    async def until_signal(_: Engine, __: OkxConnection) -> None:
        await stop.wait()

    return await trade(settings, venue, until_signal, plugin_host=plugin_host, golive=golive)
