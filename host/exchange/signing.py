"""OKX v5 request signing, shared by the host's client and the simulator's verifier.

OKX signs ``Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body))``, where the
request path includes the query string exactly as sent and the body is the exact JSON text sent
(empty for a GET). The WebSocket login signs the same way over ``timestamp + "GET" +
"/users/self/verify"`` with the timestamp in epoch *seconds*. Keeping both sides on one function
means the simulator can never accept a signature real OKX would refuse for a reason of ours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

HEADER_KEY = "OK-ACCESS-KEY"
HEADER_SIGN = "OK-ACCESS-SIGN"
HEADER_TIMESTAMP = "OK-ACCESS-TIMESTAMP"
HEADER_PASSPHRASE = "OK-ACCESS-PASSPHRASE"  # noqa: S105 -- a header name, not a secret
HEADER_DEMO = "x-simulated-trading"
"""``1`` sends the request to OKX demo trading (simulated money)."""

WS_LOGIN_METHOD = "GET"
WS_LOGIN_PATH = "/users/self/verify"


def sign(secret: str, prehash: str) -> str:
    """Return ``Base64(HMAC-SHA256(secret, prehash))``; the secret is used as raw UTF-8 text."""
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def rest_prehash(timestamp: str, method: str, request_path: str, body: str) -> str:
    """The text a REST request signs: its ISO timestamp, method, path with query, raw body."""
    return f"{timestamp}{method.upper()}{request_path}{body}"


def rest_signature(secret: str, timestamp: str, method: str, request_path: str, body: str) -> str:
    """Sign a REST request as OKX verifies it (``OK-ACCESS-SIGN``)."""
    return sign(secret, rest_prehash(timestamp, method, request_path, body))


def ws_login_signature(secret: str, timestamp_seconds: str) -> str:
    """Sign a WebSocket ``login`` whose ``timestamp`` is ``timestamp_seconds`` (epoch seconds)."""
    return sign(secret, f"{timestamp_seconds}{WS_LOGIN_METHOD}{WS_LOGIN_PATH}")


def signatures_match(expected: str, received: str) -> bool:
    """Compare two signatures in constant time, so a verifier leaks nothing through timing."""
    return hmac.compare_digest(expected.encode(), received.encode())
