"""The scalphost command: exit 2 with one line per config problem, redacted output, honest `run`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from host import pluginmanager
from host.cli import app, plugin_table
from host.errors import ConfigProblem
from host.pluginmanager import BUILTIN_PLUGINS, PluginInfo
from host.settings import load_settings, redacted_dump

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "config" / "paper.yaml"
CREDENTIAL_VARIABLES = (
    "SCALPHOST_CREDENTIALS__API_KEY",
    "SCALPHOST_CREDENTIALS__SECRET_KEY",
    "SCALPHOST_CREDENTIALS__PASSPHRASE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process commands read os.environ: keep the developer's SCALPHOST_* out of the tests."""
    for name in os.environ:
        if name.startswith("SCALPHOST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def canary() -> str:
    return "canary-" + secrets.token_urlsafe(24)


@pytest.fixture
def write_config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def scalphost(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real entry point in a fresh interpreter, as a user would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SCALPHOST_")}
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        env=environment | (env or {}),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hang, not a time budget: a loaded machine is slow
        check=False,
    )


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


# --- config errors: exit 2, one line per problem, no traceback ----------------------------------


def test_config_error_exits_2_from_the_real_entry_point(write_config) -> None:
    path = write_config("exchange:\n  demo: maybe\nmodee: paper\n")
    result = scalphost("config", "show", "--config", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "config error: exchange.demo: Input should be a valid boolean, unable to interpret input",
        "config error: modee: Extra inputs are not permitted",
    ]


def test_live_without_credentials_exits_2_from_run(write_config) -> None:
    result = scalphost("run", "--config", str(write_config("mode: live\n")))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "credentials.api_key",
        "credentials.secret_key",
        "credentials.passphrase",
        "exchange.rest_url",
        "exchange.ws_url",
    ]
    assert all(line.startswith("config error: ") for line in lines)
    assert "not implemented" not in result.stdout


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("exchange:\n  demo: maybe\n", "exchange.demo"),
        ("modee: paper\n", "modee"),
        ("dedup:\n  private_ttl: 5\n", "dedup.private_ttl"),
        (
            "hooks:\n  limit_order_max_wait_seconds:\n    ranging: -5\n",
            "hooks.limit_order_max_wait_seconds.ranging",
        ),
        ("mode: paper\nexchange: [\n", "invalid YAML at line 3, column 1"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("credentials:\n  api_key: x\n", "credentials: not allowed in a config file"),
        ("mode: live\n", "credentials.api_key"),
        ("journal:\n  directory: /dev/null\n", "journal.directory"),
    ],
)
@pytest.mark.parametrize("command", [("config", "show"), ("run",)])
def test_each_bad_config_exits_2_and_names_the_field(
    write_config, text: str, named: str, command: tuple[str, ...]
) -> None:
    path = write_config(text)
    result = invoke(*command, "--config", str(path))
    assert result.exit_code == 2
    assert named in result.stderr
    assert all(line.startswith("config error: ") for line in result.stderr.splitlines())
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    result = invoke("config", "show", "--config", str(missing))
    assert result.exit_code == 2
    assert result.stderr == f"config error: {missing}: config file not found\n"


def test_bad_environment_exits_2() -> None:
    result = invoke("config", "show", env={"SCALPHOST_DEDUP__PRIVATE_CACHE_SIZE": "0"})
    assert result.exit_code == 2
    assert result.stderr.startswith("config error: dedup.private_cache_size: ")


# --- config show ----------------------------------------------------------------------------------


def test_config_show_prints_the_effective_config_as_yaml(write_config) -> None:
    path = write_config("log_level: WARNING\nplugins:\n  drift_guard:\n    enabled: true\n")
    result = invoke("config", "show", "--config", str(path))
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    expected = redacted_dump(load_settings(path))
    assert {k: v for k, v in shown.items() if k != "plugins"} == {
        k: v for k, v in expected.items() if k != "plugins"
    }
    assert shown["plugins"]["drift_guard"] == {"enabled": True, "stop_distance": "0.01"}
    assert shown["log_level"] == "WARNING"


