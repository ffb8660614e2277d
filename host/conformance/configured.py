"""The conformance suites bound to the plugins and settings a configuration actually enables.

Go-live must check the user's own plugins with the user's own settings, not the shipped
defaults. :func:`configured_suites` builds the plugins exactly as the host would from a
:class:`~host.settings.Settings` and returns one ``Test...`` class per enabled plugin and per
suite its hooks call for: an ``on_tick_exit`` plugin gets the exit suite, a ``detect_regime``
plugin the regime suite, a limit-order hook the limit-order suite (held to the configuration's
``hooks.limit_order_max_wait_seconds``), an ``on_signal`` plugin that learns from closed
positions the circuit-breaker suite. Put them in a test module's namespace::

    from host.conformance.configured import configured_suites
    from host.settings import load_settings

    globals().update(configured_suites(load_settings(Path("config/live.yaml"))))
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from host.conformance.breakers import CircuitBreakerSuite
from host.conformance.calls import implements
from host.conformance.exits import ExitPluginSuite
from host.conformance.limit_orders import LimitOrderPolicySuite
from host.conformance.regimes import RegimeDetectorSuite
from host.pluginmanager import build_plugin_host, effective_plugin_settings
from host.settings import Settings

LIMIT_ORDER_HOOKS = ("plan_entry", "limit_order_ttl", "on_limit_expired")


def configured_suites(settings: Settings) -> dict[str, type]:
    """``{"Test<Suite>_<plugin>": class}`` for every enabled plugin the suites apply to."""
    return {
        suite.__name__: suite for suites in suites_by_plugin(settings).values() for suite in suites
    }


def suites_by_plugin(settings: Settings) -> dict[str, tuple[type, ...]]:
    """Every enabled plugin's name and its suite classes (none: no suite covers its hooks).

    Each class carries ``plugin_name``, the plugin's name in the configuration.
    """
    host = build_plugin_host(settings)
    by_plugin: dict[str, tuple[type, ...]] = {}
    for name, instance in host.instances.items():
        plugin_class = type(instance)
        section = {k: v for k, v in settings.plugins.get(name, {}).items() if k != "enabled"}
        model = getattr(plugin_class, "Settings", None)
        validated = effective_plugin_settings(model, section) if model is not None else None
        attributes: dict[str, Any] = {
            "plugin_class": plugin_class,
            "settings": None if validated is None else st.just(validated),
            "configured_settings": validated,
            "plugin_name": name,
        }
        suites = []
        for suite in _suites_for(instance):
            extra = {"host_hooks": settings.hooks} if suite is LimitOrderPolicySuite else {}
            title = f"Test{suite.__name__}_{name}"
            suites.append(type(title, (suite,), attributes | extra))
        by_plugin[name] = tuple(suites)
    return by_plugin


def _suites_for(plugin: object) -> list[type]:
    suites: list[type] = []
    if implements(plugin, "on_tick_exit"):
        suites.append(ExitPluginSuite)
    if implements(plugin, "detect_regime"):
        suites.append(RegimeDetectorSuite)
    if any(implements(plugin, hook) for hook in LIMIT_ORDER_HOOKS):
        suites.append(LimitOrderPolicySuite)
    if implements(plugin, "on_signal") and implements(plugin, "on_position_closed"):
        suites.append(CircuitBreakerSuite)
    return suites
