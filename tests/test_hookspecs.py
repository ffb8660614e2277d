"""Meta-tests of the hook contract: documented uniformly, mirrored by dispatch, all tested."""

from __future__ import annotations

import inspect
import re
import types
from datetime import timedelta
from pathlib import Path

import pytest
from plugin_factory import ESSENTIAL_PLUGINS

from host import Regime, hookimpl, hookspecs
from host.dispatch import HookDispatch
from host.errors import ConfigError
from host.pluginmanager import BuiltinPlugin, build_plugin_host
from host.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SPECS = {name: getattr(hookspecs, name) for name in hookspecs.__all__}
REQUIRED_PARTS = ("When:", "Combination:", "Default:", "On error:", "Timing:", ":returns:")


def test_the_contract_has_the_hooks_the_design_needs() -> None:
    assert {"on_signal", "on_fill", "on_position_drift", "on_tick_exit"} <= set(SPECS)
    marked = {name for name, obj in vars(hookspecs).items() if hasattr(obj, "scalphost_spec")}
    assert marked == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_spec_documents_when_combination_default_error_and_timing(name: str) -> None:
    doc = inspect.getdoc(SPECS[name]) or ""
    missing = [part for part in REQUIRED_PARTS if part not in doc]
    assert not missing, f"{name} docstring lacks {missing}"
    for parameter in inspect.signature(SPECS[name]).parameters:
        assert f":param {parameter}:" in doc, f"{name} does not document {parameter}"


UNITS = {
    "µs": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
}


def test_every_hook_has_a_budget_and_nothing_else_has() -> None:
    assert set(hookspecs.HOOK_BUDGETS) == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_timing_prose_states_the_budget_of_the_mapping(name: str) -> None:
    timing = (inspect.getdoc(SPECS[name]) or "").partition("Timing:")[2]
    stated = re.findall(r"budget (\d+) (µs|ms|s)\b", timing)
    assert len(stated) == 1, f"{name}: Timing states {len(stated)} budgets"
    [(amount, unit)] = stated
    assert int(amount) * UNITS[unit] == hookspecs.HOOK_BUDGETS[name]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_dispatch_mirrors_every_spec(name: str) -> None:
    spec_params = list(inspect.signature(SPECS[name]).parameters)
    facade_params = list(inspect.signature(getattr(HookDispatch, name)).parameters)[1:]
    assert facade_params == spec_params


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_is_exercised_by_a_test(name: str) -> None:
    sources = "\n".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    assert re.search(rf"def test_hook_{name}\w*\(", sources), f"no test_hook_{name}* test"


def test_only_the_dispatch_facade_calls_hooks() -> None:
    hook_call = re.compile(rf"hook\.(?:{'|'.join(SPECS)})\(|subset_hook_caller\(")
    callers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("host", "plugins")
        for path in (ROOT / folder).rglob("*.py")
        if hook_call.search(path.read_text())
    ]
    assert callers == ["host/dispatch.py"]


def test_on_tick_exit_is_called_with_all_positions_of_an_instrument() -> None:
    assert list(inspect.signature(hookspecs.on_tick_exit).parameters) == [
        "tick",
        "positions",
        "ctx",
    ]


@hookimpl
def _trending() -> Regime:
    return Regime.TRENDING


REGIME_HOOKS = types.ModuleType("regime_hooks")
"""A module of hook functions, as pytest or datasette would take it as a plugin."""
REGIME_HOOKS.detect_regime = _trending  # type: ignore[attr-defined]


def test_a_plugin_is_a_class_as_the_contract_says_and_a_module_is_refused() -> None:
    assert "A plugin is a class." in (hookspecs.__doc__ or "")
    module_plugin = BuiltinPlugin("regime_hooks", f"{__name__}:REGIME_HOOKS")
    with pytest.raises(ConfigError) as refused:
        build_plugin_host(
            Settings(), builtins=(*ESSENTIAL_PLUGINS, module_plugin), discover_entry_points=False
        )
    assert [str(problem) for problem in refused.value.problems] == [
        "plugins.regime_hooks: must name a plugin class, not module"
    ]
