"""Real processes for the crash tests: the simulator and the host, each its own subprocess.

The simulator runs as ``scalphost sim`` (its banner gives the URLs and the test account); the
host runs as ``scalphost run --mode live`` against those URLs, exactly as it would trade any
OKX-compatible venue, and is killed with SIGKILL — no cleanup, no flush, no ``finally``. The
simulator's loopback admin endpoint is the ground truth (its ledger) and the fault switch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from host.sim.admin import TOKEN_HEADER

ROOT = Path(__file__).resolve().parent.parent
WAIT = 15.0
"""Upper bound on waiting for something that must happen (a failure bound, never a sleep)."""
POLL = 0.005
"""How often the ledger is looked at while waiting for a kill point (seconds of wall time)."""


class Lines:
    """Every line a child writes to one pipe, collected by a thread so the pipe never fills."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._stream = stream
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, wanted: str, start: int = 0, timeout: float = WAIT) -> int:
        """Index of the first line from ``start`` on containing ``wanted``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(start, len(self.lines)):
                    if wanted in self.lines[index]:
                        return index
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():  # out of time, or the child ended
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(f"no line with {wanted!r} within {timeout} s:\n{tail}")
                self._changed.wait(min(left, 0.1))

    def close(self) -> None:
        """Read to the end (the child has exited) and close the pipe."""
        self._thread.join(WAIT)
        self._stream.close()

    def text(self) -> str:
        """Everything so far, for failure messages."""
        return "\n".join(self.lines)


@dataclass
class Simulator:
    """A running ``scalphost sim`` and what its banner said."""

    process: subprocess.Popen[str]
    output: Lines
    banner: dict[str, str]

    @property
    def rest(self) -> str:
        """REST base URL."""
        return self.banner["REST"]

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (no body) or POST an admin endpoint; its JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        headers = {TOKEN_HEADER: self.banner["admin token"].split()[0]}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310
            f"{self.rest}/sim/admin/{path}", data=data, headers=headers
        )
        with urllib.request.urlopen(request, timeout=WAIT) as answer:  # noqa: S310
            return json.loads(answer.read())

    def fault(self, name: str, **params: Any) -> Any:
        """Apply one of the simulator's faults (``POST /sim/admin/faults/<name>``)."""
        answer = self.admin(f"faults/{name}", params)
        assert answer["ok"], answer
        return answer["result"]

    def ledger(self) -> list[dict[str, Any]]:
        """The exchange's whole history so far."""
        entries: list[dict[str, Any]] = self.admin("ledger")["ledger"]
        return entries

    def host_environment(self, journal_dir: Path) -> dict[str, str]:
        """The environment that points ``scalphost run --mode live`` at this simulator."""
        env = {
            name: value for name, value in os.environ.items() if not name.startswith("SCALPHOST")
        }
        return env | {
            "SCALPHOST_EXCHANGE__REST_URL": self.rest,
            "SCALPHOST_EXCHANGE__WS_URL": self.banner["WS base"],
            "SCALPHOST_CREDENTIALS__API_KEY": self.banner["api key"],
            "SCALPHOST_CREDENTIALS__SECRET_KEY": self.banner["secret key"],
            "SCALPHOST_CREDENTIALS__PASSPHRASE": self.banner["passphrase"],
            "SCALPHOST_JOURNAL__DIRECTORY": str(journal_dir),
        }


BANNER_KEYS = ("REST", "WS base", "api key", "secret key", "passphrase", "admin token")


def _spawn(*arguments: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "host.cli", *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _output(process: subprocess.Popen[str]) -> Lines:
    assert process.stdout is not None  # spawned with stdout=PIPE
    return Lines(process.stdout)


@contextmanager
def simulator(seed: int) -> Iterator[Simulator]:
    """``scalphost sim --port 0 --seed <seed>`` at speed 1, stopped (SIGINT) afterwards."""
    process = _spawn("sim", "--port", "0", "--seed", str(seed), "--speed", "1")
    output = _output(process)
    try:
        last = output.wait_for("Press Ctrl-C")
        banner: dict[str, str] = {}
        for line in output.lines[: last + 1]:
            for key in BANNER_KEYS:
                if line.startswith(key + " "):
                    banner[key] = line[len(key) :].strip()
        yield Simulator(process, output, banner)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


@dataclass
class Host:
    """A running ``scalphost run --mode live``."""

    process: subprocess.Popen[str]
    output: Lines

    def wait_ready(self) -> None:
        """Until restart recovery is complete and the host trades."""
        self.output.wait_for("restored: ")

    def kill(self) -> None:
        """SIGKILL: the process ends between two instructions, nothing is flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(WAIT)
        self.output.close()

    def stop(self) -> int:
        """SIGTERM (graceful shutdown); the exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(WAIT)
        self.output.close()
        return code

    def alive(self) -> bool:
        """Whether it still runs (it must, until killed)."""
        return self.process.poll() is None


def start_host(sim: Simulator, config: Path, journal_dir: Path, *, gated: bool = False) -> Host:
    """The host trading on ``sim`` with ``config``, journaling into ``journal_dir``.

    Ungated by default (``--skip-golive``): the crash tests are about recovery, not the go-live
    gate, which tests/test_golive.py checks with ``gated=True``.
    """
    gate = () if gated else ("--skip-golive",)
    process = _spawn(
        "run",
        "--mode",
        "live",
        *gate,
        "--config",
        str(config),
        env=sim.host_environment(journal_dir),
    )
    return Host(process, _output(process))


@contextmanager
def logged(host: Host, directory: Path, name: str) -> Iterator[Host]:
    """Use ``host``; however that ends, kill it if it still runs and keep its log as ``name``."""
    try:
        yield host
    finally:
        if host.alive():
            host.kill()
        (directory / f"{name}.log").write_text(host.output.text())


def wait_until(
    condition: Callable[[], bool], what: str, timeout: float = WAIT, every: float = POLL
) -> None:
    """Ask ``condition`` every ``every`` seconds until it holds; fail naming ``what`` if not."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)
