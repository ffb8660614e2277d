"""The OKX v5 REST transport on aiohttp: signing, envelopes, rate limits, retries, clock offset.

Everything here is about *how* a request travels; :mod:`host.exchange.api` says *which* requests
exist. The rules that keep money safe:

* A read (GET) that fails transiently is retried with exponential back-off.
* A write (POST) is **never** re-sent after the request may have reached OKX: a timeout or a 5xx
  raises :class:`AmbiguousOutcome`, and the caller learns the outcome by asking (an order by its
  ``clOrdId``). Only a write OKX refused before acting (rate limit ``50011``, clock ``50102``,
  a connection that never opened) is sent again, unchanged.
* ``50102`` (timestamp expired) measures the offset to OKX's server time and signs with it from
  then on, instead of failing until someone fixes the host's clock.
* Authentication failures stop with the likely cause; they are not retried.
* While the host starts up (:meth:`OkxRest.waiting_out_rate_limits`) a rate limit is waited out,
  however long it lasts: there is nothing to trade yet, and giving up would end the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import orjson
from yarl import URL

from host.clock import Clock, from_okx_ms, to_okx_iso
from host.exchange.backoff import Backoff
from host.exchange.errors import (
    AUTH_CAUSES,
    CLOCK_SKEW_CODE,
    RATE_LIMIT_CODES,
    TRANSIENT_CODES,
    AmbiguousOutcome,
    OkxAuthError,
    OkxError,
    OkxRateLimited,
    OkxRejected,
    OkxUnavailable,
)
from host.exchange.health import ExchangeHealth
from host.exchange.ratelimit import RateLimiter
from host.exchange.signing import (
    HEADER_DEMO,
    HEADER_KEY,
    HEADER_PASSPHRASE,
    HEADER_SIGN,
    HEADER_TIMESTAMP,
    rest_signature,
)
from host.settings import Credentials, ExchangeSettings

_log = logging.getLogger(__name__)

Item = Mapping[str, Any]
Sleep = Callable[[float], Awaitable[None]]

SERVER_TIME_PATH = "/api/v5/public/time"
RATE_LIMIT_WAIT_CEILING_SECONDS = 2.0
"""Longest pause between tries while a rate limit is waited out: OKX counts most of its limits
over 2-second windows, so a budget is whole again by then."""
BATCH_PARTIAL = "2"
"""OKX's top-level code for a batch in which some items succeeded and some failed."""


class _Retry(Exception):
    """Internal: the attempt failed in a way that is safe to repeat after a back-off."""

    def __init__(self, error: OkxError) -> None:
        super().__init__(str(error))
        self.error = error


class NotSent(Exception):
    """A transport could not deliver the request at all: OKX never saw it (safe to re-send)."""


class NoReply(Exception):
    """A transport sent the request but got no usable reply: OKX may have acted on it."""


