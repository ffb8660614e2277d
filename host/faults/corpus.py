"""Hostile input: mutated real OKX frames, generated configs and command lines.

* **Frames.** Every real WebSocket sample (``host/faults/samples/ws_*.json``, package data, so
  the corpus is the same in a plain ``pip install`` as in the repository), often retargeted
  at the traded instrument, then damaged: a field replaced by arbitrary JSON or an absurd number
  (``0``, ``-1``, ``1e400``, a ``ts`` of ``300000000000000``...), a field removed, the text
  truncated; plus frames generated from nothing. Each is sent over the real socket to a host
  holding an open position (adopted, its stop far beyond anything credible), which must keep
  running and send no order.
* **Configs.** Documents built from the real settings with fields replaced by arbitrary YAML
  values go through :func:`load_settings`: a :class:`ConfigError` or settings, nothing else.
* **Command lines.** Hostile options for ``config show``, ``plugins``, ``run`` and ``sim``
  through typer's runner: exit status 0, 1 or 2 and never a traceback.
"""

from __future__ import annotations

import asyncio
import copy
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from host.errors import ConfigError
from host.faults.figures import Figures
from host.faults.harness import (
    INSTRUMENT,
    HostUnderTest,
    SessionEndedError,
    captured_logs,
    close_runner,
    fault_settings,
    fault_simulator,
    key_secrets,
    lots,
    unless_stuck,
)
from host.faults.invariants import Violation, orders_sent, secret_hits, unprotected
from host.settings import Settings, load_settings, redacted_dump

SAMPLES = resources.files("host.faults") / "samples"
"""The real OKX WebSocket messages the corpus mutates, package data of ``host.faults`` (their
sources: ``SOURCES.md`` beside them); the tests read them from here too."""

ABSURD: tuple[Any, ...] = (
    "0",
    "-1",
    "1e400",
    "-1e400",
    "300000000000000",
    "9" * 30,
    "NaN",
    "Infinity",
    "",
    "0x10",
    "1e-400",
    0,
    -1,
    1e308,
    300000000000000,
    10**40,
    None,
    True,
    [],
    {},
)
"""Values a field of an OKX frame must never take, each once met in the wild or in a probe."""

PUBLIC = frozenset(
    {"tickers", "trades", "bbo-tbt", "books5", "books", "mark-price", "funding-rate"}
)
PRIVATE = frozenset({"orders", "positions", "account", "balance_and_position"})
CHANNELS = (*sorted(PUBLIC), *sorted(PRIVATE), "orders-algo", "candle1m")

FAR_STOP = "0.2"
"""The corpus host's adopted stop is 20 % away: no credible price reaches it, so any close or
stop move that follows a frame acted on garbage."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def ws_samples(directory: Traversable = SAMPLES) -> dict[str, Any]:
    """Every WebSocket sample, parsed, by file name."""
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in sorted(directory.iterdir(), key=lambda entry: entry.name)
        if entry.name.startswith("ws_") and entry.name.endswith(".json")
    }


def socket_kind(frame: Any) -> str:
    """The connection a frame arrives on: ``public``, ``private`` or ``business``."""
    arg = frame.get("arg") if isinstance(frame, dict) else None
    channel = arg.get("channel") if isinstance(arg, dict) else None
    if not isinstance(channel, str):
        return "private"
    if channel in PUBLIC:
        return "public"
    if channel in PRIVATE:
        return "private"
    return "business"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON value (the root excluded)."""
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _set(value: Any, path: tuple[Any, ...], new: Any, *, delete: bool = False) -> None:
    for key in path[:-1]:
        value = value[key]
    if delete:
        del value[path[-1]]
    else:
        value[path[-1]] = new


def _retarget(frame: Any) -> None:
    """Make a frame about the traded instrument (where it can hurt a position)."""
    for path in list(_paths(frame)):
        if path[-1] == "instId":
            _set(frame, path, INSTRUMENT)


@st.composite
def hostile_frames(draw: st.DrawFn, samples: dict[str, Any]) -> tuple[str, str, str]:
    """``(origin, socket kind, text)`` of one damaged or generated frame."""
    if not samples or draw(st.integers(0, 9)) == 0:
        channel = draw(st.sampled_from(CHANNELS))
        frame: Any = {"arg": {"channel": channel, "instId": INSTRUMENT}, "data": draw(json_values)}
        origin = f"generated {channel}"
    else:
        origin = draw(st.sampled_from(sorted(samples)))
        frame = copy.deepcopy(samples[origin])
        if draw(st.booleans()):
            _retarget(frame)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(frame))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["absurd", "json", "delete"]))
        if how == "delete":
            _set(frame, path, None, delete=True)
        else:
            new = draw(st.sampled_from(ABSURD)) if how == "absurd" else draw(json_values)
            _set(frame, path, new)
    text = json.dumps(frame)  # NaN and Infinity written as bare tokens: hostile too
    if draw(st.integers(0, 4)) == 0:
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    return origin, socket_kind(frame), text


