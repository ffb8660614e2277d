"""Open a page in a real headless Chromium and report what a user would see.

Driven over the Chrome DevTools Protocol with the ``websockets`` client the host already
depends on, rather than Playwright: Playwright brings its own Node driver and expects browser
builds it downloads, while this needs only Debian's ``chromium`` and four protocol domains.
The browser is started with a fresh profile and everything that could reach the network off
(the machine has no internet; the page must need none).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
)
LOAD_TIMEOUT_S = 60.0

# Waits in the page (not in Python) until every plotly div has drawn, or gives up after 5 s of
# the browser's time (at once without plotly.js); then answers the `.main-svg` layers drawn per
# plot div. plotly draws during the page's load, so the wait is a margin, not a sleep.
_COUNT_RENDERED = """
new Promise(resolve => {
  const started = performance.now();
  const count = () => Array.from(document.querySelectorAll('.plotly-graph-div'),
      div => [div.id, div.querySelectorAll('.main-svg').length]);
  const check = () => {
    const counts = count();
    const waited = performance.now() - started;
    if (counts.every(([, n]) => n > 0) || !window.Plotly || waited > 5000) resolve(counts);
    else requestAnimationFrame(check);
  };
  check();
})
"""


@dataclass
class PageView:
    """What loading one page showed: console errors, plots drawn, a screenshot."""

    errors: list[str] = field(default_factory=list)
    rendered: dict[str, int] = field(default_factory=dict)
    """``.main-svg`` layers drawn per plotly div id (0: the plot did not render)."""
    screenshot: bytes = b""
    ready: Any = None
    """What the ``ready`` script resolved to."""


class _Session:
    """One CDP session on one page target: numbered commands, events kept for the caller."""

    _ids = itertools.count(1)

    def __init__(self, socket: Any, session_id: str | None, view: PageView) -> None:
        self._socket = socket
        self._session_id = session_id
        self._view = view
        self.loaded = False

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        message = {"id": number, "method": method, "params": params}
        if self._session_id is not None:
            message["sessionId"] = self._session_id
        await self._socket.send(json.dumps(message))
        while True:
            reply = json.loads(await self._socket.recv())
            if reply.get("id") == number:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply["result"])
            self._note(reply)

    async def until_loaded(self) -> None:
        while not self.loaded:
            self._note(json.loads(await self._socket.recv()))

    def _note(self, event: dict[str, Any]) -> None:
        method, params = event.get("method"), event.get("params", {})
        if method == "Page.loadEventFired":
            self.loaded = True
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self._view.errors.append(f"exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            words = [str(arg.get("value", arg.get("description"))) for arg in params["args"]]
            self._view.errors.append(f"console.{params['type']}: {' '.join(words)}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self._view.errors.append(f"{entry['source']}: {entry['text']} {entry.get('url', '')}")


async def view_page(page: Path | str, profile: Path, ready: str | None = None) -> PageView:
    """Load ``page`` (a file, or a URL) in a fresh headless Chromium and look at it.

    ``ready``: a script whose promise the page must resolve before the screenshot (a live page
    waiting for its data); what it resolves to is kept as :attr:`PageView.ready`.
    """
    url = page if isinstance(page, str) else page.resolve().as_uri()  # noqa: ASYNC240 - no disk wait
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        return await asyncio.wait_for(_drive(process, url, ready), LOAD_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _drive(process: asyncio.subprocess.Process, page: str, ready: str | None) -> PageView:
    url = await _devtools_url(process)
    view = PageView()
    async with websockets.connect(url, max_size=None) as socket:
        browser = _Session(socket, None, view)
        target = await browser.call("Target.createTarget", url="about:blank")
        attached = await browser.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        session = _Session(socket, attached["sessionId"], view)
        for domain in ("Page", "Runtime", "Log"):
            await session.call(f"{domain}.enable")
        await session.call("Page.navigate", url=page)
        await session.until_loaded()
        counts = await session.call(
            "Runtime.evaluate", expression=_COUNT_RENDERED, awaitPromise=True, returnByValue=True
        )
        view.rendered = dict(counts["result"]["value"])
        if ready is not None:
            answer = await session.call(
                "Runtime.evaluate", expression=ready, awaitPromise=True, returnByValue=True
            )
            view.ready = answer["result"].get("value")
        metrics = await session.call("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        shot = await session.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        view.screenshot = base64.b64decode(shot["data"])
    return view


async def _devtools_url(process: asyncio.subprocess.Process) -> str:
    """The browser's DevTools WebSocket, from the line Chromium prints when it listens."""
    assert process.stderr is not None
    lines: list[str] = []
    while line := (await process.stderr.readline()).decode(errors="replace"):
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:
            return found.group(1)
        lines.append(line)
    raise RuntimeError("chromium exited before listening:\n" + "".join(lines[-20:]))
