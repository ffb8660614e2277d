"""Authentication as OKX checks it: REST headers and signature, WebSocket login.

The signature is recomputed over the request target and body *exactly as received* (raw path
with its query string, raw body text) with :mod:`host.exchange.signing`, the module the host's
client signs with. Timestamps are compared with the simulator's clock, so clock-skew faults and
``50102`` / ``60006`` behave as on OKX.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from host.clock import EPOCH
from host.exchange.signing import (
    HEADER_DEMO,
    HEADER_KEY,
    HEADER_PASSPHRASE,
    HEADER_SIGN,
    HEADER_TIMESTAMP,
    rest_signature,
    signatures_match,
    ws_login_signature,
)
from host.sim.config import ApiKey
from host.sim.wire import (
    INVALID_KEY,
    INVALID_SIGN,
    INVALID_TIMESTAMP,
    MISSING_KEY,
    MISSING_PASSPHRASE,
    MISSING_SIGN,
    MISSING_TIMESTAMP,
    TIMESTAMP_EXPIRED,
    WRONG_PASSPHRASE,
    SimOkxError,
)

WRONG_ENVIRONMENT = SimOkxError("50101", "APIKey does not match current environment.", 401)
"""A demo-trading key without ``x-simulated-trading: 1``, or a live key with it."""

# WebSocket login failures (OKX's WebSocket login codes).
WS_INVALID_TIMESTAMP = SimOkxError("60004", "Invalid timestamp")
WS_INVALID_KEY = SimOkxError("60005", "Invalid apiKey")
WS_EXPIRED = SimOkxError("60006", "Timestamp request expired")
WS_INVALID_SIGN = SimOkxError("60007", "Invalid sign")
WS_LOGIN_FAILED = SimOkxError("60009", "Login failed.")
WS_WRONG_PASSPHRASE = SimOkxError("60024", "Wrong passphrase")
WS_REPEATED_LOGIN = SimOkxError(
    "60031", "The WebSocket endpoint does not allow multiple or repeated logins."
)


@dataclass(frozen=True, slots=True)
class Verifier:
    """Checks credentials against the simulator's keys and clock window."""

    keys: tuple[ApiKey, ...]
    max_skew: timedelta
    login_window: timedelta

    def key(self, api_key: str) -> ApiKey | None:
        """The configured key called ``api_key``."""
        return next((key for key in self.keys if key.api_key == api_key), None)

    def rest(
        self, headers: Mapping[str, str], method: str, raw_path: str, body: str, now: datetime
    ) -> ApiKey:
        """Verify a private REST request; raise the :class:`SimOkxError` OKX would answer with."""
        api_key = headers.get(HEADER_KEY, "")
        passphrase = headers.get(HEADER_PASSPHRASE, "")
        signature = headers.get(HEADER_SIGN, "")
        timestamp = headers.get(HEADER_TIMESTAMP, "")
        if not api_key:
            raise MISSING_KEY
        if not passphrase:
            raise MISSING_PASSPHRASE
        if not signature:
            raise MISSING_SIGN
        if not timestamp:
            raise MISSING_TIMESTAMP
        key = self.key(api_key)
        if key is None:
            raise INVALID_KEY
        if (headers.get(HEADER_DEMO, "0") == "1") != key.demo:
            raise WRONG_ENVIRONMENT
        sent = _parse_iso(timestamp)
        if sent is None:
            raise INVALID_TIMESTAMP
        if abs(now - sent) > self.max_skew:
            raise TIMESTAMP_EXPIRED
        if passphrase != key.passphrase:
            raise WRONG_PASSPHRASE
        expected = rest_signature(key.secret_key, timestamp, method, raw_path, body)
        if not signatures_match(expected, signature):
            raise INVALID_SIGN
        return key

    def ws_login(self, arg: object, now: datetime) -> ApiKey:
        """Verify a WebSocket ``login`` arg; the timestamp may be a string or a number."""
        if not isinstance(arg, dict):
            raise WS_LOGIN_FAILED
        raw_ts = arg.get("timestamp")
        if isinstance(raw_ts, bool) or not isinstance(raw_ts, str | int | float):
            raise WS_INVALID_TIMESTAMP
        ts_text = str(raw_ts)
        try:
            seconds = float(ts_text)
        except ValueError:
            raise WS_INVALID_TIMESTAMP from None
        key = self.key(str(arg.get("apiKey", "")))
        if key is None:
            raise WS_INVALID_KEY
        if abs((now - EPOCH).total_seconds() - seconds) > self.login_window.total_seconds():
            raise WS_EXPIRED
        if arg.get("passphrase") != key.passphrase:
            raise WS_WRONG_PASSPHRASE
        if not signatures_match(
            ws_login_signature(key.secret_key, ts_text), str(arg.get("sign", ""))
        ):
            raise WS_INVALID_SIGN
        return key


def _parse_iso(text: str) -> datetime | None:
    """``2020-12-08T09:08:57.715Z`` → aware UTC; None if it is not that format."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None or not text.endswith("Z"):
        return None
    return moment
