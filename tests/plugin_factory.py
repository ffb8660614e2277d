"""Builds fresh plugin hosts from inline plugin classes, through the production builder.

No module-global manager: each test gets its own, with the real built-ins plus the classes it
names, and no entry points unless it asks for them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from host import HookContext, InstrumentSpec, Regime, Tick
from host.pluginmanager import BUILTIN_PLUGINS, BuiltinPlugin, PluginHost, build_plugin_host
from host.settings import Settings

ESSENTIAL_PLUGINS = tuple(builtin for builtin in BUILTIN_PLUGINS if builtin.essential)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

BTC = InstrumentSpec(
    inst_id="BTC-USDT-SWAP",
    ct_val=Decimal("0.01"),
    ct_mult=Decimal(1),
    tick_sz=Decimal("0.1"),
    lot_sz=Decimal("0.01"),
    min_sz=Decimal("0.01"),
)


def make_host(
    *plugin_classes: type,
    sections: dict[str, dict[str, Any]] | None = None,
    discover_entry_points: bool = False,
    **settings: Any,
) -> PluginHost:
    """A host with the essential built-ins plus ``plugin_classes``, each under its own name.

    Only the essential built-ins: the facade's own defaults and combination rules are under test
    here, and the built-in policies (limit orders, exits...) would answer in their place.
    """
    extra = tuple(BuiltinPlugin(cls.__name__.lower(), cls) for cls in plugin_classes)
    return build_plugin_host(
        Settings(plugins=sections or {}, **settings),
        builtins=ESSENTIAL_PLUGINS + extra,
        discover_entry_points=discover_entry_points,
    )


def ctx(regime: Regime = Regime.RANGING) -> HookContext:
    """A context for BTC-USDT-SWAP at :data:`NOW`."""
    return HookContext(now=NOW, instrument=BTC, regime=regime)


def tick(bid: str = "100.0", ask: str = "100.1", last: str = "100.0") -> Tick:
    """A BTC-USDT-SWAP tick at :data:`NOW`."""
    return Tick("BTC-USDT-SWAP", NOW, Decimal(last), Decimal(bid), Decimal(ask))
