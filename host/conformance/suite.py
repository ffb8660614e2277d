"""How the shipped suites become test methods of each subclass a user writes.

A suite's properties are written once, on the base class, and marked with :func:`prop`. Each
subclass gets its *own* hypothesis-wrapped copy of every property: hypothesis refuses (health
check ``differing_executors``) one wrapped method run on behalf of several classes, which is
exactly what two plugins checked by the same suite in one test module would do.

The per-subclass copy is also where each example is recorded (:mod:`.coverage`): how many
examples each property ran, and in how many the plugin answered. And defining a subclass loads
the scalphost hypothesis profile unless one was chosen already (:func:`.profiles.ensure_profile`).

**Warm-up.** A plugin that needs ``N`` ticks (or bars) of history before it answers is only
tested if the generated scenarios are longer than ``N``. A suite learns ``N`` from, whichever is
larger: the subclass attribute ``warmup_ticks``, and the plugin's settings — every integer field
(nested models included) whose name says ``window``, ``period``, ``warmup`` or ``lookback`` and
not a unit of time (``lookback_seconds`` is a duration, not a count). Scenarios then reach up to
:data:`.scenarios.PAST_WARMUP` times ``N`` (``N`` is capped at :data:`MAX_WARMUP`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from host.conformance.coverage import SuiteRecord, example_of
from host.conformance.profiles import ensure_profile

_STRATEGIES = "_scalphost_property_strategies"

WARMUP_WORDS = ("window", "period", "warmup", "lookback")
"""A settings field whose name holds one of these counts the ticks a plugin needs first."""

TIME_UNITS = ("second", "minute", "hour", "_ms", "millis")
"""...unless its name says it is a duration."""

MAX_WARMUP = 2_000
"""The longest warm-up a suite honours, so a go-live run stays within minutes."""


def prop(
    **strategies: st.SearchStrategy[Any],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a suite method as a property over ``strategies`` (given per subclass)."""

    def mark(method: Callable[..., None]) -> Callable[..., None]:
        setattr(method, _STRATEGIES, strategies)
        return method

    return mark


def bind_properties(cls: type) -> None:
    """Give ``cls`` its own hypothesis-wrapped copy of every inherited, un-overridden property."""
    for base in cls.__mro__[1:]:
        for name, method in vars(base).items():
            strategies = getattr(method, _STRATEGIES, None)
            if strategies is None or name in vars(cls):
                continue

            def copy(
                self: ConformanceSuite, *args: Any, _method: Any = method, **kwargs: Any
            ) -> None:
                with example_of(type(self).coverage, _method.__name__):
                    _method(self, *args, **kwargs)

            functools.update_wrapper(copy, method)
            setattr(cls, name, given(**strategies)(copy))


def build_plugin(plugin_class: type, settings: Any = None) -> Any:
    """Construct a plugin the way the host does: with its settings if it has a model."""
    model = getattr(plugin_class, "Settings", None)
    if model is None:
        return plugin_class()
    return plugin_class(settings if settings is not None else model())


class ConformanceSuite:
    """Base of the shipped suites: subclass one as ``Test...`` and name your plugin class.

    ``plugin_class`` is the class under test; ``settings`` an optional hypothesis strategy of its
    ``Settings`` (default: the model's defaults), so the properties hold for every configuration
    a user may write, not just the shipped one.
    """

    plugin_class: ClassVar[type]
    plugin_name: ClassVar[str | None] = None
    """The plugin's name in a configuration, when the class was built from one."""
    settings: ClassVar[st.SearchStrategy[Any] | None] = None
    configured_settings: ClassVar[Any] = None
    """The plugin's validated settings, when the class was built from a configuration."""
    warmup_ticks: ClassVar[int] = 0
    """Ticks (or bars) of history the plugin needs before it answers, if its settings hide it."""
    coverage: ClassVar[SuiteRecord]
    """What this class's runs measured: examples, answers and call times (see :mod:`.coverage`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ensure_profile()
        cls.coverage = SuiteRecord()
        bind_properties(cls)

    def draw_settings(self, data: st.DataObject) -> Any:
        """Settings for one example (``None``: the model's defaults)."""
        return data.draw(self.settings) if self.settings is not None else None

    def fresh(self, settings: Any) -> Any:
        """A new plugin instance, as the host builds it at start-up."""
        return build_plugin(self.plugin_class, settings)

    def warmup(self, settings: Any) -> int:
        """The history the plugin needs first: ``warmup_ticks`` or what its settings declare."""
        model = getattr(self.plugin_class, "Settings", None)
        if settings is None and model is not None:
            settings = model()
        declared = max(_declared_counts(settings, named=False), default=0)
        return min(max(self.warmup_ticks, declared), MAX_WARMUP)


def _declared_counts(value: object, *, named: bool) -> Iterator[int]:
    """Integers in ``value`` that sit under a field named like a window (see the module doc)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if named:
            yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _declared_counts(getattr(value, name), named=named or _says_warmup(name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _declared_counts(item, named=named)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _declared_counts(item, named=named)


def _says_warmup(name: str) -> bool:
    lowered = name.lower()
    return any(w in lowered for w in WARMUP_WORDS) and not any(u in lowered for u in TIME_UNITS)
