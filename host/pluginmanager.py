"""Builds the plugin manager: which plugins exist, which are enabled, and their settings.

Plugins come from two places: the built-in tuple :data:`BUILTIN_PLUGINS` and the entry-point group
``scalphost.plugins`` (the entry-point name is the plugin's name in the config). The config's
``plugins.<name>`` section chooses what runs:

* a built-in runs unless its section says ``enabled: false``; an *essential* one refuses that;
* an installed external plugin stays off until its section says ``enabled: true`` — installing a
  package must never change what a live bot does;
* an unknown name, a bad setting, a misspelt hook, an ``async`` or wrapper implementation are all
  start-up errors naming the plugin, collected and reported together.

Plugins are classes: the manager validates the section against the class's ``Settings`` model,
builds the instance with it and registers the instance (pluggy cannot register a class), behind a
guard per hook (:mod:`host.plugin_guard`). Built-ins are registered first, external plugins after
them, so external ones are asked first (pluggy calls the last registered first).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import entry_points
from typing import Any

import pluggy
from pydantic import BaseModel, TypeAdapter, ValidationError

from host import hookspecs
from host.dispatch import HookDispatch
from host.errors import ConfigError, ConfigProblem
from host.plugin_guard import CountedPluginManager, FaultLog, HookHealth, guard
from host.settings import Settings

ENTRY_POINT_GROUP = "scalphost.plugins"
IMPL_MARKER = hookspecs.PROJECT_NAME + "_impl"
HOOK_NAMES = frozenset(hookspecs.__all__)


@dataclass(frozen=True, slots=True)
class BuiltinPlugin:
    """One entry of :data:`BUILTIN_PLUGINS`.

    ``target`` is ``"module:Class"`` (imported only when the plugin is enabled) or the class.
    """

    name: str
    target: str | type
    essential: bool = False
    enabled_by_default: bool = True


BUILTIN_PLUGINS: tuple[BuiltinPlugin, ...] = (
    BuiltinPlugin("drift_guard", "plugins.drift_guard:DriftGuard", essential=True),
    BuiltinPlugin("regime", "plugins.regime:RegimeDetector"),
    BuiltinPlugin("trailing_stop", "plugins.trailing_stop:TrailingStop"),
    BuiltinPlugin("limit_order_policy", "plugins.limit_order_policy:LimitOrderPolicy"),
    BuiltinPlugin("circuit_breaker", "plugins.circuit_breaker:CircuitBreaker"),
    BuiltinPlugin("time_stop", "plugins.time_stop:TimeStop"),
    BuiltinPlugin("bracket", "plugins.bracket:Bracket", enabled_by_default=False),
    BuiltinPlugin("momentum_demo", "plugins.momentum_demo:MomentumDemo"),
    BuiltinPlugin("webhook", "plugins.webhook:Webhook", enabled_by_default=False),
)
"""The built-in plugins (in :mod:`plugins`), and which of them the host cannot run without.

Each names its class as ``"module:Class"``, imported only when the plugin is enabled, so the host
never imports the plugins package it lists. Built-ins run unless the config disables them; an
essential one refuses to be disabled.
"""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What ``scalphost plugins`` shows about one plugin."""

    name: str
    source: str
    enabled: bool
    essential: bool
    hooks: tuple[str, ...]
    settings: Mapping[str, Any] | None = None
    """The effective settings (defaults filled in) of an enabled plugin that has a model."""
    problems: tuple[ConfigProblem, ...] = ()
    """Why the plugin cannot run: it cannot be imported, or a hook or its settings are refused."""


