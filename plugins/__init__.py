"""The built-in plugins, and which of them the host cannot run without.

Each entry names a class as ``"module:Class"``; the module is imported only when the plugin is
enabled. Built-ins run unless the config disables them; an essential one refuses to be disabled.
"""

from host.pluginmanager import BuiltinPlugin

BUILTIN_PLUGINS: tuple[BuiltinPlugin, ...] = (
    BuiltinPlugin("drift_guard", "plugins.drift_guard:DriftGuard", essential=True),
    BuiltinPlugin("regime", "plugins.regime:RegimeDetector"),
    BuiltinPlugin("trailing_stop", "plugins.trailing_stop:TrailingStop"),
    BuiltinPlugin("limit_order_policy", "plugins.limit_order_policy:LimitOrderPolicy"),
    BuiltinPlugin("circuit_breaker", "plugins.circuit_breaker:CircuitBreaker"),
    BuiltinPlugin("time_stop", "plugins.time_stop:TimeStop"),
    BuiltinPlugin("bracket", "plugins.bracket:Bracket", enabled_by_default=False),
    BuiltinPlugin("momentum_demo", "plugins.momentum_demo:MomentumDemo"),
)
