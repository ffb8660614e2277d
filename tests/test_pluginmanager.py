"""The plugin manager: enabling by name, refusals, settings, real entry-point discovery, order."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import EntryPoints, distributions
from pathlib import Path

import pytest
import yaml
from plugin_factory import ESSENTIAL_PLUGINS, NOW, ctx, make_host
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

from host import Fill, Side, hookimpl, pluginmanager
from host.cli import app
from host.errors import ConfigError
from host.pluginmanager import (
    BUILTIN_PLUGINS,
    BuiltinPlugin,
    build_plugin_host,
    list_plugins,
    loader_for,
)
from host.settings import Settings


def a_fill() -> Fill:
    return Fill(
        "BTC-USDT-SWAP", "t1", "o1", "c1", Side.BUY, Decimal(100), Decimal(1), Decimal(0), NOW
    )


class Recorder:
    """A plugin that notes each fill it hears about."""

    heard: list[str]

    def __init__(self) -> None:
        self.heard = []

    @hookimpl
    def on_fill(self, fill: Fill) -> None:
        self.heard.append(fill.trade_id)


def problems_of(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


def test_builtins_are_enabled_by_default_and_essential_is_marked() -> None:
    host = make_host()
    [guard] = [info for info in host.plugins if info.name == "drift_guard"]
    assert guard.enabled
    assert guard.essential
    assert guard.source == "built-in"
    assert guard.hooks == ("on_position_drift",)


def test_a_plugin_disabled_by_name_is_blocked_and_never_called() -> None:
    host = make_host(Recorder, sections={"recorder": {"enabled": False}})
    assert host.pm.is_blocked("recorder")
    assert "recorder" not in host.instances
    host.dispatch.on_fill(a_fill(), None, ctx())
    assert host.faults.total == 0


def test_enabled_is_parsed_like_an_env_override() -> None:
    host = make_host(Recorder, sections={"recorder": {"enabled": "false"}})
    assert host.pm.is_blocked("recorder")


def test_unknown_plugin_name_is_a_config_error_listing_the_available_ones() -> None:
    with pytest.raises(ConfigError) as error:
        make_host(Recorder, sections={"trailng_stop": {"enabled": True}})
    assert problems_of(error) == [
        "plugins.trailng_stop: unknown plugin; available: drift_guard, recorder"
    ]


def test_essential_plugin_refuses_to_be_disabled() -> None:
    with pytest.raises(ConfigError) as error:
        make_host(sections={"drift_guard": {"enabled": False}})
    assert problems_of(error) == [
        "plugins.drift_guard.enabled: drift_guard is essential and cannot be disabled"
    ]


class Tunable:
    """A plugin with its own validated settings."""

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        window: int = 20

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @hookimpl
    def on_fill(self, fill: Fill) -> None:
        """Present so the plugin is registered."""


def test_plugin_settings_are_validated_and_given_to_the_constructor() -> None:
    host = make_host(Tunable, sections={"tunable": {"window": "50"}})
    instance = host.instances["tunable"]
    assert isinstance(instance, Tunable)
    assert instance.settings.window == 50


def test_one_nested_plugin_setting_overrides_and_its_siblings_keep_their_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plugins.trailing_stop import TrailingStop

    monkeypatch.setenv(
        "SCALPHOST_PLUGINS__TRAILINGSTOP__BY_REGIME__TRENDING__TRAIL_DISTANCE", "0.003"
    )
    host = make_host(TrailingStop)
    instance = host.instances["trailingstop"]
    assert isinstance(instance, TrailingStop)
    defaults = TrailingStop.Settings().by_regime
    changed = instance.settings.by_regime
    assert changed.trending.trail_distance == Decimal("0.003")
    assert changed.trending.activation_offset == defaults.trending.activation_offset
    assert (changed.ranging, changed.choppy) == (defaults.ranging, defaults.choppy)


def test_config_show_prints_the_effective_plugin_settings() -> None:
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)["plugins"]
    assert shown["trailing_stop"]["enabled"] is True
    assert shown["trailing_stop"]["by_regime"]["ranging"]["trail_distance"] == "0.0012"


def test_bad_plugin_settings_name_the_field_path() -> None:
    with pytest.raises(ConfigError) as error:
        make_host(Tunable, sections={"tunable": {"window": "many", "colour": "red"}})
    assert sorted(problems_of(error)) == [
        "plugins.tunable.colour: Extra inputs are not permitted",
        "plugins.tunable.window: Input should be a valid integer, "
        "unable to parse string as an integer",
    ]


def test_settings_for_a_plugin_without_settings_are_refused() -> None:
    with pytest.raises(ConfigError) as error:
        make_host(Recorder, sections={"recorder": {"threshold": 3}})
    assert problems_of(error) == ["plugins.recorder: takes no settings, got ['threshold']"]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        make_host(Tunable, sections={"tunable": {"window": "x"}, "nope": {}})
    assert len(error.value.problems) == 2


def test_plugins_that_compare_equal_still_register_separately() -> None:
    """pluggy refuses a plugin equal to one already registered; the guard proxy avoids that."""

    @dataclass
    class Same:
        @hookimpl
        def on_fill(self, fill: Fill) -> None:
            """Equal dataclass instances."""

    class Other(Same):
        pass

    host = make_host(Same, Other)
    assert {"same", "other"} <= set(host.instances)


def test_hook_call_order_external_first_then_builtin_then_trylast() -> None:
    calls: list[str] = []

    class Early:
        @hookimpl
        def on_fill(self) -> None:
            calls.append("early")

    class Late:
        @hookimpl
        def on_fill(self) -> None:
            calls.append("late")

    class Last:
        @hookimpl(trylast=True)
        def on_fill(self) -> None:
            calls.append("last")

    class First:
        @hookimpl(tryfirst=True)
        def on_fill(self) -> None:
            calls.append("first")

    host = make_host(Last, Early, Late, First)
    host.dispatch.on_fill(a_fill(), None, ctx())
    # tryfirst band, then later registrations before earlier ones, then the trylast band.
    assert calls == ["first", "late", "early", "last"]


# --- external plugins through a real *.dist-info on sys.path ---------------------------------


DEMO_EXIT = """
from host import CloseNow, hookimpl

