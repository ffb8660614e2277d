"""The monitoring endpoint: ``/metrics``, the status page and its JSON, on the host's own loop.

Read-only by construction: every route is a GET and any other method is answered 405 before
routing, so nothing here can change what the host does. Bound to 127.0.0.1 unless configured
otherwise; any other address needs ``monitoring.token`` (the settings refuse to load without
one), and with a token set every request must carry it — ``Authorization: Bearer <token>``
(what Prometheus' ``authorization`` setting sends) or ``?token=`` (what a browser can open). The
token is compared in constant time and never echoed.
"""

from __future__ import annotations

import hmac
import logging
from importlib import resources

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from host.monitor.metrics import metrics_registry
from host.monitor.status import status_document
from host.monitor.watched import Watched
from host.settings import MonitoringSettings

_log = logging.getLogger(__name__)

PAGE = resources.files("host.monitor").joinpath("page.html").read_text(encoding="utf-8")
"""The status page: one static HTML file with its script inline, no build step."""

STATUS_PATHS = ("/", "/status")
JSON_PATH = "/status.json"
METRICS_PATH = "/metrics"


class MonitoringError(RuntimeError):
    """The endpoint could not start (its address is taken or cannot be bound)."""


def _authorised(request: web.Request, token: str | None) -> bool:
    if token is None:
        return True
    header = request.headers.get("Authorization", "")
    offered = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    offered = offered or request.query.get("token", "")
    return hmac.compare_digest(offered.encode(), token.encode())


def build_app(settings: MonitoringSettings, watched: Watched) -> web.Application:
    """The aiohttp application: GET only, the token checked on every request when set."""
    token = None if settings.token is None else settings.token.get_secret_value() or None
    registry = metrics_registry(watched)

    @web.middleware
    async def read_only(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        if not _authorised(request, token):
            raise web.HTTPUnauthorized(
                text="a token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        return await handler(request)

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def status_json(_: web.Request) -> web.Response:
        return web.json_response(status_document(watched), headers={"Cache-Control": "no-store"})

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", charset="utf-8")

    app = web.Application(middlewares=[read_only])
    app.router.add_get(METRICS_PATH, metrics, allow_head=False)
    app.router.add_get(JSON_PATH, status_json, allow_head=False)
    for path in STATUS_PATHS:
        app.router.add_get(path, page, allow_head=False)
    return app


class MonitorServer:
    """The endpoint of one session: started after the engine is assembled, stopped with it."""

    def __init__(self, settings: MonitoringSettings, watched: Watched) -> None:
        self._settings = settings
        self._runner = web.AppRunner(build_app(settings, watched), access_log=None)
        self.url = ""
        """``http://host:port`` once started (the port the system chose when configured 0)."""

    async def start(self) -> None:
        """Listen; :class:`MonitoringError` naming the address when it cannot be bound."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._settings.host, self._settings.port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            raise MonitoringError(
                f"monitoring: cannot listen on {self._settings.host}:{self._settings.port} "
                f"({error.strerror or error})"
            ) from None
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{_url_host(host)}:{port}"
        _log.info("monitoring: metrics at %s%s, status at %s/", self.url, METRICS_PATH, self.url)

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        await self._runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def start_monitoring(watched: Watched) -> MonitorServer | None:
    """Start the endpoint if ``monitoring.enabled``; ``None`` (nothing listens) otherwise."""
    settings = watched.settings.monitoring
    if not settings.enabled:
        return None
    server = MonitorServer(settings, watched)
    await server.start()
    return server
