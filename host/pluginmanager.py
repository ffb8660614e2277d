"""Builds the plugin manager: which plugins exist, which are enabled, and their settings.

Plugins come from two places: the built-in tuple in :mod:`plugins` and the entry-point group
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
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Any

import pluggy
from pydantic import BaseModel, TypeAdapter, ValidationError

from host import hookspecs
from host.dispatch import HookDispatch
from host.errors import ConfigError, ConfigProblem
from host.plugin_guard import FaultLog, guard
from host.settings import Settings

ENTRY_POINT_GROUP = "scalphost.plugins"
IMPL_MARKER = hookspecs.PROJECT_NAME + "_impl"
HOOK_NAMES = frozenset(hookspecs.__all__)


@dataclass(frozen=True, slots=True)
class BuiltinPlugin:
    """One entry of :data:`plugins.BUILTIN_PLUGINS`.

    ``target`` is ``"module:Class"`` (imported only when the plugin is enabled) or the class.
    """

    name: str
    target: str | type
    essential: bool = False
    enabled_by_default: bool = True


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


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A plugin that could be enabled, before anything of it is imported."""

    name: str
    source: str
    load: Callable[[], object]
    essential: bool
    enabled_by_default: bool


@dataclass(frozen=True, slots=True)
class PluginHost:
    """The built plugin manager and everything the host needs from it."""

    pm: pluggy.PluginManager
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
    """Build the manager for ``settings``; raise :class:`ConfigError` listing every problem."""
    candidates = _candidates(builtins, discover_entry_points)
    problems = _unknown_names(settings.plugins, candidates)
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    faults = FaultLog()
    infos: list[PluginInfo] = []
    instances: dict[str, object] = {}
    for candidate in candidates.values():
        section = dict(settings.plugins.get(candidate.name, {}))
        enabled = _enabled(candidate, section, problems)
        plugin_class = _load(candidate, problems) if enabled else None
        if plugin_class is None:
            pm.set_blocked(candidate.name)
            infos.append(_info(candidate, enabled=False, hooks=()))
            continue
        instance = _instantiate(candidate.name, plugin_class, section, problems)
        if instance is not None and _register(pm, candidate.name, instance, faults, problems):
            instances[candidate.name] = instance
        infos.append(_info(candidate, enabled=True, hooks=_hooks_of(plugin_class)))
    if not problems:
        _check_pending(pm, problems)
    if problems:
        raise ConfigError(problems)
    dispatch = HookDispatch(pm, settings.hooks, faults)
    return PluginHost(pm, dispatch, tuple(infos), faults, instances)


def list_plugins(
    settings: Settings,
    *,
    builtins: Iterable[BuiltinPlugin] | None = None,
    discover_entry_points: bool = True,
) -> tuple[PluginInfo, ...]:
    """Describe every available plugin without registering any (for ``scalphost plugins``)."""
    candidates = _candidates(builtins, discover_entry_points)
    problems = _unknown_names(settings.plugins, candidates)
    infos = []
    for candidate in candidates.values():
        section = dict(settings.plugins.get(candidate.name, {}))
        enabled = _enabled(candidate, section, problems)
        plugin_class = _load(candidate, problems)
        hooks = _hooks_of(plugin_class) if plugin_class is not None else ()
        info = _info(candidate, enabled=enabled, hooks=hooks)
        if enabled and plugin_class is not None:
            validated = _validated_settings(candidate.name, plugin_class, section, problems)
            if isinstance(validated, BaseModel):
                info = replace(info, settings=validated.model_dump(mode="json"))
        infos.append(info)
    if problems:
        raise ConfigError(problems)
    return tuple(infos)


# --- discovery --------------------------------------------------------------------------------


def _candidates(
    builtins: Iterable[BuiltinPlugin] | None, discover_entry_points: bool
) -> dict[str, _Candidate]:
    if builtins is None:
        from plugins import BUILTIN_PLUGINS

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
    if discover_entry_points:
        problems = []
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
        if problems:
            raise ConfigError(problems)
    return found


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


def _instantiate(
    name: str, plugin_class: type, section: dict[str, Any], problems: list[ConfigProblem]
) -> object | None:
    plugin_settings = _validated_settings(name, plugin_class, section, problems)
    if plugin_settings is None:
        return None
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
        return settings_model.model_validate(section)
    except ValidationError as error:
        problems.extend(
            ConfigProblem(".".join(["plugins", name, *map(str, item["loc"])]), item["msg"])
            for item in error.errors()
        )
        return None


# --- registration -----------------------------------------------------------------------------


def _register(
    pm: pluggy.PluginManager,
    name: str,
    instance: object,
    faults: FaultLog,
    problems: list[ConfigProblem],
) -> bool:
    proxy = _GuardedPlugin()
    found = False
    for attribute in dir(instance):
        if not inspect.isfunction(inspect.getattr_static(type(instance), attribute, None)):
            continue  # only methods can be hooks; properties are never evaluated here
        method = getattr(instance, attribute)
        opts = getattr(method, IMPL_MARKER, None)
        if opts is None:
            _refuse_unmarked_hook(name, attribute, method, problems)
            continue
        problem = _refusal(attribute, method, opts)
        if problem:
            problems.append(ConfigProblem(f"plugins.{name}", problem))
            continue
        wrapped = guard(name, attribute, method, faults)
        setattr(wrapped, IMPL_MARKER, opts)
        setattr(proxy, attribute, wrapped)
        found = True
    if not found:
        return False
    pm.register(proxy, name=name)
    return True


def _refusal(hook: str, method: Callable[..., object], opts: Mapping[str, object]) -> str | None:
    if inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method):
        return (
            f"hook {hook!r} is async; hooks must be synchronous "
            "(the host does all I/O and awaiting)"
        )
    if opts.get("wrapper") or opts.get("hookwrapper"):
        return f"hook {hook!r} is a wrapper; wrappers are reserved for the host"
    return None


def _refuse_unmarked_hook(
    name: str, attribute: str, method: object, problems: list[ConfigProblem]
) -> None:
    """A method named like a hook but not marked would silently never run: say so."""
    if attribute in HOOK_NAMES and callable(method):
        problems.append(
            ConfigProblem(f"plugins.{name}", f"method {attribute!r} is not marked with @hookimpl")
        )


def _check_pending(pm: pluggy.PluginManager, problems: list[ConfigProblem]) -> None:
    """Turn an implementation of a hook that does not exist (a typo) into a start-up error."""
    for hook_name, caller in vars(pm.hook).items():
        if hook_name in HOOK_NAMES:
            continue
        suggestion = difflib.get_close_matches(hook_name, HOOK_NAMES, n=1)
        hint = f"; did you mean {suggestion[0]!r}?" if suggestion else ""
        for impl in caller.get_hookimpls():
            problems.append(
                ConfigProblem(
                    f"plugins.{impl.plugin_name}",
                    f"implements {hook_name!r}, which is not a scalphost hook{hint}",
                )
            )
    if not problems:
        pm.check_pending()


def _hooks_of(plugin_class: type) -> tuple[str, ...]:
    return tuple(
        sorted(
            attribute
            for attribute in dir(plugin_class)
            if getattr(getattr(plugin_class, attribute, None), IMPL_MARKER, None) is not None
        )
    )


def _info(candidate: _Candidate, *, enabled: bool, hooks: tuple[str, ...]) -> PluginInfo:
    return PluginInfo(candidate.name, candidate.source, enabled, candidate.essential, hooks)