# --- frames against a running host -----------------------------------------------------------


def corpus_settings(base: Settings, directory: Path) -> Settings:
    """The suite's settings with no signal generator and a stop far beyond credible prices."""
    settings = fault_settings(base, directory)
    plugins = {
        **settings.plugins,
        "momentum_demo": {"enabled": False},
        "drift_guard": {"stop_distance": FAR_STOP},
    }
    return settings.model_copy(update={"plugins": plugins})


class FrameTarget:
    """A host holding an adopted position, fed hostile frames one example at a time."""

    def __init__(self, base: Settings, directory: Path, figures: Figures) -> None:
        self.runner = asyncio.Runner()
        self.sim = fault_simulator(seed=1)
        self.host = HostUnderTest(corpus_settings(base, directory), self.sim)
        self.figures = figures
        self.dead = False
        """Set when the host could not be started again after a crash: the rest is not tried."""

    def open(self) -> None:
        """Start the exchange and the host, and have the host adopt an outside position."""
        self.runner.run(unless_stuck(self._open()))

    async def _open(self) -> None:
        await self.sim.start()
        await self.host.start()
        await self.host.advance(3)
        self.sim.faults.external_order(INSTRUMENT, "buy", lots(self.sim, 3))
        for _ in range(60):
            await self.host.advance(1)
            if not unprotected(self.sim, (INSTRUMENT,)):
                return
        raise RuntimeError("the corpus host never protected its position")

    def feed(self, origin: str, kind: str, text: str) -> None:
        """Send one frame; count a crash (and restart) or an order that followed it."""
        if self.dead:
            return
        self.figures.hostile["frame"] += 1
        before = orders_sent(self.sim)
        try:
            self.runner.run(unless_stuck(self._send(kind, text)))
        except SessionEndedError as ended:
            self.figures.crashed("frame", f"{origin}: {text[:300]!r}: {ended}")
            try:
                self.runner.run(self.host.start_again())
            except SessionEndedError as again:
                self.figures.crashed("frame", f"the host did not start again: {again}")
                self.dead = True
            return
        sent = orders_sent(self.sim) - before
        if sent:
            self.figures.orders_on_garbage += sent
            self.figures.evidence.append(f"order on garbage: {origin}: {text[:300]!r}")

    async def _send(self, kind: str, text: str) -> None:
        for session in self.sim.hub.matching(kind):
            session.send(text, self.sim.now())
        await self.host.settle()
        await self.host.steady()

    def close(self) -> None:
        """Stop the host and the exchange."""
        try:
            self.runner.run(unless_stuck(self._close()))
        except SessionEndedError as ended:
            self.figures.crashed("frame", f"at the end: {ended}")
        finally:
            left = close_runner(self.runner)
            if left:
                self.figures.crashed("frame", f"at the end, would not end: {left}")

    async def _close(self) -> None:
        try:
            await self.host.stop()
        except SessionEndedError as ended:
            self.figures.crashed("frame", f"at the end: {ended}")
        finally:
            await self.sim.stop()