@dataclass(frozen=True, slots=True)
class PluginListing:
    """Every available plugin with its problems, and which of them would stop ``run``."""

    plugins: tuple[PluginInfo, ...]
    refused_by_run: tuple[ConfigProblem, ...]
    """Exactly what :func:`build_plugin_host` raises for this config (unknown names included)."""

    @property
    def broken_but_disabled(self) -> tuple[ConfigProblem, ...]:
        """Problems of installed plugins the config leaves off: harmless until one is enabled."""
        return tuple(
            problem
            for info in self.plugins
            for problem in info.problems
            if problem not in self.refused_by_run
        )


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A plugin that could be enabled, before anything of it is imported."""

    name: str
    source: str
    load: Callable[[], object]
    essential: bool
    enabled_by_default: bool


@dataclass(frozen=True, slots=True)
class _Checked:
    """One candidate after every check that needs no instance: what ``run`` and ``plugins`` share.

    ``hooks`` maps each hook the class implements to its pluggy options; ``settings`` is the
    validated settings model, :data:`NO_SETTINGS`, or ``None`` when not validated.
    """

    info: PluginInfo
    plugin_class: type | None
    hooks: Mapping[str, Mapping[str, object]]
    settings: object | None


@dataclass(frozen=True, slots=True)
class PluginHost:
    """The built plugin manager and everything the host needs from it."""

    pm: CountedPluginManager
    dispatch: HookDispatch
    plugins: tuple[PluginInfo, ...]
    faults: FaultLog
    instances: Mapping[str, object]


class _GuardedPlugin:
    """What pluggy registers: the plugin's hook implementations, each behind its guard.

    A fresh object per plugin, compared by identity: pluggy refuses two plugins that compare
    equal, which two equal-valued dataclass plugins would otherwise do.
    """


def build_plugin_host(
    settings: Settings,
    *,
    builtins: Iterable[BuiltinPlugin] | None = None,
    discover_entry_points: bool = True,
) -> PluginHost:
    """Build the manager for ``settings``; raise :class:`ConfigError` listing every problem.

    A plugin that keeps raising is switched off for the session by unregistering it (see
    :class:`host.plugin_guard.FaultLog`); its name stays blocked so nothing registers it again.
    """
    candidates, problems = _candidates(builtins, discover_entry_points)
    problems += _unknown_names(settings.plugins, candidates)
    pm = CountedPluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    faults = FaultLog(settings.hooks.plugin_failure_limit)
    faults.on_switch_off(lambda plugin, _reason: pm.set_blocked(plugin))
    infos: list[PluginInfo] = []
    instances: dict[str, object] = {}
    for candidate in candidates.values():
        checked = _check(candidate, settings.plugins.get(candidate.name, {}), load_disabled=False)
        infos.append(checked.info)
        problems.extend(checked.info.problems)
        if checked.plugin_class is None or checked.settings is None or checked.info.problems:
            pm.set_blocked(candidate.name)
            continue
        instance = _instantiate(checked.plugin_class, checked.settings)
        _register(pm, candidate, instance, checked.hooks, faults)
        instances[candidate.name] = instance
    if problems:
        raise ConfigError(problems)
    dispatch = HookDispatch(pm, settings.hooks, faults)
    return PluginHost(pm, dispatch, tuple(infos), faults, instances)


def list_plugins(
    settings: Settings,
    *,
    builtins: Iterable[BuiltinPlugin] | None = None,
    discover_entry_points: bool = True,
) -> PluginListing:
    """Describe every available plugin without registering any (for ``scalphost plugins``).

    Never raises for a plugin: one that cannot be imported, or whose hooks or settings ``run``
    would refuse, is listed with its problems — disabled plugins are imported and checked too, so
    a broken installation shows before anyone enables it.
    """
    candidates, refused = _candidates(builtins, discover_entry_points)
    refused += _unknown_names(settings.plugins, candidates)
    infos = []
    for candidate in candidates.values():
        section = settings.plugins.get(candidate.name, {})
        as_run = _check(candidate, section, load_disabled=False)
        refused.extend(as_run.info.problems)
        listed = as_run if as_run.info.enabled else _check(candidate, section, load_disabled=True)
        infos.append(listed.info)
    return PluginListing(tuple(infos), tuple(refused))


def _check(
    candidate: _Candidate, raw_section: Mapping[str, Any], *, load_disabled: bool
) -> _Checked:
    """Enable, import, check the hooks of and validate the settings of one candidate."""
    problems: list[ConfigProblem] = []
    section = dict(raw_section)
    enabled = _enabled(candidate, section, problems)
    plugin_class = _load(candidate, problems) if enabled or load_disabled else None
    hooks: Mapping[str, Mapping[str, object]] = {}
    validated: object | None = None
    if plugin_class is not None:
        hooks = _hook_implementations(candidate.name, plugin_class, problems)
        if enabled:
            validated = _validated_settings(candidate.name, plugin_class, section, problems)
    info = PluginInfo(
        candidate.name,
        candidate.source,
        enabled,
        candidate.essential,
        tuple(sorted(hooks)),
        validated.model_dump(mode="json") if isinstance(validated, BaseModel) else None,
        tuple(problems),
    )
    return _Checked(info, plugin_class, hooks, validated)


# --- discovery --------------------------------------------------------------------------------


def _candidates(
    builtins: Iterable[BuiltinPlugin] | None, discover_entry_points: bool
) -> tuple[dict[str, _Candidate], list[ConfigProblem]]:
    """Every plugin that could run, by name; a name taken twice is a problem (the first stays)."""
    if builtins is None:
        builtins = BUILTIN_PLUGINS
    found: dict[str, _Candidate] = {}
    for builtin in builtins:
        found[builtin.name] = _Candidate(
            builtin.name,
            "built-in",
            loader_for(builtin.target),
            builtin.essential,
            builtin.enabled_by_default,
        )
    problems = []
    if discover_entry_points:
        for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
            if point.name in found:
                problems.append(
                    ConfigProblem(
                        f"plugins.{point.name}",
                        f"the name is taken twice: by {found[point.name].source} and by "
                        f"{_distribution_of(point)}",
                    )
                )
                continue
            found[point.name] = _Candidate(
                point.name, _distribution_of(point), point.load, False, False
            )
    return found, problems


def loader_for(target: str | type) -> Callable[[], object]:
    """Return a loader for a built-in target, importing ``"module:Class"`` only when called."""
    if isinstance(target, type):
        return lambda: target

    def load() -> object:
        module_name, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)

    return load


def _distribution_of(point: Any) -> str:
    dist = point.dist
    return f"{dist.name} {dist.version}" if dist is not None else f"entry point {point.value}"


def _unknown_names(
    sections: Mapping[str, object], candidates: Mapping[str, _Candidate]
) -> list[ConfigProblem]:
    available = ", ".join(sorted(candidates)) or "none"
    return [
        ConfigProblem(f"plugins.{name}", f"unknown plugin; available: {available}")
        for name in sections
        if name not in candidates
    ]


# --- enabling and loading -----------------------------------------------------------------------

_BOOL = TypeAdapter(bool)


def _enabled(candidate: _Candidate, section: dict[str, Any], problems: list[ConfigProblem]) -> bool:
    raw = section.pop("enabled", candidate.enabled_by_default)
    try:
        enabled = _BOOL.validate_python(raw)
    except ValidationError:
        problems.append(
            ConfigProblem(f"plugins.{candidate.name}.enabled", f"not a boolean: {raw!r}")
        )
        return False
    if candidate.essential and not enabled:
        problems.append(
            ConfigProblem(
                f"plugins.{candidate.name}.enabled",
                f"{candidate.name} is essential and cannot be disabled",
            )
        )
        return True
    return enabled


def _load(candidate: _Candidate, problems: list[ConfigProblem]) -> type | None:
    try:
        loaded = candidate.load()
    except Exception as error:
        problems.append(ConfigProblem(f"plugins.{candidate.name}", f"cannot be loaded: {error!r}"))
        return None
    if not isinstance(loaded, type):
        problems.append(
            ConfigProblem(
                f"plugins.{candidate.name}",
                f"must name a plugin class, not {type(loaded).__name__}",
            )
        )
        return None
    return loaded


NO_SETTINGS = object()
"""What :func:`_validated_settings` returns for a plugin without a ``Settings`` model."""


def _instantiate(plugin_class: type, plugin_settings: object) -> object:
    instance: object = (
        plugin_class() if plugin_settings is NO_SETTINGS else plugin_class(plugin_settings)
    )
    return instance


def _validated_settings(
    name: str, plugin_class: type, section: dict[str, Any], problems: list[ConfigProblem]
) -> BaseModel | object | None:
    """The settings validated from the section; :data:`NO_SETTINGS`; ``None`` on a problem."""
    settings_model = getattr(plugin_class, "Settings", None)
    if settings_model is None:
        if section:
            problems.append(
                ConfigProblem(f"plugins.{name}", f"takes no settings, got {sorted(section)}")
            )
            return None
        return NO_SETTINGS
    if not (isinstance(settings_model, type) and issubclass(settings_model, BaseModel)):
        problems.append(ConfigProblem(f"plugins.{name}", "Settings must be a pydantic model"))
        return None
    try:
        return effective_plugin_settings(settings_model, section)
    except ValidationError as error:
        problems.extend(
            ConfigProblem(".".join(["plugins", name, *map(str, item["loc"])]), item["msg"])
            for item in error.errors()
        )
        return None


def effective_plugin_settings(
    settings_model: type[BaseModel], section: dict[str, Any]
) -> BaseModel:
    """The settings a plugin runs with: its config ``section`` merged onto its defaults.

    Everything that builds a plugin's settings (the host, the go-live suites) goes through here,
    so a partial section (``by_regime.trending: {trail_distance: ...}``) means the same
    everywhere. Raises pydantic's ``ValidationError`` on a bad section.
    """
    return settings_model.model_validate(_merged_onto_defaults(settings_model, section))


def _merged_onto_defaults(settings_model: type[BaseModel], section: dict[str, Any]) -> Any:
    """``section`` merged onto the model's defaults, nested model by nested model.

    A user overrides one nested value (``by_regime.trending.trail_distance``) from the YAML file
    or the environment and keeps the rest: the host's own sections merge that way, and a plugin's
    must too, instead of demanding every sibling of the one value changed. Only nested *models*
    merge; a plain mapping setting is replaced as given, since an empty or partial mapping can be
    meant (``limit_order_policy.by_regime: {}``: no per-regime waits).
    """
    try:
        defaults = settings_model()
    except ValidationError:  # a required setting: nothing to merge onto
        return section
    return _onto(defaults, section)


def _onto(default: BaseModel, override: Mapping[str, Any]) -> dict[str, Any]:
    merged = default.model_dump(by_alias=True)
    for key, value in override.items():
        current = getattr(default, key, None)
        if isinstance(current, BaseModel) and isinstance(value, Mapping):
            value = _onto(current, value)
        merged[key] = value
    return merged


# --- hooks ------------------------------------------------------------------------------------


def _hook_implementations(
    name: str, plugin_class: type, problems: list[ConfigProblem]
) -> dict[str, Mapping[str, object]]:
    """The class's hook implementations with their pluggy options; each refusal is a problem.

    Refused: an implementation of a hook that does not exist (a typo), an ``async`` or wrapper
    implementation, an argument the hook does not pass, a method named like a hook (or nearly)
    but not marked ``@hookimpl``, and a plugin that implements no hook at all — each would
    otherwise be silently never called, or called wrongly. ``run`` and ``plugins`` both ask here.
    """
    hooks: dict[str, Mapping[str, object]] = {}
    refused: list[str] = []
    for attribute in dir(plugin_class):
        function = inspect.getattr_static(plugin_class, attribute, None)
        if not inspect.isfunction(function):
            continue  # only methods can be hooks; properties are never evaluated here
        opts = getattr(function, IMPL_MARKER, None)
        problem = (
            _unmarked(attribute)
            if opts is None
            else _implementation_refusal(attribute, function, opts)
        )
        if problem is not None:
            refused.append(problem)
        elif opts is not None:
            hooks[attribute] = opts
    if not hooks and not refused:
        refused.append("implements no scalphost hook, so the host would never call it")
    problems.extend(ConfigProblem(f"plugins.{name}", problem) for problem in refused)
    return hooks


def _unmarked(attribute: str) -> str | None:
    """A method named like a hook but not marked would silently never run: say so."""
    if attribute in HOOK_NAMES:
        return f"method {attribute!r} is not marked with @hookimpl"
    if attribute.startswith("_"):
        return None
    suggestion = difflib.get_close_matches(attribute, HOOK_NAMES, n=1, cutoff=NEAR_MISS)
    if suggestion:
        return (
            f"method {attribute!r} is not marked with @hookimpl and is not a scalphost hook; "
            f"did you mean {suggestion[0]!r}?"
        )
    return None


NEAR_MISS = 0.85
"""How alike (difflib's ratio) an unmarked method's name must be to a hook's to be called a typo:
``on_tick_exits`` or ``on_fills`` are, ``on_tick`` or ``fill_count`` are not."""


def _implementation_refusal(
    hook: str, function: Callable[..., object], opts: Mapping[str, object]
) -> str | None:
    if hook not in HOOK_NAMES:
        suggestion = difflib.get_close_matches(hook, HOOK_NAMES, n=1)
        hint = f"; did you mean {suggestion[0]!r}?" if suggestion else ""
        return f"implements {hook!r}, which is not a scalphost hook{hint}"
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        return (
            f"hook {hook!r} is async; hooks must be synchronous "
            "(the host does all I/O and awaiting)"
        )
    if opts.get("wrapper") or opts.get("hookwrapper"):
        return f"hook {hook!r} is a wrapper; wrappers are reserved for the host"
    offered = inspect.signature(getattr(hookspecs, hook)).parameters
    required = list(inspect.signature(function).parameters.values())[1:]  # after self
    unknown = [
        parameter.name
        for parameter in required
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD
        and parameter.default is parameter.empty
        and parameter.name not in offered
    ]
    if unknown:
        return (
            f"hook {hook!r} asks for {', '.join(map(repr, unknown))}, which the hook does not "
            f"pass; it passes {', '.join(offered)}"
        )
    return None


# --- registration -----------------------------------------------------------------------------


def _register(
    pm: pluggy.PluginManager,
    candidate: _Candidate,
    instance: object,
    hooks: Mapping[str, Mapping[str, object]],
    faults: FaultLog,
) -> None:
    """Register ``instance``'s (already checked) hook implementations, each behind its guard."""
    proxy = _GuardedPlugin()
    for hook, opts in hooks.items():
        budget = hookspecs.HOOK_BUDGETS[hook] // timedelta(microseconds=1) * 1_000
        health = HookHealth(candidate.name, hook, budget, candidate.essential)
        wrapped = guard(health, getattr(instance, hook), faults)
        setattr(wrapped, IMPL_MARKER, opts)
        setattr(proxy, hook, wrapped)
    pm.register(proxy, name=candidate.name)