class DemoExit:
    @hookimpl
    def on_tick_exit(self, tick, positions):
        return {position.pos_id: CloseNow("demo") for position in positions}
"""


def install_fake_distribution(
    root: Path, *, entry_name: str = "demo_exit", source: str = DEMO_EXIT
) -> None:
    """Write a real package and its dist-info metadata, as pip would, into ``root``.

    ``source`` is the package's ``__init__.py``; the entry point names its ``DemoExit``. A copy
    imported by an earlier test is forgotten, so this test imports this source.
    """
    sys.modules.pop("scalphost_demo_exit", None)
    importlib.invalidate_caches()
    package = root / "scalphost_demo_exit"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(source))
    info = root / "scalphost_demo_exit-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: scalphost-demo-exit\nVersion: 1.2.3\n"
    )
    (info / "entry_points.txt").write_text(
        f"[scalphost.plugins]\n{entry_name} = scalphost_demo_exit:DemoExit\n"
    )


@pytest.fixture
def demo_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install_fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("demo_distribution")
def test_installed_external_plugin_is_discovered_but_stays_off() -> None:
    host = make_host(discover_entry_points=True)
    [demo] = [info for info in host.plugins if info.name == "demo_exit"]
    assert demo.source == "scalphost-demo-exit 1.2.3"
    assert not demo.enabled
    assert host.pm.is_blocked("demo_exit")


@pytest.mark.usefixtures("demo_distribution")
def test_external_plugin_runs_once_enabled_in_config() -> None:
    host = make_host(discover_entry_points=True, sections={"demo_exit": {"enabled": True}})
    assert "demo_exit" in host.instances
    listed = list_plugins(Settings(plugins={"demo_exit": {"enabled": True}}))
    [demo] = [info for info in listed.plugins if info.name == "demo_exit"]
    assert demo.enabled
    assert demo.hooks == ("on_tick_exit",)


def test_external_plugin_clashing_with_a_builtin_name_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_distribution(tmp_path, entry_name="drift_guard")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as error:
        build_plugin_host(Settings())
    assert problems_of(error) == [
        "plugins.drift_guard: the name is taken twice: by built-in and by scalphost-demo-exit 1.2.3"
    ]


REQUIRED_SETTINGS = {"webhook": {"url": "https://example.invalid/hook"}}
"""Built-in settings without a default, with a value to validate the others' defaults with."""


