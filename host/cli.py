"""The ``scalphost`` command: inspect the configuration and the plugins, and start the host.

A configuration problem is the user's to fix, not a crash: every command prints each problem on
its own line as ``config error: <path>: <message>`` on stderr and exits with status 2, the status
the command line itself uses for a usage error.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from host.errors import ConfigError
from host.logs import configure_logging
from host.settings import Settings, load_settings, redacted_dump, secret_values, validated_update

if TYPE_CHECKING:
    from host.pluginmanager import PluginHost, PluginInfo
    from host.sweep.candidates import GoliveVerdict
    from host.sweep.command import SweepReport
    from host.sweep.workers import Workers

CONFIG_ERROR_EXIT = 2
CHECK_FAILED_EXIT = 1

app = typer.Typer(
    name="scalphost",
    help="A plugin-based host for scalping OKX perpetual swaps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold the environment and its secrets
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="YAML config file (e.g. config/paper.yaml). Without it: the defaults. "
        "SCALPHOST_* environment variables override either.",
    ),
]

_log = logging.getLogger(__name__)


MAX_PAPER_MINUTES = 7 * 24 * 60
"""A week of simulated market: longer sessions belong to a replay of real data, in pieces."""

SWEEP_TABLE_WIDTH = 180
"""``scalphost sweep``'s tables in a pipe or a file: one run a line."""

BENCH_TABLE_WIDTH = 200
"""Columns of ``scalphost bench``'s table when it is not printed to a terminal."""

MAX_SIM_SPEED = 10_000.0
"""Faster than this the simulator's clock outruns any client, which then only sees gaps."""


def _finite(value: float | None) -> float | None:
    """Refuse NaN and infinities, which slip past ``min``/``max`` (NaN compares false to all)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("must be a finite number")
    return value


@contextmanager
def _config_errors() -> Iterator[None]:
    """Turn a :class:`ConfigError` into one stderr line per problem and exit status 2."""
    try:
        yield
    except ConfigError as error:
        for problem in error.problems:
            typer.echo(f"config error: {problem}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration as YAML, with every secret redacted.

    Each enabled plugin's section shows its effective settings, defaults filled in; a plugin
    whose settings are refused shows what the config gives it (``scalphost plugins`` says why).
    """
    with _config_errors():
        settings = load_settings(config)
    dump = redacted_dump(settings)
    dump["plugins"] = _effective_plugin_sections(settings)
    typer.echo(yaml.safe_dump(dump, sort_keys=False), nl=False)


def _effective_plugin_sections(settings: Settings) -> dict[str, Any]:
    from host.pluginmanager import list_plugins

    sections: dict[str, Any] = dict(settings.plugins)
    for info in list_plugins(settings).plugins:
        if info.settings is not None:
            sections[info.name] = {"enabled": True, **info.settings}
    return sections


@app.command("plugins")
def plugins(
    config: ConfigOption = None,
    settings: Annotated[
        bool,
        typer.Option(
            "--settings", help="Also print each enabled plugin's effective settings as YAML."
        ),
    ] = False,
) -> None:
    """List the available plugins, whether the config enables them, their hooks and problems.

    The table is printed whatever is wrong with a plugin; each problem is also a ``config error``
    line on stderr. Exit status: 2 when ``run`` would refuse this config (the same problems
    ``run`` prints, with the same status, so a script can ask ``plugins`` before it starts
    anything); 1 when the config is fine but an installed plugin it leaves off is broken (cannot
    be imported, or has hooks ``run`` would refuse once it is enabled) — worth fixing, not a
    config error; 0 when nothing is wrong.
    """
    with _config_errors():
        # Imported here: `config show` must keep working when the plugin machinery cannot load.
        from host.pluginmanager import list_plugins

        listing = list_plugins(load_settings(config))
    typer.echo(plugin_table(listing.plugins))
    if settings:
        effective = {
            info.name: info.settings for info in listing.plugins if info.settings is not None
        }
        typer.echo("\n" + yaml.safe_dump(effective, sort_keys=False), nl=False)
    for problem in listing.refused_by_run:
        typer.echo(f"config error: {problem}", err=True)
    for problem in listing.broken_but_disabled:
        typer.echo(f"disabled plugin: {problem}", err=True)
    if listing.refused_by_run:
        raise typer.Exit(CONFIG_ERROR_EXIT)
    if listing.broken_but_disabled:
        raise typer.Exit(CHECK_FAILED_EXIT)


