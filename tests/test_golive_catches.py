"""``scalphost golive`` refuses each kind of broken plugin that used to pass, as a user meets it.

Each case installs a deliberately broken plugin as a third-party package would be installed (a
real ``*.dist-info`` with an entry point in ``scalphost.plugins``, see :mod:`installed_plugins`),
enables it in a small config, and runs the real command in a subprocess::

    scalphost golive --config scalphost.yaml --profile dev --plugin NAME

It must exit 1, and the red item must name the plugin and the property in plain words and show
the counter-example beneath it: the prices, sizes and regime of the shrunk scenario and what the
plugin answered. The config is kept small for speed: one instrument, a one-minute fault session,
and ``--plugin`` so only the broken plugin's suites run (they are nearly all of the time; the
built-ins stay enabled, as in a real config, and only add their share of the paper session).

A correct config must pass too: the shipped ``config/paper.yaml`` exits 0 and writes its stamp.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from installed_plugins import environment_with, install_plugins

from host.golive.stamp import config_digest
from host.settings import load_settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

EVIDENCE_INDENT = " " * 6
"""How deep golive indents the evidence under an item."""

CHECK_FAILED_EXIT = 1


@dataclass(frozen=True)
class BrokenPlugin:
    """A broken plugin, and the red item and evidence golive must show for it."""

    name: str
    """Its entry-point name, which is also its section in the config."""
    target: str
    """``module:Class`` in the test helper modules."""
    red: str
    """The start of the red item's line, after ``FAIL  ``."""
    evidence: tuple[str, ...]
    """Patterns the item (its line and the evidence under it) must each match."""


NEVER_LOOSER = (
    "Never looser than the current stop or its own last one; clear of the market; on tick"
)
WALL_CLOCK = "Frozen, or jumping by hours between calls, the wall clock changes no answer"
RESTART = "A restart (journal replayed, no ctx.load, then on_startup) changes no verdict"
PRICES = r"\(bid \d+, ask \d+\)"
REGIME = r"\b(trending|ranging|choppy) market\b"

CASES = (
    BrokenPlugin(
        "loosens_big_positions",
        "broken_exits:LoosensBigPositions",
        f"loosens_big_positions: {NEVER_LOOSER}: broken in ",
        (
            r"\(ExitPluginSuite\.test_exit_stop_never_loosens_and_stays_on_the_safe_side\)",
            rf"a stop must never loosen: at \S+ {PRICES}",
            r"\b(long|short) ([2-9]|[1-9]\d+) contracts",  # only bigger positions show it
            REGIME,
            r"the plugin proposed StopAt\(price=Decimal\('\d+'\)",
        ),
    ),
    BrokenPlugin(
        "remembers_by_instrument",
        "broken_exits:RemembersByInstrument",
        "remembers_by_instrument: A later position of the same instrument gets the answers a "
        "fresh instance gives it: broken in ",
        (
            r"\(ExitPluginSuite\.test_exit_a_new_position_starts_afresh\)",
            r"a new position must start afresh",
            rf"the instance that saw the earlier positions, at \S+ {PRICES}",
            rf"a fresh instance, at \S+ {PRICES}",
            r"entered at \d+",
            REGIME,
        ),
    ),
    BrokenPlugin(
        "holds_by_the_wall_clock",
        "broken_exits:HoldsByTheWallClock",
        f"holds_by_the_wall_clock: {WALL_CLOCK}: broken in ",
        (
            r"\(ExitPluginSuite\.test_exit_ignores_the_wall_clock\)",
            rf"with the frozen clock, at \S+ {PRICES}",
            r"with the jumping clock, .*CloseNow\(reason='held 15 minutes'\)",
            REGIME,
        ),
    ),
    BrokenPlugin(
        "says_how_long_by_the_wall_clock",
        "broken_exits:SaysHowLongByTheWallClock",
        f"says_how_long_by_the_wall_clock: {WALL_CLOCK}: broken in ",
        (
            r"\(ExitPluginSuite\.test_exit_ignores_the_wall_clock\)",
            rf"with the frozen clock, at \S+ {PRICES}.*held 0:00:00",  # only the reason differs
            r"with the jumping clock, .*held [1-9]\d*:00:00",
            REGIME,
        ),
    ),
    BrokenPlugin(
        "waits_two_minutes_when_ranging",
        "broken_policies:WaitsTwoMinutesWhenRanging",
        "waits_two_minutes_when_ranging: No time-to-live, and no rest on the simulated clock, "
        "exceeds the regime's limit: broken in ",
        (
            r"\(LimitOrderPolicySuite\.test_limit_policy_never_waits_past_the_regime_limit\)",
            r"longer than 45 s in a ranging market \(host maximum 45 s\)",
            r"time-to-live was 120 s",
            r"entry of \d+ lots",
            r"book \d+/\d+ when placed",
        ),
    ),
    BrokenPlugin(
        "forgets_on_startup",
        "broken_policies:ForgetsOnStartup",
        f"forgets_on_startup: {RESTART}: broken in ",
        (
            r"\(CircuitBreakerSuite\.test_breaker_restart_replaying_history_changes_no_verdict\)",
            r"the restarted breaker let it through, the uninterrupted one vetoed it",
            r"Replayed journal:\n {8}\S+ \S+ (order|position) ",
            r"After the restart:\n {8}\S+ \S+ ",
        ),
    ),
    BrokenPlugin(
        "ignores_replayed_closes",
        "broken_policies:IgnoresReplayedCloses",
        f"ignores_replayed_closes: {RESTART}: broken in ",
        (
            r"\(CircuitBreakerSuite\.test_breaker_restart_replaying_history_changes_no_verdict\)",
            r"the restarted breaker let it through, the uninterrupted one vetoed it",
            r"Replayed journal:\n( {8}.*\n)* {8}\S+ \S+ position \S+ closed, net -[\d.]+ USDT",
        ),
    ),
    BrokenPlugin(
        "misspelt_exit",
        "broken_hooks:MisspeltExit",
        "plugins load: a plugin cannot be used",
        (
            r"plugins\.misspelt_exit: method 'on_tick_exits' is not marked with @hookimpl and is "
            r"not a scalphost hook; did you mean 'on_tick_exit'\?",
        ),
    ),
    BrokenPlugin(
        "async_exit",
        "broken_hooks:AsyncExit",
        "plugins load: a plugin cannot be used",
        (r"plugins\.async_exit: hook 'on_tick_exit' is async; hooks must be synchronous",),
    ),
    BrokenPlugin(
        "secretly_patient_trail",
        "broken_exits:SecretlyPatientTrail",
        "secretly_patient_trail: coverage: answered in 0 of ",
        (r"it never answered, so its passes prove nothing",),
    ),
)