def test_shipped_paper_config_spells_out_every_builtin_plugin_default() -> None:
    """config/paper.yaml is the reference for plugin defaults too; it must never drift."""
    shipped = yaml.safe_load((Path(__file__).parent.parent / "config" / "paper.yaml").read_text())
    sections = shipped["plugins"]
    assert set(sections) == {builtin.name for builtin in BUILTIN_PLUGINS}
    for builtin in BUILTIN_PLUGINS:
        section = dict(sections[builtin.name])
        assert section.pop("enabled") is builtin.enabled_by_default
        plugin_class = loader_for(builtin.target)()
        assert isinstance(plugin_class, type)
        required = REQUIRED_SETTINGS.get(builtin.name, {})  # no default: not in the file
        defaults = plugin_class.Settings.model_validate(required)
        assert section == defaults.model_dump(mode="json", exclude=set(required)), builtin.name


def test_scalphost_plugins_command_lists_an_installed_external_plugin(tmp_path: Path) -> None:
    install_fake_distribution(tmp_path)
    config = tmp_path / "enable.yaml"
    config.write_text("plugins:\n  demo_exit:\n    enabled: true\n")
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def listing(*extra: str) -> list[str]:
        command = [sys.executable, "-m", "host.cli", "plugins", *extra]
        # Not check=True: a broken plugin installed where the tests run makes the status 1 and
        # adds a PROBLEM column (demo_exit's cell in it is "-"); the row is the subject here.
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
        [row] = [line for line in result.stdout.splitlines() if line.startswith("demo_exit")]
        cells = re.split(r"\s{2,}", row.strip())
        assert cells[4:] in ([], ["-"])
        return cells[:4]

    source = "scalphost-demo-exit 1.2.3"
    assert listing() == ["demo_exit", source, "disabled", "on_tick_exit"]
    assert listing("--config", str(config)) == ["demo_exit", source, "enabled", "on_tick_exit"]


