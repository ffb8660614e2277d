"""Calling one plugin's hooks directly, and checking that its answers are money- and time-safe.

The conformance suites judge a plugin on its own, before the dispatch facade could hide a bad
answer, so they call the implementation itself: with only the arguments it declares (hooks are
opt-in, as pluggy calls them) and with whatever it raises propagating into the failing test.
Every call is timed on the monotonic clock and reported to :mod:`.coverage`, so a run says how
often the plugin answered and how long its calls took.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from host.clock import LiveClock, is_aware_utc
from host.conformance.coverage import note_call
from host.hookspecs import PROJECT_NAME

_MARKER = PROJECT_NAME + "_impl"
_STOPWATCH = LiveClock()


def implements(plugin: object, hook: str) -> bool:
    """Whether ``plugin`` has a method marked as an implementation of ``hook``."""
    return getattr(getattr(plugin, hook, None), _MARKER, None) is not None


def call_hook(plugin: object, hook: str, **arguments: Any) -> Any:
    """Call ``plugin``'s implementation of ``hook`` (``None`` if it has none)."""
    if not implements(plugin, hook):
        return None
    method = getattr(plugin, hook)
    declared = _declared(getattr(method, "__func__", method))
    chosen = {name: value for name, value in arguments.items() if name in declared}
    started = _STOPWATCH.monotonic()
    answer = method(**chosen)
    note_call(plugin, hook, _STOPWATCH.monotonic() - started, answer)
    assert_clean(answer, f"{type(plugin).__name__}.{hook}")
    return answer


@functools.cache
def _declared(function: Any) -> frozenset[str]:
    """The parameter names a hook implementation declares (looked up once per function)."""
    return frozenset(inspect.signature(function).parameters)


def assert_clean(value: object, where: str) -> None:
    """Fail if an answer holds a float anywhere or a datetime that is not aware UTC."""
    if isinstance(value, float):
        raise AssertionError(f"{where}: float {value!r} in an answer; money is Decimal")
    if isinstance(value, datetime) and not is_aware_utc(value):
        raise AssertionError(f"{where}: {value!r} is not an aware UTC instant")
    if isinstance(value, str | bytes | Enum) or value is None:
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            assert_clean(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            assert_clean(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            assert_clean(item, where)
