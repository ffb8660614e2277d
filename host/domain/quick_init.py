"""A cheaper constructor for the frozen value objects built on every tick.

A frozen dataclass's generated ``__init__`` writes each field with ``object.__setattr__(self,
"name", value)``, because the class's own ``__setattr__`` refuses: a generic attribute write that
looks the field up by name, once per field. On the hot path (a ``tickers`` frame to a decision)
that made building a :class:`~host.domain.Tick` or a :class:`~host.context.HookContext` cost more
than the decision itself. :func:`quick_init` gives such a class an ``__init__`` that writes each
slot through the slot's own descriptor instead: the same parameters and defaults, about half the
cost.

Nothing else changes: the instance stays frozen (``__setattr__`` and ``__delattr__`` still
raise ``FrozenInstanceError``), and ``dataclasses.replace``, ``fields``, ``asdict``, equality,
hashing and ``repr`` work as before. A class the fast ``__init__`` could not honour (not frozen,
no slots, a ``__post_init__``, a default factory, a keyword-only or ``init=False`` field) is
refused when it is decorated, so it cannot silently lose a behaviour.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of a ``@dataclass(frozen=True, slots=True)`` with a direct one.

    Apply it above the ``@dataclass`` decorator.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    params: Any = getattr(cls, "__dataclass_params__", None)
    refused = (
        params is None
        or not params.frozen
        or "__slots__" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(
            not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING for f in fields
        )
    )
    if refused or not fields:
        raise TypeError(f"quick_init needs a plain frozen slotted dataclass, not {cls.__name__}")
    namespace: dict[str, Any] = {}
    parameters, body = [], []
    for index, field in enumerate(fields):
        namespace[f"_set{index}"] = cls.__dict__[field.name].__set__
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default{index}"] = field.default
            parameters.append(f"{field.name}=_default{index}")
        body.append(f"    _set{index}(self, {field.name})\n")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + "".join(body)
    exec(source, namespace)  # noqa: S102 -- generated from the field names, as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = f"Build a {cls.__name__}, each field written straight into its slot."
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