def test_config_show_applies_env_overrides_to_plugins_and_nested_fields() -> None:
    result = invoke(
        "config",
        "show",
        "--config",
        str(PAPER),
        env={
            "SCALPHOST_PLUGINS__DRIFT_GUARD__STOP_DISTANCE": "0.02",
            "SCALPHOST_HOOKS__REGIME_FALLBACK": "ranging",
        },
    )
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    assert shown["plugins"]["drift_guard"] == {"enabled": True, "stop_distance": "0.02"}
    assert shown["hooks"]["regime_fallback"] == "ranging"


def test_config_show_never_prints_secrets_from_the_environment(canary: str) -> None:
    env = dict.fromkeys(CREDENTIAL_VARIABLES, canary) | {
        "SCALPHOST_MODE": "live",
        "SCALPHOST_EXCHANGE__REST_URL": "https://www.okx.com",
        "SCALPHOST_EXCHANGE__WS_URL": "wss://ws.okx.com:8443",
    }
    result = scalphost("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert canary not in result.stdout + result.stderr
    assert yaml.safe_load(result.stdout)["credentials"] == {
        "api_key": "**********",
        "secret_key": "**********",
        "passphrase": "**********",
    }


def test_config_show_never_prints_secrets_from_the_secrets_dir(tmp_path: Path, canary: str) -> None:
    (tmp_path / "credentials__secret_key").write_text(canary, encoding="utf-8")
    result = invoke("config", "show", env={"SCALPHOST_SECRETS_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert canary not in result.output
    assert yaml.safe_load(result.stdout)["credentials"] == {
        "api_key": None,
        "secret_key": "**********",
        "passphrase": None,
    }


# --- run ------------------------------------------------------------------------------------------


def test_run_trades_paper_mode_and_ends_with_the_summary(canary: str, tmp_path: Path) -> None:
    env = dict.fromkeys(CREDENTIAL_VARIABLES, canary) | {
        "SCALPHOST_LOG_LEVEL": "DEBUG",
        "SCALPHOST_JOURNAL__DIRECTORY": str(tmp_path),
    }
    result = scalphost("run", "--config", str(PAPER), "--minutes", "3", env=env)
    assert result.returncode == 0, result.stderr
    summary = result.stdout
    assert summary.startswith("Session summary")
    assert "ticks " in summary
    assert f"journal {tmp_path / 'paper.sqlite3'}" in summary
    assert "0:03:00 / 0:03:00 simulated" in result.stderr  # the progress line
    assert canary not in result.stdout + result.stderr
    assert (tmp_path / "paper.sqlite3").exists()


def write_btc_tape(directory: Path) -> Path:
    """Four minutes of a BTC tape as an OKX trades CSV, one trade every second."""
    lines = ["instrument_name,trade_id,side,price,size,created_time"]
    for n in range(240):
        price = 65000 + (n % 40) * 5
        lines.append(f"BTC-USDT-SWAP,{1000 + n},{'buy' if n % 3 else 'sell'},{price},0.5,"
                     f"{1736150400000 + n * 1000}")  # fmt: skip
    tape = directory / "trades.csv"
    tape.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tape


def test_run_replays_an_okx_trades_csv(tmp_path: Path) -> None:
    tape = write_btc_tape(tmp_path)
    env = {
        "SCALPHOST_JOURNAL__DIRECTORY": str(tmp_path),
        "SCALPHOST_INSTRUMENTS": '["BTC-USDT-SWAP"]',
    }
    result = scalphost("run", "--data", str(tape), "--minutes", "3", env=env)
    assert result.returncode == 0, result.stderr
    ticks = int(result.stdout.split("ticks ")[1].split(",")[0])
    assert ticks >= 100  # the tape's trades moved the book: the host saw them as ticks


def test_run_live_without_credentials_is_refused_with_the_fields_named() -> None:
    result = scalphost("run", "--mode", "live")
    assert result.returncode == 2
    assert "config error: credentials.api_key: required in live mode" in result.stderr


def test_run_reports_plugin_config_errors(write_config) -> None:
    result = scalphost("run", "--config", str(write_config("plugins:\n  no_such_plugin: {}\n")))
    assert result.returncode == 2
    assert result.stderr.startswith("config error: plugins.no_such_plugin: ")


# --- plugins --------------------------------------------------------------------------------------


def test_plugin_table_aligns_columns_and_marks_essential_plugins() -> None:
    infos = [
        PluginInfo("drift_guard", "built-in", True, True, ("on_position_drift",)),
        PluginInfo("x", "acme-plugins 1.0", False, False, ()),
    ]
    assert plugin_table(infos).splitlines() == [
        "NAME         SOURCE            STATUS              HOOKS",
        "drift_guard  built-in          enabled, essential  on_position_drift",
        "x            acme-plugins 1.0  disabled            -",
    ]


@pytest.fixture
def only_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the plugins installed in this environment: the test means the built-ins alone."""
    monkeypatch.setattr(pluginmanager, "entry_points", lambda group: ())


def test_plugin_table_shows_each_plugins_problems_in_a_column_of_its_own() -> None:
    infos = [
        PluginInfo("drift_guard", "built-in", True, True, ("on_position_drift",)),
        PluginInfo(
            "x", "acme 1.0", False, False, (), None, (ConfigProblem("plugins.x", "no numpy"),)
        ),
    ]
    assert plugin_table(infos).splitlines() == [
        "NAME         SOURCE    STATUS              HOOKS              PROBLEM",
        "drift_guard  built-in  enabled, essential  on_position_drift  -",
        "x            acme 1.0  disabled, error     -                  no numpy",
    ]


@pytest.mark.usefixtures("only_builtins")
def test_plugins_command_lists_every_builtin_with_its_effective_settings(write_config) -> None:
    result = invoke("plugins", "--settings", "--config", str(PAPER))
    assert result.exit_code == 0, result.output
    table, _, listing = result.stdout.partition("\n\n")
    names = [line.split()[0] for line in table.splitlines()[1:]]
    assert names == [builtin.name for builtin in BUILTIN_PLUGINS]
    effective = yaml.safe_load(listing)
    assert effective["limit_order_policy"]["by_regime"] == {
        "trending": 45.0,
        "ranging": 45.0,
        "choppy": 30.0,
    }
    assert "bracket" not in effective  # disabled in the paper config
    bad = write_config(
        "plugins:\n  trailing_stop:\n    by_regime: {trending: {trail_distance: x}}\n"
    )
    refused = invoke("plugins", "--settings", "--config", str(bad))
    assert refused.exit_code == 2
    assert "plugins.trailing_stop.by_regime.trending.trail_distance" in refused.stderr


# --- hostile input: one line naming the cause, exit 2 (bad input) or 1 (a fault) ---------------


BAD_DATA = {
    "a directory": (None, "not a regular file"),
    "a missing file": ("missing", "no such file"),
    "an empty file": ("", "empty file"),
    "binary data": ("\x00\x01\x02garbage", "not an OKX trades or candles file"),
    "a CSV of something else": ("a,b,c\n1,2,3\n", "not an OKX trades or candles file"),
    "a header and no rows": ("side,price,size,created_time\n", "no trades"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_for_a_paper_run_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    text, cause = BAD_DATA[case]
    data = tmp_path
    if text is not None:
        data = tmp_path / "tape.csv"
        if text != "missing":
            data.write_text(text, encoding="utf-8")
    result = invoke("run", "--data", str(data), "--minutes", "1")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("data error:")]
    assert cause in line


@pytest.mark.parametrize(
    "arguments",
    [
        ("run", "--minutes", "inf"),
        ("run", "--minutes", "nan"),
        ("run", "--minutes", "1e308"),
        ("sim", "--speed", "nan"),
        ("sim", "--speed", "0"),
        ("sim", "--speed", "-1"),
        ("sim", "--port", "70000"),
    ],
)
def test_an_impossible_number_on_the_command_line_exits_2(arguments: tuple[str, ...]) -> None:
    result = invoke(*arguments)
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_an_exchange_that_refuses_or_is_not_there_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {
        "SCALPHOST_EXCHANGE__REST_URL": "http://127.0.0.1:9",  # nothing listens on port 9
        "SCALPHOST_EXCHANGE__WS_URL": "ws://127.0.0.1:9",
        "SCALPHOST_EXCHANGE__MAX_RETRIES": "0",
        "SCALPHOST_CREDENTIALS__API_KEY": "key",
        "SCALPHOST_CREDENTIALS__SECRET_KEY": "secret",
        "SCALPHOST_CREDENTIALS__PASSPHRASE": "passphrase",
        "SCALPHOST_JOURNAL__DIRECTORY": str(tmp_path),
    }
    result = scalphost("run", "--mode", "demo", env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("exchange error: ")
