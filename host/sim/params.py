"""Reading request parameters the way OKX validates them, with OKX's ``51000`` errors.

Query strings and JSON bodies both arrive here as ``dict[str, Any]``; a value of the wrong shape is
``51000 Parameter {name} error`` (OKX's wording), never a server error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from host.sim.wire import param_error

_CLIENT_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_TAG = re.compile(r"[A-Za-z0-9]{0,16}")


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
        if not isinstance(value, str):
            raise param_error(name)
        return value

    def choice(self, name: str, options: Iterable[str], default: str | None = None) -> str:
        """A string parameter restricted to ``options``."""
        value = self.text(name, default)
        if value not in options:
            raise param_error(name)
        return value

    def decimal(self, name: str, *, required: bool = True) -> Decimal | None:
        """A positive decimal sent as a string (OKX rejects JSON numbers for sizes and prices)."""
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise param_error(name)
            return None
        if not isinstance(value, str):
            raise param_error(name)
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise param_error(name) from None
        if not number.is_finite():
            raise param_error(name)
        return number

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
