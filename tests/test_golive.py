"""``scalphost golive`` and the stamp live trading requires.

The end-to-end tests run the real commands as a user would: ``scalphost sim`` stands in for OKX,
``scalphost golive`` checks the config (its exchange check included, since credentials are
set), and ``scalphost run --mode live`` refuses to start without the stamp and starts with it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from crash_harness import ROOT, logged, simulator, start_host

from host.clock import LiveClock
from host.golive.checklist import Checklist, ItemResult, Status
from host.golive.gate import stamp_problem
from host.golive.items import bar_history_item
from host.golive.session import fault_session
from host.golive.stamp import config_digest, identity_for, write_stamp
from host.pluginmanager import build_plugin_host
from host.settings import Settings, load_settings, validated_update

LIVE_CONFIG = """
mode: live
instruments: [BTC-USDT-SWAP]
golive:
  required_profile: dev
  session_minutes: 2
plugins:
  momentum_demo:
    enabled: false
"""
"""A live config as a user would write it; golive's profile lowered so a test can pass it."""


def settings_with(tmp_path: Path, **changes: object) -> Settings:
    journal = {"directory": tmp_path / "journal"}
    return validated_update(Settings(), journal=journal, **changes)


# --- the stamp's identity ---------------------------------------------------------------------


def test_the_digest_ignores_mode_credentials_and_log_level_but_not_a_threshold(
    tmp_path: Path,
) -> None:
    base = settings_with(tmp_path, exchange={"rest_url": "https://o", "ws_url": "wss://o"})
    same = validated_update(
        base,
        mode="demo",
        log_level="DEBUG",
        credentials={"api_key": "k", "secret_key": "s", "passphrase": "p"},
    )
    assert config_digest(same) == config_digest(base)
    tighter = validated_update(base, plugins={"time_stop": {"max_hold_seconds": {"choppy": 300}}})
    assert config_digest(tighter) != config_digest(base)


def test_a_stamp_allows_exactly_its_config_and_plugins(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, golive={"required_profile": "ci"})
    plugin_host = build_plugin_host(settings, discover_entry_points=False)
    problem = stamp_problem(settings, plugin_host)
    assert problem is not None
    assert problem.startswith("no go-live stamp for this config")

    write_stamp(settings, identity_for(settings, plugin_host), "ci", LiveClock())
    assert stamp_problem(settings, plugin_host) is None

    changed = validated_update(settings, plugins={"bracket": {"enabled": True}})
    changed_host = build_plugin_host(changed, discover_entry_points=False)
    assert "no go-live stamp" in (stamp_problem(changed, changed_host) or "")


def test_a_stamp_from_a_less_thorough_profile_is_not_enough(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)  # required_profile: golive
    plugin_host = build_plugin_host(settings, discover_entry_points=False)
    write_stamp(settings, identity_for(settings, plugin_host), "dev", LiveClock())
    problem = stamp_problem(settings, plugin_host)
    assert problem is not None
    assert "made with --profile dev; live trading needs --profile golive" in problem


def test_a_stamp_for_other_plugin_code_is_refused(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, golive={"required_profile": "dev"})
    plugin_host = build_plugin_host(settings, discover_entry_points=False)
    identity = identity_for(settings, plugin_host)
    edited = dict(identity.plugins) | {"trailing_stop": "built-in 0000000000000000"}
    stale = type(identity)(identity.config, identity.host, edited)
    write_stamp(settings, stale, "golive", LiveClock())
    assert "plugins changed since the go-live stamp (trailing_stop)" in (
        stamp_problem(settings, plugin_host) or ""
    )


# --- the commands, end to end ------------------------------------------------------------------


def scalphost(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a time budget
        check=False,
    )


def journaled_errors(journal_dir: Path) -> list[tuple[str, str]]:
    (path,) = journal_dir.glob("live-*.sqlite3")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return db.execute("SELECT source, message FROM errors").fetchall()


@pytest.mark.slow
def test_live_refuses_without_the_stamp_and_starts_with_it(tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(LIVE_CONFIG, encoding="utf-8")
    journal_dir = tmp_path / "journal"
    with simulator(seed=3) as sim:
        env = sim.host_environment(journal_dir)
        refused = scalphost("run", "--mode", "live", "--config", str(config), env=env)
        assert refused.returncode == 2, refused.stderr
        assert "refused to start: no go-live stamp for this config" in refused.stderr

        checked = scalphost("golive", "--config", str(config), "--profile", "dev", env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "PASS  exchange check" in checked.stdout  # credentials set: the sim was checked
        assert "PASSED: ready for live" in checked.stdout

        with logged(start_host(sim, config, journal_dir, gated=True), tmp_path, "gated") as host:
            host.wait_ready()
            assert host.stop() == 0
        assert journaled_errors(journal_dir) == []


@pytest.mark.slow
def test_skipping_the_gate_is_journaled(tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(LIVE_CONFIG, encoding="utf-8")
    journal_dir = tmp_path / "journal"
    with (
        simulator(seed=4) as sim,
        logged(start_host(sim, config, journal_dir), tmp_path, "skipped") as host,
    ):
        host.wait_ready()
        assert host.stop() == 0
    ((source, message),) = journaled_errors(journal_dir)
    assert source == "golive"
    assert message.startswith("live run started with --skip-golive: no go-live stamp")


# --- items judged in-process ----------------------------------------------------------------


def test_a_regime_window_longer_than_the_kept_bars_is_red(tmp_path: Path) -> None:
    results: list[ItemResult] = []
    kept = validated_update(settings_with(tmp_path), plugins={"regime": {"window": 30}})
    bar_history_item(kept, Checklist(results.append))
    short = validated_update(kept, engine={"bar_history": 20})
    bar_history_item(short, Checklist(results.append))
    assert [(r.item, r.status) for r in results] == [
        ("regime: bar history", Status.PASSED),
        ("regime: bar history", Status.FAILED),
    ]
    assert results[1].summary == (
        "needs 30 bars; the host keeps 20 (engine.bar_history): it would never answer in a run"
    )


def test_the_fault_session_journals_apart_from_the_users_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users-journal"
    monkeypatch.setenv("SCALPHOST_JOURNAL__DIRECTORY", str(users))
    settings = load_settings(None)
    assert settings.journal.directory == users
    verdicts = [fault_session(settings, minutes=1) for _ in range(2)]
    assert [verdict.broken for verdict in verdicts] == [(), ()]  # the second found no leftovers
    assert not users.exists()


def test_a_stamp_of_some_plugins_suites_only_does_not_allow_live(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, golive={"required_profile": "dev"})
    plugin_host = build_plugin_host(settings, discover_entry_points=False)
    identity = identity_for(settings, plugin_host)
    write_stamp(settings, identity, "golive", LiveClock(), only=("trailing_stop",))
    assert stamp_problem(settings, plugin_host) == (
        "the go-live stamp covers only the suites of trailing_stop (golive --plugin); "
        "run `scalphost golive` without --plugin"
    )
    write_stamp(settings, identity, "golive", LiveClock())
    assert stamp_problem(settings, plugin_host) is None


def test_a_stamp_with_an_unknown_profile_counts_as_none(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, golive={"required_profile": "dev"})
    plugin_host = build_plugin_host(settings, discover_entry_points=False)
    write_stamp(settings, identity_for(settings, plugin_host), "thorough-ish", LiveClock())
    assert (stamp_problem(settings, plugin_host) or "").startswith("no go-live stamp")
