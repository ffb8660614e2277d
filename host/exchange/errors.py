"""Typed OKX errors: what went wrong, with OKX's code, and what the caller may safely do next.

HTTP 200 does not mean accepted (a rejected order comes back 200 with ``code:"1"`` and the reason
in ``data[i].sCode``), and a timeout does not mean refused (OKX: "does not mean that the request
was successful or failed"). So the client never decides from the HTTP status alone; it sorts
every failure into one of these classes, and the class says whether a retry is safe.
"""

from __future__ import annotations

AUTH_CAUSES: dict[str, str] = {
    "50101": "the API key belongs to the other environment (a demo key on live, or the reverse)",
    "50102": "the local clock is off from OKX's server time",
    "50103": "the API key is missing",
    "50104": "the passphrase is missing",
    "50105": "wrong passphrase",
    "50106": "the signature is missing",
    "50107": "the timestamp is missing",
    "50110": "this IP address is not on the API key's whitelist",
    "50111": "the API key does not exist (wrong key, or a key of another region)",
    "50112": "the timestamp header is malformed",
    "50113": "invalid signature: wrong secret key",
    "50114": "invalid authorization",
    "60004": "invalid login timestamp",
    "60005": "the API key does not exist (wrong key, or a key of another region)",
    "60006": "the local clock is off from OKX's server time",
    "60007": "invalid signature: wrong secret key",
    "60009": "login failed: check key, secret key and passphrase",
    "60024": "wrong passphrase",
    "60032": "the API key does not exist (wrong key, or a key of another region)",
}
"""OKX authentication codes (REST 501xx, WebSocket 600xx) and their likely cause."""

RATE_LIMIT_CODES = frozenset({"50011", "50061"})
"""Rate limit reached (per endpoint) or the sub-account's order rate limit: back off."""

TRANSIENT_CODES = frozenset({"50001", "50004", "50013", "50026"})
"""Service unavailable, endpoint timeout, system busy, system error: the outcome is unknown."""

CLOCK_SKEW_CODE = "50102"

POSITION_GONE_CODE = "51023"
"""``Position does not exist``: the position closed (our close, a stop, the app) before this
request about it arrived — a race the exchange settles, not a failure to report as one."""

NO_POSITION_CODES = frozenset({POSITION_GONE_CODE, "51169"})
"""A reduce-only order or a stop refused because there is no position to reduce (``51169``: no
position in this direction): the host's picture of the position is out of date."""


class OkxError(Exception):
    """An OKX request failed; ``code`` is OKX's (``"0"`` never appears here)."""

    def __init__(self, code: str, message: str, *, path: str = "", http_status: int = 0) -> None:
        self.code = code
        self.message = message
        self.path = path
        self.http_status = http_status
        where = f" ({path})" if path else ""
        super().__init__(f"OKX {code}: {message}{where}")


class OkxRejected(OkxError):
    """OKX refused the request (a parameter, the balance, the instrument...): it had no effect.

    For trade endpoints this is the item's ``sCode``/``sMsg``; retrying the same request gives
    the same answer.
    """


class OkxAuthError(OkxError):
    """Authentication failed. Not retryable: the configuration or the clock must be fixed."""

    @property
    def likely_cause(self) -> str:
        """A one-line guess at the cause, for the user."""
        return AUTH_CAUSES.get(self.code, "authentication failed")


class OkxRateLimited(OkxError):
    """Still over the rate limit after the client's own back-off and retries."""


class OkxUnavailable(OkxError):
    """The exchange did not answer usably (5xx, timeout, busy) for a request safe to repeat."""


class AmbiguousOutcome(OkxError):
    """A request that changes state got no usable answer: it may or may not have taken effect.

    Never answered by sending it again blindly; the caller resolves it by asking the exchange
    (an order by its ``clOrdId``).
    """