class Transport(Protocol):
    """Carries one signed request to OKX and brings back its status and body."""

    async def send(
        self, method: str, request_path: str, body: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """The reply's HTTP status and body; :class:`NotSent` or :class:`NoReply` if none."""
        ...


class HttpTransport:
    """Requests over an aiohttp session to ``base_url`` (OKX, or the simulator's server)."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, timeout_seconds: float
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def send(
        self, method: str, request_path: str, body: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """One HTTP exchange; a connection that never opened is :class:`NotSent`."""
        try:
            async with self._session.request(
                method,
                URL(self._base_url + request_path, encoded=True),
                data=body or None,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                return response.status, await response.read()
        except aiohttp.ClientConnectorError as error:
            raise NotSent(str(error)) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise NoReply(f"no usable reply ({type(error).__name__})") from None


class OkxRest:
    """Signed, throttled, classified OKX requests over a :class:`Transport`.

    ``session`` carries them over HTTP to ``base_url``; ``transport`` replaces that (the fast
    replay answers them in-process), and everything else here applies unchanged.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        settings: ExchangeSettings,
        credentials: Credentials,
        clock: Clock,
        health: ExchangeHealth,
        *,
        base_url: str | None = None,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: Transport | None = None,
    ) -> None:
        self._settings = settings
        self._credentials = credentials
        self._clock = clock
        self._health = health
        if transport is None:
            if session is None:
                raise ValueError("OkxRest needs an aiohttp session or a transport")
            url = base_url if base_url is not None else settings.rest_url
            transport = HttpTransport(session, url, settings.request_timeout_seconds)
        self._transport = transport
        self._limiter = limiter or RateLimiter(clock)
        self._sleep = sleep
        self._patient = False
        self.clock_offset = timedelta(0)
        """OKX's server time minus ours, measured after a ``50102``; added when signing."""

    @property
    def health(self) -> ExchangeHealth:
        """The figures this client records."""
        return self._health

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, *, auth: bool = True
    ) -> list[Item]:
        """A read: retried on rate limits and transient failures; returns ``data``."""
        query = urlencode(params) if params else ""
        request_path = f"{path}?{query}" if query else path
        return await self._with_retries(
            lambda: self._attempt("GET", path, request_path, "", auth=auth)
        )

    async def post(
        self,
        path: str,
        body: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        inst_id: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> list[Item]:
        """A write: re-sent only when OKX refused it before acting; else may be ambiguous."""
        text = orjson.dumps(body).decode()
        return await self._with_retries(
            lambda: self._attempt(
                "POST", path, path, text, auth=True, inst_id=inst_id, extra_headers=headers
            )
        )

    @contextmanager
    def waiting_out_rate_limits(self) -> Iterator[None]:
        """Within: a request refused for the rate limit is tried again until OKX takes it.

        For the start-up, whose reads the session cannot do without: after many restarts the
        account's budget may be spent for a while, and a rate limit is waited out, never a
        reason to end a session (the fault suite found one ended by ``50011`` on
        ``account/positions``). The pause doubles up to :data:`RATE_LIMIT_WAIT_CEILING_SECONDS`
        and is measured on the injected clock.
        """
        self._patient = True
        try:
            yield
        finally:
            self._patient = False

    def local_now(self) -> datetime:
        """The host's own clock, uncorrected."""
        return self._clock.now()

    def server_now(self) -> datetime:
        """OKX's time as far as we know it: our clock plus the measured offset."""
        return self._clock.now() + self.clock_offset

    async def sync_clock(self) -> timedelta:
        """Measure OKX's server time against ours (half the round trip corrects the transit)."""
        sent = self._clock.monotonic()
        data = await self.get(SERVER_TIME_PATH, auth=False)
        transit = timedelta(seconds=(self._clock.monotonic() - sent) / 2)
        server_now = from_okx_ms(data[0]["ts"]) + transit
        self.clock_offset = server_now - self._clock.now()
        _log.info("clock offset to OKX server time: %.3f s", self.clock_offset.total_seconds())
        return self.clock_offset

    # --- one attempt ---------------------------------------------------------------------------

    async def _with_retries(self, attempt: Callable[[], Awaitable[list[Item]]]) -> list[Item]:
        """Run ``attempt`` until it succeeds, fails for good, or the retries run out.

        A ``50102`` costs no retry: the clock is measured once and the request signed again; a
        second ``50102`` means the skew is not the cause, and is an authentication error.
        """
        backoff = Backoff(
            self._settings.retry_backoff_seconds,
            ceiling_seconds=RATE_LIMIT_WAIT_CEILING_SECONDS if self._patient else None,
        )
        retries = 0
        clock_synced = False
        while True:
            try:
                return await attempt()
            except _Retry as retryable:
                error = retryable.error
            if error.code == CLOCK_SKEW_CODE:
                if clock_synced:
                    raise OkxAuthError(error.code, error.message, path=error.path)
                await self.sync_clock()
                clock_synced = True
                continue
            waited_out = self._patient and error.code in RATE_LIMIT_CODES
            if retries >= self._settings.max_retries and not waited_out:
                exhausted = OkxRateLimited if error.code in RATE_LIMIT_CODES else OkxUnavailable
                raise exhausted(error.code, error.message, path=error.path)
            delay = backoff.delay(retries)
            retries += 1
            _log.warning("%s; retry %d in %.2f s", error, retries, delay)
            # A limit waited out is waited out in OKX's time (the injected clock): a simulated
            # venue moves on meanwhile, as a real one does, and frees the window.
            await (self._clock.sleep(delay) if waited_out else self._sleep(delay))

    async def _attempt(
        self,
        method: str,
        path: str,
        request_path: str,
        body: str,
        *,
        auth: bool,
        inst_id: str = "",
        extra_headers: Mapping[str, str] | None = None,
    ) -> list[Item]:
        await self._limiter.acquire(path, inst_id)
        headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if auth:
            headers.update(self._auth_headers(method, request_path, body))
        if self._settings.demo:
            headers[HEADER_DEMO] = "1"
        started = self._clock.monotonic()
        try:
            status, raw = await self._transport.send(method, request_path, body, headers)
        except NotSent as error:
            # The connection never opened, so OKX never saw the request: safe for writes too.
            raise _Retry(OkxUnavailable("connect", str(error), path=path)) from None
        except NoReply as error:
            unknown = OkxUnavailable("timeout", str(error))
            raise self._unknown_outcome(method, path, unknown) from None
        finally:
            self._health.record_request(self._clock.monotonic() - started)
        return self._unwrap(method, path, status, raw)

    def _auth_headers(self, method: str, request_path: str, body: str) -> dict[str, str]:
        key, secret, passphrase = (
            self._credentials.api_key,
            self._credentials.secret_key,
            self._credentials.passphrase,
        )
        if key is None or secret is None or passphrase is None:
            raise OkxAuthError("50103", "no API credentials configured for a private request")
        timestamp = to_okx_iso(self.server_now())
        signature = rest_signature(secret.get_secret_value(), timestamp, method, request_path, body)
        return {
            HEADER_KEY: key.get_secret_value(),
            HEADER_SIGN: signature,
            HEADER_TIMESTAMP: timestamp,
            HEADER_PASSPHRASE: passphrase.get_secret_value(),
        }

    def _unwrap(self, method: str, path: str, status: int, raw: bytes) -> list[Item]:
        """Sort one reply into data or the right error; OKX's body wins over the HTTP status."""
        try:
            payload = orjson.loads(raw)
            code = str(payload["code"])
            message = str(payload.get("msg", ""))
            data = payload.get("data") or []
        except (orjson.JSONDecodeError, KeyError, TypeError):
            if status == 429:
                raise _Retry(OkxRateLimited("50011", "HTTP 429", path=path)) from None
            unusable = OkxUnavailable(f"http{status}", "reply is not an OKX envelope", path=path)
            if status >= 500:
                raise self._unknown_outcome(method, path, unusable) from None
            raise unusable from None
        if code == "0" or (code == BATCH_PARTIAL and data):
            return list(data)  # a partial batch: the caller reads each item's sCode
        failing = [
            item for item in data if isinstance(item, dict) and item.get("sCode", "0") != "0"
        ]
        if failing:  # a trade endpoint: the item's sCode is the real reason
            code, message = str(failing[0]["sCode"]), str(failing[0].get("sMsg", ""))
        self._health.record_reject(code)
        if code in RATE_LIMIT_CODES or status == 429:
            raise _Retry(OkxRateLimited(code, message, path=path, http_status=status))
        if code == CLOCK_SKEW_CODE:
            raise _Retry(OkxAuthError(code, message, path=path, http_status=status))
        if code in AUTH_CAUSES:
            raise OkxAuthError(code, message, path=path, http_status=status)
        if code in TRANSIENT_CODES or status >= 500:
            raise self._unknown_outcome(
                method, path, OkxUnavailable(code, message, path=path, http_status=status)
            )
        raise OkxRejected(code, message, path=path, http_status=status)

    @staticmethod
    def _unknown_outcome(method: str, path: str, error: OkxError) -> Exception:
        """A read is retried; a write whose fate is unknown must be resolved, not repeated."""
        if method == "GET":
            return _Retry(error)
        return AmbiguousOutcome(error.code, error.message, path=path)
