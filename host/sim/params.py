"""Reading request parameters the way OKX validates them, with OKX's ``51000`` errors.

Query strings and JSON bodies both arrive here as ``dict[str, Any]``; a value of the wrong shape is
``51000 Parameter {name} error`` (OKX's wording), never a server error.

OKX documents every parameter as a string but accepts JSON numbers too (ccxt sends ``"lever": 10``),
so a number is read as the text it spells. A decimal must be plain digits with an optional sign and
point, at most :data:`MAX_DIGITS` of them: ``1e400``, ``NaN`` or 5000 digits are ``51000``, not an
overflow deep inside the matching engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from host.sim.wire import param_error

_CLIENT_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[A-Za-z0-9]{0,16}")
MAX_DIGITS = 24
"""Digits on either side of the point a decimal parameter may have (OKX's largest fit easily)."""
_DECIMAL = re.compile(rf"-?\d{{1,{MAX_DIGITS}}}(\.\d{{1,{MAX_DIGITS}}})?")


class Params:
    """Typed access to one request's parameters."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def text(self, name: str, default: str | None = None) -> str:
        """A string parameter; required when ``default`` is None."""
        value = self.raw.get(name)
        if value is None or value == "":
            if default is None:
                raise param_error(name)
            return default
        return _as_text(name, value)

    def choice(self, name: str, options: Iterable[str], default: str | None = None) -> str:
        """A string parameter restricted to ``options``."""
        value = self.text(name, default)
        if value not in options:
            raise param_error(name)
        return value

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        """A decimal in plain notation (string or JSON number); None when absent and optional."""
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise param_error(name)
            return None
        text = _as_text(name, value)
        if not _DECIMAL.fullmatch(text):
            raise param_error(name)
        return Decimal(text)

    def positive(self, name: str) -> Decimal:
        """A required decimal greater than zero."""
        number = self.decimal(name)
        if number is None or number <= 0:
            raise param_error(name)
        return number

    def flag(self, name: str) -> bool:
        """A boolean sent as JSON ``true``/``false`` or the strings ``"true"``/``"false"``."""
        value = self.raw.get(name, False)
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return bool(value == "true")
        if value == "":
            return False
        raise param_error(name)

    def client_id(self, name: str) -> str:
        """``clOrdId``/``algoClOrdId``: up to 32 letters and digits, or absent."""
        value = self.text(name, "")
        if value and not _CLIENT_ID.fullmatch(value):
            raise param_error(name)
        return value

    def tag(self) -> str:
        """``tag``: up to 16 letters and digits."""
        value = self.text("tag", "")
        if not _TAG.fullmatch(value):
            raise param_error("tag")
        return value


def _as_text(name: str, value: Any) -> str:
    """A parameter's text: strings as sent, JSON numbers as the plain digits they spell."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    raise param_error(name)
