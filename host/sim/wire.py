"""OKX's wire conventions in one place: numbers as strings, ms timestamps, envelopes, error codes.

OKX sends every number as a string, ``""`` for "not applicable", millisecond epoch strings for
instants and microsecond strings for ``inTime``/``outTime``. Its REST answers share one envelope
(``code``/``msg``/``data``), trade endpoints add a per-item ``sCode``/``sMsg`` and a top-level
``code`` of ``"1"`` when every item failed. Keeping these rules here means no handler can drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal
from typing import Any

from host.clock import EPOCH, ensure_utc, to_okx_ms

JsonDict = dict[str, Any]


def num(value: Decimal | None) -> str:
    """Format a Decimal as OKX does: plain digits, no exponent or trailing zeros; None → ``""``."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


RATIO_DIGITS = Context(prec=16)
"""OKX prints ratios (``uplRatio``, ``mgnRatio``) with about 16 significant digits."""


def ratio(value: Decimal | None) -> str:
    """A ratio as OKX prints it: :func:`num` of ``value`` rounded to 16 significant digits."""
    return num(None if value is None else RATIO_DIGITS.plus(value))


def ms(moment: datetime | None) -> str:
    """An instant as OKX's millisecond string; None as ``""``."""
    return "" if moment is None else to_okx_ms(moment)


def micros(moment: datetime) -> str:
    """An instant as a microsecond epoch string (``inTime``/``outTime`` on trade endpoints)."""
    return str((ensure_utc(moment) - EPOCH) // timedelta(microseconds=1))


def flag(value: bool) -> str:
    """A boolean as OKX's string form (``reduceOnly``, ``isTpLimit``): ``"true"``/``"false"``."""
    return "true" if value else "false"


@dataclass(frozen=True, slots=True)
class SimOkxError(Exception):
    """A request- or item-level OKX error: code, message and the HTTP status OKX answers with."""

    code: str
    msg: str
    http_status: int = 200

    def __str__(self) -> str:
        return f"{self.code} {self.msg}"


def param_error(name: str) -> SimOkxError:
    """``51000 Parameter {name} error``: OKX's answer to a missing or malformed field."""
    return SimOkxError("51000", f"Parameter {name} error", 400)


# Request-level codes (OKX's error code list).
SERVICE_UNAVAILABLE = SimOkxError("50001", "Service temporarily unavailable. Try again later", 503)
SYSTEM_ERROR = SimOkxError("50026", "System error. Try again later", 500)
SYSTEMS_BUSY = SimOkxError("50013", "Systems are busy. Please try again later.", 429)
REQUEST_TIMEOUT = SimOkxError(
    "50004",
    "API endpoint request timeout (does not mean that the request was successful or failed, "
    "please check the request result).",
    400,
)
RATE_LIMITED = SimOkxError(
    "50011",
    "Rate limit reached. Please refer to API documentation and throttle requests accordingly.",
    429,
)
TIMESTAMP_EXPIRED = SimOkxError("50102", "Timestamp request expired", 401)
MISSING_KEY = SimOkxError("50103", 'Request header "OK-ACCESS-KEY" cannot be empty.', 401)
MISSING_PASSPHRASE = SimOkxError(
    "50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.', 401
)
WRONG_PASSPHRASE = SimOkxError("50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.', 401)
MISSING_SIGN = SimOkxError("50106", 'Request header "OK-ACCESS-SIGN" cannot be empty.', 401)
MISSING_TIMESTAMP = SimOkxError(
    "50107", 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.', 401
)
INVALID_KEY = SimOkxError("50111", "Invalid OK-ACCESS-KEY.", 401)
INVALID_TIMESTAMP = SimOkxError("50112", "Invalid OK-ACCESS-TIMESTAMP.", 401)
INVALID_SIGN = SimOkxError("50113", "Invalid Sign.", 401)

# Item-level codes (sCode) and request-level trading codes.
INSTRUMENT_MISSING = SimOkxError("51001", "Instrument ID doesn't exist.")
INSUFFICIENT_MARGIN = SimOkxError("51008", "Order failed. Insufficient USDT margin in account")
DUPLICATE_CLORDID = SimOkxError("51016", "Duplicated client order ID")
BELOW_MIN_SIZE = SimOkxError("51020", "Your order should meet or exceed the minimum order amount.")
POSITION_MISSING = SimOkxError("51023", "Position does not exist.")
NOT_LOT_MULTIPLE = SimOkxError("51121", "Order quantity must be a multiple of the lot size.")
REDUCE_ONLY_NO_POSITION = SimOkxError(
    "51169",
    "Order failed because you don't have any positions in this direction for this contract.",
)
CANCEL_FAILED = SimOkxError(
    "51400", "Order cancellation failed as the order has been filled, canceled or does not exist."
)
ORDER_MISSING = SimOkxError("51603", "Order does not exist")
AMEND_FINISHED = SimOkxError(
    "51503", "Order modification failed as the order has been filled or canceled"
)
ALGO_MISSING = ORDER_MISSING
"""OKX answers an unknown algo order with the same code as an unknown order."""


def ok(data: list[JsonDict] | list[Any]) -> JsonDict:
    """The success envelope."""
    return {"code": "0", "msg": "", "data": data}


def failure(error: SimOkxError) -> JsonDict:
    """A request-level failure: no item data, OKX's code and message."""
    return {"code": error.code, "msg": error.msg, "data": []}


def items(results: list[JsonDict]) -> JsonDict:
    """A trade envelope from per-item results: ``0`` all ok, ``1`` all failed, ``2`` some failed."""
    failed = sum(1 for item in results if item["sCode"] != "0")
    if failed == 0:
        return {"code": "0", "msg": "", "data": results}
    if failed == len(results):
        return {"code": "1", "msg": "All operations failed", "data": results}
    return {"code": "2", "msg": "Bulk operation partially succeeded", "data": results}


def item_status(error: SimOkxError | None) -> JsonDict:
    """The ``sCode``/``sMsg`` pair of one item: ``"0"``/``""`` on success."""
    return {"sCode": "0", "sMsg": ""} if error is None else {"sCode": error.code, "sMsg": error.msg}
