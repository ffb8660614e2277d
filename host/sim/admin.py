"""The admin endpoint (``/sim/admin``): advance the clock, inject faults, read the ledger.

It controls the exchange, so it must not be reachable by anything but the user's own tools. It
listens on 127.0.0.1 only, but a web page in the user's browser can still send requests there
(a ``text/plain`` cross-origin POST needs no preflight) and DNS rebinding can make a foreign
page same-origin with it. So every admin request must carry

* the **token** printed at start, in the ``X-Sim-Admin-Token`` header — a page cannot know it,
  and a custom header forces a CORS preflight the simulator never grants;
* a **Host** header naming the loopback address it listens on (DNS rebinding sends the
  attacker's host name);
* for POSTs, a JSON body with ``Content-Type: application/json``;

and every argument is bounded: ``advance`` runs at most :data:`MAX_ADVANCE_SECONDS` of
simulated time per call (a million seconds would hold the server for hours).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from host.sim.wire import SimOkxError

if TYPE_CHECKING:
    from host.sim.server import Simulator

TOKEN_HEADER = "X-Sim-Admin-Token"  # noqa: S105 -- a header name, not a secret
LOOPBACK = frozenset({"127.0.0.1", "::1"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
MAX_ADVANCE_SECONDS = 600.0
"""The most simulated time one ``advance`` call may run (6,000 steps of 100 ms)."""

AdminHandler = Callable[[web.Request, Any], Awaitable[Any]]


class AdminError(ValueError):
    """A refused admin request: HTTP status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def new_token() -> str:
    """A fresh admin token (printed by ``scalphost sim``; tests read ``Simulator.admin_token``)."""
    return secrets.token_urlsafe(24)


class AdminApi:
    """The admin routes of one simulator, each behind :meth:`guard`."""

    def __init__(self, sim: Simulator, token: str) -> None:
        self.sim = sim
        self.token = token

    def install(self, app: web.Application) -> None:
        """Add the admin routes to the server's application."""
        app.router.add_get("/sim/admin/ledger", self._wrap(self.ledger, body=False))
        app.router.add_post("/sim/admin/advance", self._wrap(self.advance, body=True))
        app.router.add_post("/sim/admin/faults/{name}", self._wrap(self.fault, body=True))

    def guard(self, request: web.Request) -> None:
        """Refuse a request from elsewhere, for another host name, or without the token."""
        if request.remote not in LOOPBACK:
            raise AdminError(403, "the simulator admin endpoint is loopback-only")
        allowed = {f"{name}:{self.sim.port}" for name in LOOPBACK_NAMES}
        if request.headers.get("Host", "") not in allowed:
            raise AdminError(403, "wrong Host header: the admin endpoint answers its own address")
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), self.token):
            raise AdminError(401, f"missing or wrong {TOKEN_HEADER} (printed at start)")

    def _wrap(self, handler: AdminHandler, *, body: bool) -> Callable[..., Awaitable[Any]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            try:
                self.guard(request)
                params = await _json_body(request) if body else {}
                result = await handler(request, params)
            except AdminError as error:
                return _reply({"ok": False, "error": str(error)}, error.status)
            except (ValueError, TypeError, SimOkxError) as error:
                return _reply({"ok": False, "error": str(error)}, 400)
            return _reply(result, 200)

        return serve

    async def ledger(self, request: web.Request, params: Any) -> Any:
        """``GET /sim/admin/ledger``: the whole history and its digest."""
        ledger = self.sim.ledger
        return {"ledger": ledger.as_json(), "digest": ledger.digest()}

    async def advance(self, request: web.Request, params: Any) -> Any:
        """``POST /sim/admin/advance {"seconds": s}``, 0 ≤ s ≤ :data:`MAX_ADVANCE_SECONDS`."""
        seconds = params.get("seconds") if isinstance(params, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError('body must be {"seconds": number}')
        if not math.isfinite(seconds) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise ValueError(f"seconds must be between 0 and {MAX_ADVANCE_SECONDS:g}")
        await self.sim.advance(timedelta(seconds=seconds))
        return {"now": self.sim.clock.now().isoformat()}

    async def fault(self, request: web.Request, params: Any) -> Any:
        """``POST /sim/admin/faults/{name}`` with the fault's arguments as a JSON object."""
        if not isinstance(params, dict):
            raise TypeError("body must be a JSON object of the fault's arguments")
        return {"ok": True, "result": self.sim.faults.apply(request.match_info["name"], params)}


async def _json_body(request: web.Request) -> Any:
    """The request's JSON body (``{}`` when empty); a non-JSON content type is refused."""
    text = await request.text()
    if not text:
        return {}
    if request.content_type != "application/json":
        raise AdminError(415, "admin requests carry JSON: Content-Type: application/json")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError("the body is not valid JSON") from None


def _reply(payload: Any, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")