@app.command("run")
def run(
    config: ConfigOption = None,
    mode: Annotated[
        str | None,
        typer.Option(help="paper (the built-in simulator), demo or live; overrides the config."),
    ] = None,
    minutes: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            max=MAX_PAPER_MINUTES,
            callback=_finite,
            help="Paper mode: minutes of simulated market to trade. Default: 60, or with --data "
            "the file's length.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Paper mode: the generated market's seed.")] = 1,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Paper mode: replay this OKX historical trades CSV (from "
            "https://www.okx.com/data-download) instead, to its end."
        ),
    ] = None,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="Paper mode only: replay in-process, without sockets — deterministic (the same "
            "seed, data and config give the same journal) and faster.",
        ),
    ] = False,
    skip_golive: Annotated[
        bool,
        typer.Option(
            "--skip-golive",
            help="Live mode: start without a passing go-live stamp (journaled). Not advised.",
        ),
    ] = False,
) -> None:
    """Trade: paper mode against the built-in simulator (the default), or OKX demo / live.

    Paper mode replays a seeded market session on the simulator's clock (an hour of market in
    about a minute) through the real client code and ends with a summary; its results may
    differ slightly from run to run (network timing). --fast (paper only) runs the same engine
    and plugins against the simulator in-process: deterministic, and several times faster.
    Demo and live trade until SIGINT / SIGTERM, then shut down gracefully. Live mode starts
    only with a passing `scalphost golive` stamp for exactly this config, host and plugins.
    """
    with _config_errors():
        settings = load_settings(config)
        if mode is not None:
            settings = validated_update(settings, mode=mode)
        configure_logging(settings.log_level, secret_values(settings))
        from host.pluginmanager import build_plugin_host

        # Every plugin problem is a config error before anything runs.
        plugin_host = build_plugin_host(settings)
    from host.engine.startup import StartupRefused
    from host.exchange.errors import OkxError
    from host.journal import JournalOpenError
    from host.monitor.server import MonitoringError
    from host.sim.replay import ReplayError

    if fast and settings.mode != "paper":
        typer.echo(f"--fast replays paper mode only, not {settings.mode}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT)
    try:
        if settings.mode == "paper":
            _run_paper(settings, minutes, seed, data, fast=fast)
        else:
            asyncio.run(_trade_live(settings, plugin_host, skip_golive=skip_golive))
    except StartupRefused as refused:
        typer.echo(f"refused to start: {refused}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    except ReplayError as error:
        typer.echo(f"data error: {error}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    except (JournalOpenError, MonitoringError) as error:
        shown = str(error) if isinstance(error, MonitoringError) else f"journal error: {error}"
        typer.echo(shown, err=True)
        raise typer.Exit(CHECK_FAILED_EXIT) from None
    except (OkxError, ConnectionError) as error:  # credentials refused, the link gave up
        typer.echo(f"exchange error: {error}", err=True)
        raise typer.Exit(CHECK_FAILED_EXIT) from None


@app.command("golive")
def golive(
    config: ConfigOption = None,
    profile: Annotated[
        str,
        typer.Option(help="Hypothesis profile: dev (quick), ci, or golive (thorough, minutes)."),
    ] = "golive",
    plugin: Annotated[
        list[str] | None,
        typer.Option(
            "--plugin", help="Run the conformance suites of this enabled plugin only (repeatable)."
        ),
    ] = None,
) -> None:
    """The go-live checklist for this config: exit 0 only when every item passes.

    Plugins load and implement real, synchronous hooks; the conformance suites pass for the
    enabled plugins with this config's settings, and each plugin answers in enough examples and
    within its hooks' time budgets; a fault-injected paper session keeps the invariants; with
    credentials, the exchange answers. On success a stamp lets `run --mode live` start. Exit 1
    when an item fails, 2 for a bad config.
    """
    from host.conformance.profiles import PROFILES

    with _config_errors():
        settings = load_settings(config)
        if profile not in PROFILES:
            raise ConfigError.single("--profile", f"choose one of {', '.join(PROFILES)}")
    configure_logging("ERROR", secret_values(settings))
    from host.clock import LiveClock
    from host.golive.checklist import Checklist, ItemResult
    from host.golive.items import run_checklist
    from host.golive.render import render_item

    typer.echo(f"scalphost golive: {config or 'the defaults'}, profile {profile}")

    def show(result: ItemResult) -> None:
        typer.echo(render_item(result))
        sys.stdout.flush()  # item by item, also when stdout is a pipe

    checklist = Checklist(show)
    checklist.passed("config", f"{config or 'defaults'} loads and validates")
    with _config_errors():
        run_checklist(settings, profile, tuple(plugin or ()), checklist, LiveClock())
    verdict = "PASSED: ready for live" if checklist.all_passed else "FAILED: not ready for live"
    typer.echo(verdict)
    raise typer.Exit(0 if checklist.all_passed else CHECK_FAILED_EXIT)


@app.command("faults")
def faults(
    config: ConfigOption = None,
    examples: Annotated[
        int | None,
        typer.Option(min=1, max=100_000, help="State-machine examples (the profile's if unset)."),
    ] = None,
    profile: Annotated[
        str, typer.Option(help="Scale and hypothesis profile: dev (quick), ci, or golive.")
    ] = "dev",
) -> None:
    """Run the fault suite against the built-in simulator and print its figures.

    A hypothesis state machine drives the real host with faults as rules and checks the
    invariants after every step; hostile frames, configs and command lines follow. Exit 0 only
    when nothing was violated, crashed, lost or leaked; 1 otherwise; 2 for a bad option.
    """
    from host.faults.suite import SCALES, run_fault_suite, scale_for

    with _config_errors():
        settings = load_settings(config)
        if profile not in SCALES:
            raise ConfigError.single("--profile", f"choose one of {', '.join(SCALES)}")
    configure_logging("ERROR", secret_values(settings))
    from typer.testing import CliRunner

    scale = scale_for(profile, examples)
    typer.echo(f"scalphost faults: profile {profile}, {scale.examples} examples")
    runner = CliRunner()
    figures, seconds = run_fault_suite(
        settings, profile, scale, lambda arguments: runner.invoke(app, arguments)
    )
    typer.echo(figures.render())
    typer.echo(f"{'PASSED' if figures.passed else 'FAILED'} in {seconds:.0f} s")
    raise typer.Exit(0 if figures.passed else CHECK_FAILED_EXIT)


@app.command("sweep")
def sweep(
    spec: Annotated[Path, typer.Argument(help="The sweep spec (YAML; see docs/sweep.md).")],
    output: Annotated[
        Path | None,
        typer.Option(help="Where the tables, store and best configs go. Default: sweep-<spec>/."),
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Join this Ray cluster (e.g. ray://head:10001, auto).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=4096, help="Runs at once on this machine. Default: its cores."),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="A process pool on this machine instead of Ray.")
    ] = False,
    golive: Annotated[
        bool, typer.Option("--golive", help="Then run golive for each of the best configs.")
    ] = False,
    profile: Annotated[str, typer.Option(help="--golive's hypothesis profile.")] = "dev",
) -> None:
    """Run a grid of config overrides × data as fast replays on Ray; rank them; keep the best.

    Every run is one deterministic fast replay; a re-run reuses stored results whose config,
    data and code are unchanged. Writes runs.csv, ranking.csv, sweep.sqlite3 and best/*.yaml.
    Exit 0 when every run (and golive) passed, 1 when one failed, 2 for a bad spec or option.
    """
    from host.conformance.profiles import PROFILES
    from host.sweep.spec import load_spec

    with _config_errors():
        sweep_spec = load_spec(spec)
        base = load_settings(sweep_spec.base)
        if profile not in PROFILES:
            raise ConfigError.single("--profile", f"choose one of {', '.join(PROFILES)}")
        if local and address:
            raise ConfigError.single("--address", "joins a Ray cluster; --local uses none")
    from rich.console import Console

    from host.sweep.command import run_sweep, show_report
    from host.sweep.workers import RayMissingError, RayWorkers, default_slots, local_workers

    configure_logging("ERROR", secret_values(base))
    try:
        pool = local_workers(workers or default_slots()) if local else RayWorkers(workers, address)
    except RayMissingError as missing:
        typer.echo(str(missing), err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    console = Console()
    if not console.is_terminal:  # a pipe or a file: no need to fold the tables into 80 columns
        console = Console(width=SWEEP_TABLE_WIDTH)
    try:
        report = run_sweep(sweep_spec, base, output or Path(f"sweep-{spec.stem}"), pool, console)
        show_report(report, sweep_spec, console)
        verdicts = _golive_candidates(report, sweep_spec.best, profile, pool) if golive else []
    except ConnectionError as error:  # --address: no Ray cluster there
        typer.echo(f"ray error: {error}", err=True)
        raise typer.Exit(CHECK_FAILED_EXIT) from None
    finally:
        pool.close()
    passed = not report.failed and all(verdict.passed for verdict in verdicts)
    raise typer.Exit(0 if passed else CHECK_FAILED_EXIT)


def _golive_candidates(
    report: SweepReport, best: int, profile: str, pool: Workers
) -> list[GoliveVerdict]:
    from host.golive.render import render_item
    from host.sweep.candidates import golive_candidates

    verdicts = golive_candidates(report.ranked[:best], profile, pool)
    for verdict in verdicts:
        typer.echo(f"golive {verdict.config_id}: {'PASSED' if verdict.passed else 'FAILED'}")
        for item in verdict.items:
            typer.echo("  " + render_item(item).replace("\n", "\n  "))
    return verdicts


@app.command("bench")
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny sizes: checks that it runs, figures are noise.")
    ] = False,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write every figure and the machine here.")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="Run only this scenario (repeatable): hot, socket, scale, replay."),
    ] = None,
) -> None:
    """Measure the host: hot path, latency at the socket, scale, fast replay; print a table.

    Every figure comes with its ratio to a plain reference loop run over the same frames in the
    same run (see docs/bench.md). Figures are measured, never asserted: the exit status is 0
    whatever they are, 2 for an unknown scenario.
    """
    from rich.console import Console

    from host.bench.command import SCENARIOS, render, run_bench, write_json

    unknown = [name for name in scenario or () if name not in SCENARIOS]
    if unknown:
        typer.echo(
            f"unknown scenario {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}", err=True
        )
        raise typer.Exit(CONFIG_ERROR_EXIT)
    configure_logging("ERROR", [])
    console = Console()
    if not console.is_terminal:  # a pipe or a file gets the whole table, not 80 columns of it
        console.width = BENCH_TABLE_WIDTH
    report = run_bench(quick, scenario or (), console)
    console.print(render(report))
    if json_file is not None:
        write_json(report, json_file)
        typer.echo(f"figures written to {json_file}")


async def _trade_live(settings: Settings, plugin_host: PluginHost, *, skip_golive: bool) -> None:
    """Demo or live trading; live only once :func:`~host.golive.gate.admit_live` lets it."""
    from host.golive.gate import admit_live
    from host.sessions.live import account_name, run_live

    if settings.mode != "live":
        await run_live(settings, plugin_host)
        return
    golive = await admit_live(
        settings, plugin_host, account_name(settings), skip_golive=skip_golive
    )
    await run_live(settings, plugin_host, golive)


def _run_paper(
    settings: Settings, minutes: float | None, seed: int, data: Path | None, *, fast: bool
) -> None:
    from datetime import timedelta

    from rich.console import Console

    from host.sessions.fast import run_fast
    from host.sessions.paper import run_paper
    from host.sessions.progress import SessionProgress
    from host.sessions.replay_loop import run_on_replay_loop
    from host.signals import stop_on_signals

    console = Console(stderr=True)  # on a terminal, log records and the progress bar: one writer
    configure_logging(
        settings.log_level, secret_values(settings), console if console.is_terminal else None
    )
    runner = run_fast if fast else run_paper

    async def paper(progress: SessionProgress) -> str:
        result = await runner(
            settings,
            duration=None if minutes is None else timedelta(minutes=minutes),
            seed=seed,
            data=data,
            progress=progress,
            stop=stop_on_signals(),
        )
        return result.summary()

    with SessionProgress(console) as progress:
        summary = run_on_replay_loop(paper(progress)) if fast else asyncio.run(paper(progress))
    typer.echo(summary)


@app.command("report")
def report(
    journal: Annotated[
        Path | None,
        typer.Argument(help="Journal file. Default: the paper journal of the config."),
    ] = None,
    config: ConfigOption = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only from this UTC time on (ISO 8601, e.g. 2025-01-06T08:00)."),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only before this UTC time (ISO 8601).")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write one self-contained HTML page of plots here.")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option(help="Also write the tables as CSV files into this directory.")
    ] = None,
    against_exchange: Annotated[
        bool,
        typer.Option(
            "--against-exchange",
            help="Compare the journal with OKX's record of the period instead; exit 1 on a "
            "difference. Default journal: the config's live or demo account.",
        ),
    ] = False,
) -> None:
    """What a session did, from its journal: tables here, plots in --html, tables in --csv.

    Reads the journal read-only, so it also works while a session is still writing it. Bad
    input (no journal, a time that does not parse) exits 2 with one line.
    """
    from rich.console import Console

    from host.journal import journal_path
    from host.report.command import parse_instant, run_against_exchange, run_report
    from host.report.source import Period, ReportInputError

    with _config_errors():
        settings = load_settings(config)
    try:
        period = Period(parse_instant(since, "--since"), parse_instant(until, "--until"))
        if against_exchange:
            from host.clock import LiveClock
            from host.sessions.live import account_name

            configure_logging("ERROR", secret_values(settings))
            found = asyncio.run(
                run_against_exchange(
                    journal or journal_path(settings.journal, account_name(settings)),
                    period,
                    settings,
                    LiveClock(),
                    Console(),
                )
            )
            raise typer.Exit(1 if found else 0)
        run_report(
            journal or journal_path(settings.journal, "paper"),
            period,
            settings.hooks,
            html=html,
            csv=csv,
            console=Console(),
        )
    except ReportInputError as error:
        typer.echo(f"report: {error}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None


@app.command("check")
def check(config: ConfigOption = None) -> None:
    """Check, read-only, the exchange the config points at: one line per item, exit 0 if all pass.

    Server time and latency, authentication and position mode, balance, positions, resting
    orders, private WebSocket login. A failure names its likely cause; no secret is printed.
    """
    with _config_errors():
        settings = load_settings(config)
    configure_logging("ERROR", secret_values(settings))
    exchange = settings.exchange
    from host.clock import LiveClock
    from host.exchange.check import check_connectivity
    from host.simulator_check import check_builtin_simulator

    if not exchange.rest_url or not exchange.ws_url:  # paper mode: the built-in simulator
        typer.echo(
            "no exchange.rest_url / ws_url configured: checking the built-in simulator "
            "(paper mode); give --config with OKX's URLs to check OKX"
        )
        lines = asyncio.run(check_builtin_simulator(exchange, LiveClock()))
    else:
        lines = asyncio.run(
            check_connectivity(
                exchange,
                settings.credentials,
                LiveClock(),
                rest_url=exchange.rest_url,
                ws_url=exchange.ws_url,
            )
        )
    for line in lines:
        typer.echo(str(line))
    raise typer.Exit(0 if all(line.ok for line in lines) else CHECK_FAILED_EXIT)


@app.command("status")
def status(
    config: ConfigOption = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="The host's monitoring endpoint, e.g. http://127.0.0.1:9464. Default: the "
            "config's monitoring.host and port."
        ),
    ] = None,
) -> None:
    """What a running host is doing, read from its monitoring endpoint.

    Connections, positions with their stops and PnL, resting orders, recent trades, plugins, the
    breaker, the go-live stamp. The host must run with monitoring.enabled. The token, if the
    endpoint needs one, comes from the config (SCALPHOST_MONITORING__TOKEN). Exit 1 when the
    endpoint cannot be read.
    """
    with _config_errors():
        settings = load_settings(config)
    from host.monitor.terminal import StatusUnavailable, fetch_status, print_status

    monitoring = settings.monitoring
    base = url or f"http://{monitoring.host}:{monitoring.port}"
    token = None if monitoring.token is None else monitoring.token.get_secret_value()
    try:
        document = asyncio.run(fetch_status(base, token))
    except StatusUnavailable as error:
        typer.echo(f"status: {error}", err=True)
        raise typer.Exit(CHECK_FAILED_EXIT) from None
    print_status(document)