def golive(
    cwd: Path, config: Path, *options: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``scalphost golive`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "host.cli", "golive", "--config", str(config), *options],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a time budget
        check=False,
    )


def red_item(stdout: str, start: str) -> str:
    """The red item whose line starts with ``start``, with the evidence indented under it."""
    lines = stdout.splitlines()
    for at, line in enumerate(lines):
        if line.startswith(f"FAIL  {start}"):
            below = itertools.takewhile(
                lambda text: text.startswith(EVIDENCE_INDENT), lines[at + 1 :]
            )
            return "\n".join([line, *below])
    raise AssertionError(f"no red item starting {start!r} in:\n{stdout}")


@pytest.mark.parametrize("broken", CASES, ids=lambda case: case.name)
def test_golive_fails_naming_the_plugin_the_rule_and_the_counter_example(
    broken: BrokenPlugin, tmp_path: Path
) -> None:
    install_plugins(tmp_path / "site", {broken.name: broken.target})
    config = tmp_path / "scalphost.yaml"
    config.write_text(
        "instruments: [BTC-USDT-SWAP]\n"
        "golive:\n  session_minutes: 1\n"
        f"plugins:\n  {broken.name}:\n    enabled: true\n",
        encoding="utf-8",
    )
    env = environment_with(
        tmp_path / "site", SCALPHOST_JOURNAL__DIRECTORY=str(tmp_path / "journal")
    )
    checked = golive(tmp_path, config, "--profile", "dev", "--plugin", broken.name, env=env)
    output = checked.stdout + checked.stderr
    assert checked.returncode == CHECK_FAILED_EXIT, output
    item = red_item(checked.stdout, broken.red)
    for pattern in broken.evidence:
        assert re.search(pattern, item), f"{pattern!r} not in:\n{item}"
    assert checked.stdout.rstrip().endswith("FAILED: not ready for live"), output
    assert not (tmp_path / "journal" / "golive").exists(), "no stamp for a failed run"


def test_the_shipped_paper_config_passes_and_is_stamped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = tmp_path / "journal"
    monkeypatch.setenv("SCALPHOST_JOURNAL__DIRECTORY", str(journal))
    paper = ROOT / "config" / "paper.yaml"
    checked = golive(tmp_path, paper, "--profile", "dev", env=dict(os.environ))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.rstrip().endswith("PASSED: ready for live")
    digest = config_digest(load_settings(paper))
    stamp = json.loads((journal / "golive" / f"{digest[:16]}.json").read_text(encoding="utf-8"))
    assert stamp["identity"]["config"] == digest
    assert stamp["profile"] == "dev"
    enabled = re.search(r"^PASS  plugins load: \d+ enabled: (.*)$", checked.stdout, re.M)
    assert enabled is not None, checked.stdout
    assert set(stamp["identity"]["plugins"]) == set(enabled[1].split(", "))