def _generate_only(examples: int, profile: settings) -> settings:
    """Hypothesis as a generator: no shrinking (nothing raises), no database, no time limit."""
    return settings(
        profile,
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def run_frames(base: Settings, examples: int, profile: settings, figures: Figures) -> None:
    """Feed ``examples`` hostile frames to a host holding a position (see the module doc)."""
    samples = ws_samples()
    with tempfile.TemporaryDirectory(prefix="scalphost-corpus-") as directory:
        target = FrameTarget(base, Path(directory), figures)
        secrets = key_secrets(target.sim)
        with captured_logs(secrets) as log:
            try:
                target.open()

                @_generate_only(examples, profile)
                @given(hostile_frames(samples))
                def frame(case: tuple[str, str, str]) -> None:
                    target.feed(*case)

                frame()
            finally:
                target.close()
        hits = secret_hits(log.getvalue(), secrets)
        figures.secrets_found += hits
        figures.checked(
            "no secret",
            [Violation("no secret", f"{hits} credential(s) in the log")] if hits else [],
        )


# --- configs -------------------------------------------------------------------------------------


@st.composite
def hostile_configs(draw: st.DrawFn) -> str:
    """A YAML document: the real settings with fields replaced, removed or added."""
    document: Any = redacted_dump(Settings.model_construct())
    document.pop("credentials", None)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(document))
        path = draw(st.sampled_from(paths)) if paths else None
        how = draw(st.sampled_from(["absurd", "json", "delete", "add"]))
        if path is None or how == "add":
            key = draw(st.sampled_from([*document, "plugins", "_secrets_dir", "credentials"]))
            document[key] = draw(json_values)
        elif how == "delete":
            _set(document, path, None, delete=True)
        else:
            _set(document, path, draw(st.sampled_from(ABSURD) if how == "absurd" else json_values))
    text = yaml.safe_dump(document, sort_keys=False)
    if draw(st.integers(0, 5)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


def run_configs(examples: int, profile: settings, figures: Figures) -> None:
    """Load ``examples`` hostile config documents: settings or a ConfigError, nothing else."""
    with tempfile.TemporaryDirectory(prefix="scalphost-configs-") as directory:
        path = Path(directory) / "config.yaml"

        @_generate_only(examples, profile)
        @given(hostile_configs())
        def config(text: str) -> None:
            figures.hostile["config"] += 1
            path.write_text(text, encoding="utf-8")
            try:
                load_settings(path)
            except ConfigError:
                pass
            except Exception as error:
                figures.crashed("config", f"{error!r} for {text[:160]!r}")

        config()


# --- command lines -------------------------------------------------------------------------------

BAD_NUMBERS = ("nan", "inf", "-inf", "-1", "0", "1e308", "70000", "abc", "", "1" * 5000, "0x10")
"""Option values that must each be refused (minutes, speed, port)."""


@contextmanager
def hostile_files() -> Iterator[list[str]]:
    """Paths a user may hand ``--config`` or ``--data``: missing, empty, binary, a directory..."""
    with tempfile.TemporaryDirectory(prefix="scalphost-cli-") as directory:
        root = Path(directory)
        files = {
            "empty.yaml": "",
            "binary.yaml": "\x00\xff\xfe garbage \x01",
            "nested.yaml": "a: " + "[" * 5000 + "]" * 5000,
            "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "bigint.yaml": "engine:\n  reconcile_interval_seconds: " + "9" * 5000 + "\n",
            "garbage.csv": "not,a,trades\nfile\n",
        }
        for name, text in files.items():
            (root / name).write_text(text, encoding="latin-1")
        yield [str(root / name) for name in files] + [
            str(root),
            str(root / "missing.yaml"),
            "/dev/null",
        ]


def cli_arguments(files: list[str]) -> st.SearchStrategy[list[str]]:
    """Command lines that must each end with status 0, 1 or 2 and no traceback.

    ``run`` and ``sim`` always carry one number that must be refused, so none starts trading
    or serving; the rest of the line is as hostile as it likes.
    """
    path = st.sampled_from(files)
    junk = st.lists(st.text(max_size=12), max_size=2)
    config = st.lists(st.just("--config").map(lambda flag: flag) | st.just("-c"), max_size=1)

    def with_config(command: list[str]) -> st.SearchStrategy[list[str]]:
        return st.tuples(config, path, junk).map(
            lambda parts: command + ([parts[0][0], parts[1]] if parts[0] else []) + parts[2]
        )

    run = st.tuples(
        st.sampled_from(BAD_NUMBERS), st.sampled_from(["paper", "demo", "x"]), path
    ).map(lambda parts: ["run", "--minutes", parts[0], "--mode", parts[1], "--data", parts[2]])
    sim = st.tuples(st.sampled_from(BAD_NUMBERS), st.sampled_from(BAD_NUMBERS), path).map(
        lambda parts: ["sim", "--speed", parts[0], "--port", parts[1], "--data", parts[2]]
    )
    return st.one_of(
        with_config(["config", "show"]),
        with_config(["plugins"]),
        with_config(["plugins", "--settings"]),
        run,
        sim,
        junk,
    )


def run_command_lines(
    examples: int, profile: settings, figures: Figures, invoke: Callable[[list[str]], Any]
) -> None:
    """Run ``examples`` hostile command lines through ``invoke`` (typer's runner)."""
    with hostile_files() as files:

        @_generate_only(examples, profile)
        @given(cli_arguments(files))
        def command(arguments: list[str]) -> None:
            figures.hostile["command line"] += 1
            result = invoke(arguments)
            shown = f"scalphost {' '.join(a[:40] for a in arguments)}"
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                figures.crashed("command line", f"{shown}: {result.exception!r}")
            elif result.exit_code not in (0, 1, 2) or "Traceback" in result.output:
                figures.crashed("command line", f"{shown}: exit {result.exit_code}")

        command()