def plugin_table(infos: Sequence[PluginInfo]) -> str:
    """Render plugins as a plain aligned table, readable in a terminal and in a pipe alike.

    When any plugin has a problem, a PROBLEM column gives each one's reasons and its status says
    ``error`` (the problems are printed on stderr too, one per line).
    """
    with_problems = any(info.problems for info in infos)
    rows = [("NAME", "SOURCE", "STATUS", "HOOKS") + (("PROBLEM",) if with_problems else ())]
    rows += [
        (
            info.name,
            info.source,
            ("enabled" if info.enabled else "disabled")
            + (", essential" if info.essential else "")
            + (", error" if info.problems else ""),
            ", ".join(info.hooks) or "-",
        )
        + (
            ("; ".join(problem.message for problem in info.problems) or "-",)
            if with_problems
            else ()
        )
        for info in infos
    ]
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


# --- simulated exchange (issue 5) -----------------------------------------------------------


@app.command("sim")
def sim(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port on 127.0.0.1; 0 picks a free one.")
    ] = 0,
    data: Annotated[
        Path | None,
        typer.Option(help="OKX historical trades or candles CSV to replay instead of generating."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated market and the ids.")] = 1,
    speed: Annotated[
        float,
        typer.Option(
            min=0.01,
            max=MAX_SIM_SPEED,
            callback=_finite,
            help="Simulated seconds per wall-clock second.",
        ),
    ] = 1.0,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Serve https/wss with a self-signed certificate made at start (its file printed).",
        ),
    ] = False,
) -> None:
    """Run the simulated OKX v5 exchange alone and print its URLs and a test account."""
    from host.sim.replay import ReplayError
    from host.sim.standalone import run as run_simulator

    def announce(text: str) -> None:
        typer.echo(text)
        sys.stdout.flush()

    try:
        run_simulator(port, seed, data, speed, announce, tls=tls)
    except (OSError, ReplayError) as error:
        typer.echo(f"sim error: {error}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None


def main() -> None:
    """Console-script entry point (``scalphost``)."""
    app(prog_name="scalphost")


if __name__ == "__main__":
    main()
