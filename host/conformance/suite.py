"""How the shipped suites become test methods of each subclass a user writes.

A suite's properties are written once, on the base class, and marked with :func:`prop`. Each
subclass gets its *own* hypothesis-wrapped copy of every property: hypothesis refuses (health
check ``differing_executors``) one wrapped method run on behalf of several classes, which is
exactly what two plugins checked by the same suite in one test module would do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import given
from hypothesis import strategies as st

_STRATEGIES = "_scalphost_property_strategies"


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

            def copy(self: object, *args: Any, _method: Any = method, **kwargs: Any) -> None:
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
    settings: ClassVar[st.SearchStrategy[Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bind_properties(cls)

    def draw_settings(self, data: st.DataObject) -> Any:
        """Settings for one example (``None``: the model's defaults)."""
        return data.draw(self.settings) if self.settings is not None else None

    def fresh(self, settings: Any) -> Any:
        """A new plugin instance, as the host builds it at start-up."""
        return build_plugin(self.plugin_class, settings)