def discover_only(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Find entry points in the distributions under ``root`` alone.

    Real ``*.dist-info`` metadata read by :mod:`importlib.metadata`, but not the plugins that
    happen to be installed where the tests run: a test that counts problems must not count theirs.
    """
    monkeypatch.syspath_prepend(str(root))

    def found(group: str) -> EntryPoints:
        return EntryPoints(
            point
            for distribution in distributions(path=[str(root)])
            for point in distribution.entry_points.select(group=group)
        )

    monkeypatch.setattr(pluginmanager, "entry_points", found)


def test_plugins_command_shows_a_broken_plugin_as_a_row_and_exits_by_whether_run_would_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_distribution(tmp_path, source="import no_such_dependency_of_demo_exit\n")
    discover_only(tmp_path, monkeypatch)
    config = tmp_path / "enable.yaml"
    config.write_text("plugins:\n  demo_exit:\n    enabled: true\n")

    def plugins_command(*extra: str) -> tuple[int, str, list[str]]:
        result = CliRunner().invoke(app, ["plugins", *extra])
        [row] = [line for line in result.stdout.splitlines() if line.startswith("demo_exit")]
        return result.exit_code, " ".join(row.split()), result.stderr.splitlines()

    missing = "no_such_dependency_of_demo_exit"
    reason = f"cannot be loaded: ModuleNotFoundError(\"No module named '{missing}'\")"
    status, row, stderr = plugins_command()
    assert status == 1  # the config is fine; an installed plugin it leaves off is broken
    assert row == f"demo_exit scalphost-demo-exit 1.2.3 disabled, error - {reason}"
    assert stderr == [f"disabled plugin: plugins.demo_exit: {reason}"]
    status, row, stderr = plugins_command("--config", str(config))
    assert status == 2  # `run` would refuse this config, with this line
    assert row == f"demo_exit scalphost-demo-exit 1.2.3 enabled, error - {reason}"
    assert stderr == [f"config error: plugins.demo_exit: {reason}"]


# --- problems shared by `run` and `plugins` -----------------------------------------------------


def cannot_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_distribution(tmp_path, source="raise ImportError('needs numpy 9')\n")
    discover_only(tmp_path, monkeypatch)


def test_a_disabled_plugin_that_cannot_be_imported_is_listed_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cannot_import(tmp_path, monkeypatch)
    listing = list_plugins(Settings())
    [demo] = [info for info in listing.plugins if info.name == "demo_exit"]
    assert not demo.enabled
    assert [str(problem) for problem in demo.problems] == [
        "plugins.demo_exit: cannot be loaded: ImportError('needs numpy 9')"
    ]
    assert {info.name for info in listing.plugins} > {"demo_exit", "drift_guard"}
    assert listing.refused_by_run == ()
    assert listing.broken_but_disabled == demo.problems
    build_plugin_host(Settings())  # `run` never imports a disabled plugin: it is no obstacle


def test_an_enabled_plugin_that_cannot_be_imported_is_refused_by_run_and_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cannot_import(tmp_path, monkeypatch)
    settings = Settings(plugins={"demo_exit": {"enabled": True}})
    with pytest.raises(ConfigError) as error:
        build_plugin_host(settings)
    listing = list_plugins(settings)
    assert [str(problem) for problem in listing.refused_by_run] == problems_of(error)
    assert problems_of(error) == [
        "plugins.demo_exit: cannot be loaded: ImportError('needs numpy 9')"
    ]


class NoHooks:
    """Nothing marked at all: enabled, it would never be asked anything."""

    def close_after(self, seconds: int) -> int:
        return seconds


class NearMiss:
    """One real hook, and one misspelt and unmarked: run would never call it."""

    @hookimpl
    def on_fill(self) -> None:
        """Real."""

    def on_tick_exits(self) -> None:
        """Misspelt and unmarked."""


class WrongArgument:
    """Asks for an argument the hook does not pass (pluggy would refuse it at registration)."""

    @hookimpl
    def on_fill(self, fil: Fill) -> None:
        """``fil`` instead of ``fill``."""


class Asynchronous:
    @hookimpl
    async def on_fill(self, fill: Fill) -> None:
        """Never awaited."""


class Wrapper:
    @hookimpl(wrapper=True)
    def on_fill(self, fill: Fill):  # type: ignore[no-untyped-def]
        return (yield)


class Typo:
    @hookimpl
    def on_tick_exits(self) -> None:
        """Not a hook."""


class Forgot:
    def on_fill(self, fill: Fill) -> None:
        """Not marked."""


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (NoHooks, "implements no scalphost hook, so the host would never call it"),
        (
            NearMiss,
            "method 'on_tick_exits' is not marked with @hookimpl and is not a scalphost hook; "
            "did you mean 'on_tick_exit'?",
        ),
        (
            WrongArgument,
            "hook 'on_fill' asks for 'fil', which the hook does not pass; "
            "it passes fill, position, ctx",
        ),
        (
            Asynchronous,
            "hook 'on_fill' is async; hooks must be synchronous (the host does all I/O and "
            "awaiting)",
        ),
        (Wrapper, "hook 'on_fill' is a wrapper; wrappers are reserved for the host"),
        (
            Typo,
            "implements 'on_tick_exits', which is not a scalphost hook; did you mean "
            "'on_tick_exit'?",
        ),
        (Forgot, "method 'on_fill' is not marked with @hookimpl"),
    ],
)
def test_run_and_plugins_refuse_the_same_hooks_with_the_same_words(
    plugin: type, expected: str
) -> None:
    name = plugin.__name__.lower()
    with pytest.raises(ConfigError) as error:
        make_host(plugin)
    [problem] = problems_of(error)
    assert problem == f"plugins.{name}: {expected}"
    extra = (BuiltinPlugin(name, plugin),)
    for sections in ({}, {name: {"enabled": False}}):
        listing = list_plugins(
            Settings(plugins=sections),
            builtins=ESSENTIAL_PLUGINS + extra,
            discover_entry_points=False,
        )
        [info] = [info for info in listing.plugins if info.name == name]
        assert [str(found) for found in info.problems] == [problem]
        assert bool(listing.refused_by_run) is info.enabled


def test_helper_methods_with_names_unlike_a_hook_are_left_alone() -> None:
    class Helpers:
        @hookimpl
        def on_fill(self) -> None:
            """Real."""

        def on_tick(self) -> None:
            """A helper, not a near miss of on_tick_exit."""

        def fill_count(self) -> int:
            return 0

    assert "helpers" in make_host(Helpers).instances


def test_the_listing_says_exactly_what_run_would_refuse() -> None:
    sections = {"recorder": {"enabled": "maybe"}, "nope": {}, "drift_guard": {"enabled": False}}
    with pytest.raises(ConfigError) as error:
        make_host(Recorder, sections=sections)
    listing = list_plugins(
        Settings(plugins=sections),
        builtins=(*ESSENTIAL_PLUGINS, BuiltinPlugin("recorder", Recorder)),
        discover_entry_points=False,
    )
    assert sorted(map(str, listing.refused_by_run)) == sorted(problems_of(error))
    assert len(listing.refused_by_run) == 3
    assert listing.broken_but_disabled == ()
