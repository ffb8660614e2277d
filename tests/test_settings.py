"""Settings: sources and their priority, one problem per error, and secrets that never leak."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from host.clock import ManualClock
from host.domain import Regime
from host.errors import ConfigError
from host.logs import REDACTED, RepeatLimitingFilter, SecretRedactingFilter, configure_logging
from host.settings import (
    HookSettings,
    LimitOrderMaxWait,
    Settings,
    load_settings,
    redacted_dump,
    secret_values,
)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
PAPER = CONFIG_DIR / "paper.yaml"
LIVE_EXAMPLE = CONFIG_DIR / "live.example.yaml"
CREDENTIAL_FIELDS = ("api_key", "secret_key", "passphrase")


LIVE_ON_OKX = (
    "mode: live\nexchange:\n  rest_url: https://www.okx.com\n  ws_url: wss://ws.okx.com:8443\n"
)
"""Live mode with OKX's endpoints: only the credentials can be missing."""


def _clear_scalphost_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SCALPHOST_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read os.environ: keep the developer's SCALPHOST_* variables out of the tests."""
    _clear_scalphost_variables(monkeypatch)


SetEnv = Callable[[Mapping[str, str]], None]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> SetEnv:
    """Make exactly the given SCALPHOST_* variables the environment (undone after the test)."""

    def set_env(variables: Mapping[str, str]) -> None:
        _clear_scalphost_variables(monkeypatch)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_env


@pytest.fixture
def canary() -> str:
    """A secret value no test could match by accident."""
    return "canary-" + secrets.token_urlsafe(24)


@pytest.fixture
def write_config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def problems_of(error: pytest.ExceptionInfo[ConfigError]) -> dict[str, str]:
    return {problem.path: problem.message for problem in error.value.problems}


def credential_env(value: str) -> dict[str, str]:
    return {f"SCALPHOST_CREDENTIALS__{name.upper()}": value for name in CREDENTIAL_FIELDS}


# --- the shipped files --------------------------------------------------------------------------


def test_paper_yaml_spells_out_exactly_the_defaults() -> None:
    shipped = yaml.safe_load(PAPER.read_text(encoding="utf-8"))
    defaults = redacted_dump(load_settings(None))
    # Credentials never appear in a config file. The plugins section holds each plugin's own
    # defaults, checked against the plugins' models in test_pluginmanager.
    del defaults["credentials"]
    assert {key: value for key, value in shipped.items() if key != "plugins"} == {
        key: value for key, value in defaults.items() if key != "plugins"
    }


def test_paper_yaml_loads_to_the_defaults_apart_from_plugins() -> None:
    paper = load_settings(PAPER)
    assert paper.model_copy(update={"plugins": {}}) == load_settings(None)
    assert paper.mode == "paper"


def test_live_example_needs_all_three_credentials_and_accepts_them(
    canary: str, env: SetEnv
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(LIVE_EXAMPLE)
    assert set(problems_of(error)) == {f"credentials.{name}" for name in CREDENTIAL_FIELDS}

    env(credential_env(canary))
    live = load_settings(LIVE_EXAMPLE)
    assert live.mode == "live"
    assert secret_values(live) == (canary, canary, canary)


# --- bad configs: one problem per error, at its dotted path --------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ("exchange:\n  demo: maybe\n", "exchange.demo", "valid boolean"),
        ("mode: backtest\n", "mode", "'paper', 'demo' or 'live'"),
        ("modee: paper\n", "modee", "Extra inputs are not permitted"),
        ("dedup:\n  private_ttl: 5\n", "dedup.private_ttl", "Extra inputs are not permitted"),
        ("dedup:\n  private_ttl_seconds: 0\n", "dedup.private_ttl_seconds", "greater than 0"),
        ("plugins:\n  x: 3\n", "plugins.x", "valid dictionary"),
        ("instruments: [BTC-USDT]\n", "instruments.0", "should match pattern"),
        ("instruments: []\n", "instruments", "at least one instrument"),
        (
            "hooks:\n  limit_order_max_wait_seconds:\n    ranging: 0\n",
            "hooks.limit_order_max_wait_seconds.ranging",
            "greater than 0",
        ),
        (
            "hooks:\n  limit_order_max_wait_seconds:\n    sideways: 10\n",
            "hooks.limit_order_max_wait_seconds.sideways",
            "Extra inputs are not permitted",
        ),
        (
            "hooks:\n  limit_order_ttl_ceiling_seconds: 300\n",
            "hooks.limit_order_ttl_ceiling_seconds",
            "Extra inputs are not permitted",
        ),
        ("hooks:\n  regime_fallback: sideways\n", "hooks.regime_fallback", "'choppy'"),
        # Keys that could only reach BaseSettings' own keyword options are unknown keys too.
        ("_secrets_dir: /tmp\n", "_secrets_dir", "Extra inputs are not permitted"),
        ("_env_prefix: X_\n", "_env_prefix", "Extra inputs are not permitted"),
        ("1: paper\n", "1", "Extra inputs are not permitted"),
    ],
)
def test_invalid_value_is_reported_at_its_path(
    write_config, text: str, path: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(text))
    problems = problems_of(error)
    assert list(problems) == [path]
    assert message in problems[path]


def test_every_problem_is_reported_at_once(write_config) -> None:
    text = "mode: 3\nexchange:\n  demo: maybe\ncredentials:\n  api_key: x\nfoo: 1\n"
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(text))
    assert set(problems_of(error)) == {"credentials", "mode", "exchange.demo", "foo"}


def test_credentials_in_the_config_file_are_refused(write_config, canary: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(f"credentials:\n  api_key: {canary}\n"))
    message = problems_of(error)["credentials"]
    assert "SCALPHOST_CREDENTIALS__" in message
    assert "SCALPHOST_SECRETS_DIR" in message
    assert canary not in str(error.value)


def test_live_without_a_credential_names_the_missing_one(
    write_config, canary: str, env: SetEnv
) -> None:
    environ = credential_env(canary)
    del environ["SCALPHOST_CREDENTIALS__PASSPHRASE"]
    env(environ)
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(LIVE_ON_OKX))
    problems = problems_of(error)
    assert list(problems) == ["credentials.passphrase"]
    assert "SCALPHOST_CREDENTIALS__PASSPHRASE" in problems["credentials.passphrase"]


def test_demo_and_live_need_the_exchange_urls(write_config, canary: str, env: SetEnv) -> None:
    env(credential_env(canary))
    for mode in ("demo", "live"):
        with pytest.raises(ConfigError) as error:
            load_settings(write_config(f"mode: {mode}\n"))
        problems = problems_of(error)
        assert list(problems) == ["exchange.rest_url", "exchange.ws_url"]
        assert f"required in {mode} mode" in problems["exchange.rest_url"]


def test_an_empty_credential_counts_as_missing(write_config, canary: str, env: SetEnv) -> None:
    env(credential_env(canary) | {"SCALPHOST_CREDENTIALS__SECRET_KEY": ""})
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(LIVE_ON_OKX))
    assert list(problems_of(error)) == ["credentials.secret_key"]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as error:
        load_settings(missing)
    assert problems_of(error) == {str(missing): "config file not found"}


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path)
    assert problems_of(error)[str(tmp_path)].startswith("cannot read config file")


def test_bad_yaml_names_line_and_column(write_config) -> None:
    path = write_config("mode: paper\nexchange:\n  demo: [false\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert problems_of(error)[str(path)].startswith("invalid YAML at line 4, column 1:")


def test_top_level_must_be_a_mapping(write_config) -> None:
    path = write_config("- mode: paper\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert problems_of(error) == {
        str(path): "the top level must be a mapping of settings, not a list"
    }


HOSTILE_DOCUMENTS = {
    "billion laughs": (
        'plugins:\n  x: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
        + "".join(f"  x{n}: &a{n} [{', '.join(['*a' if n == 0 else f'*a{n - 1}'] * 9)}]\n"
                  for n in range(9))
    ),
    "deep nesting": "plugins:\n  x: " + "[" * 5000 + "]" * 5000 + "\n",
    "a 5000-digit integer": "engine:\n  max_open_positions: " + "9" * 5000 + "\n",
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE_DOCUMENTS))
def test_a_hostile_document_is_one_problem_at_the_files_path(write_config, case: str) -> None:
    path = write_config(HOSTILE_DOCUMENTS[case])
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert list(problems_of(error)) == [str(path)]


def test_an_endless_file_is_refused_without_reading_it_all() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(Path("/dev/zero"))
    assert problems_of(error) == {"/dev/zero": "config file is larger than 1000000 bytes"}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("exchange:\n  request_timeout_seconds: .inf\n", "exchange.request_timeout_seconds"),
        ("exchange:\n  stream_stale_seconds: .nan\n", "exchange.stream_stale_seconds"),
        ("engine:\n  reconcile_interval_seconds: 1e308\n", "engine.reconcile_interval_seconds"),
        ("golive:\n  session_minutes: 1e9\n", "golive.session_minutes"),
    ],
)
def test_a_duration_that_switches_its_guard_off_is_refused(
    write_config, text: str, path: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write_config(text))
    assert list(problems_of(error)) == [path]


def test_a_long_instrument_list_is_refused_quickly(write_config) -> None:
    listed = "".join(f"  - A{n}-USDT-SWAP\n" for n in range(40_000))
    with pytest.raises(ConfigError) as error:
        load_settings(write_config("instruments:\n" + listed))
    assert "at most 500" in problems_of(error)["instruments"]


def test_empty_file_means_defaults(write_config) -> None:
    assert load_settings(write_config("")) == load_settings(None)


def test_settings_are_frozen() -> None:
    settings = load_settings(None)
    with pytest.raises(ValidationError):
        settings.mode = "live"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.dedup.private_cache_size = 1  # type: ignore[misc]


# --- the environment ----------------------------------------------------------------------------


def test_env_overrides_one_nested_field_and_keeps_its_yaml_siblings(
    write_config, env: SetEnv
) -> None:
    path = write_config(
        "dedup:\n  private_cache_size: 50\n  private_ttl_seconds: 10\nlog_level: ERROR\n"
    )
    env({"SCALPHOST_DEDUP__PRIVATE_TTL_SECONDS": "2.5", "SCALPHOST_LOG_LEVEL": "DEBUG"})
    settings = load_settings(path)
    assert settings.dedup.private_ttl_seconds == 2.5
    assert settings.dedup.private_cache_size == 50
    assert settings.log_level == "DEBUG"


def test_env_deep_merges_into_plugin_sections(write_config, env: SetEnv) -> None:
    path = write_config(
        "plugins:\n  some_plugin:\n    enabled: true\n    window: 5\n  other:\n    enabled: true\n"
    )
    env(
        {
            "SCALPHOST_PLUGINS__SOME_PLUGIN__ENABLED": "false",
            "SCALPHOST_PLUGINS__NEW_ONE__LIMIT": "3",
        }
    )
    settings = load_settings(path)
    assert settings.plugins == {
        "some_plugin": {"enabled": "false", "window": 5},
        "other": {"enabled": True},
        "new_one": {"limit": "3"},
    }


def test_env_list_is_json(env: SetEnv) -> None:
    env({"SCALPHOST_INSTRUMENTS": '["SOL-USDT-SWAP"]'})
    settings = load_settings(None)
    assert settings.instruments == ("SOL-USDT-SWAP",)
    env({"SCALPHOST_INSTRUMENTS": "SOL-USDT-SWAP"})
    with pytest.raises(ConfigError) as error:
        load_settings(None)
    assert "SCALPHOST_INSTRUMENTS is not valid JSON" in problems_of(error)["instruments"]


def test_env_errors_have_dotted_paths_too(env: SetEnv) -> None:
    env(
        {
            "SCALPHOST_DEDUP__NOPE": "1",
            "SCALPHOST_HOOKS__REGIME_FALLBACK": "nope",
            "SCALPHOST_UNRELATED_TOOL_SETTING": "ignored",
        }
    )
    with pytest.raises(ConfigError) as error:
        load_settings(None)
    assert set(problems_of(error)) == {"dedup.nope", "hooks.regime_fallback"}


def test_environment_beats_yaml_which_beats_defaults(write_config, env: SetEnv) -> None:
    path = write_config("log_level: ERROR\nhooks:\n  regime_fallback: ranging\n")
    assert load_settings(None).hooks.regime_fallback is Regime.CHOPPY
    from_yaml = load_settings(path)
    assert from_yaml.hooks.regime_fallback is Regime.RANGING
    assert from_yaml.log_level == "ERROR"

    env({"SCALPHOST_HOOKS__REGIME_FALLBACK": "trending"})
    settings = load_settings(path)
    assert settings.hooks.regime_fallback is Regime.TRENDING  # environment over YAML
    assert settings.log_level == "ERROR"  # YAML over default
    assert settings.hooks.limit_order_ttl_default_seconds == 60.0  # default, sibling kept
    assert settings.mode == "paper"
    # Constructed directly, Settings reads os.environ, and its arguments yield to it too.
    assert Settings().hooks.regime_fallback is Regime.TRENDING
    assert Settings(log_level="ERROR", hooks={"regime_fallback": "ranging"}) == settings


def test_limit_order_max_wait_has_one_field_per_regime_and_keeps_unset_ones(
    write_config, env: SetEnv
) -> None:
    assert set(LimitOrderMaxWait.model_fields) == {regime.value for regime in Regime}
    settings = load_settings(
        write_config("hooks:\n  limit_order_max_wait_seconds:\n    ranging: 40\n")
    )
    waits = settings.hooks.limit_order_max_wait_seconds
    assert {regime: waits.of(regime) for regime in Regime} == {
        Regime.TRENDING: timedelta(seconds=45),
        Regime.RANGING: timedelta(seconds=40),
        Regime.CHOPPY: timedelta(seconds=30),
    }
    env({"SCALPHOST_HOOKS__LIMIT_ORDER_MAX_WAIT_SECONDS__CHOPPY": "20"})
    assert load_settings(None).hooks.limit_order_max_wait_seconds.of(Regime.CHOPPY) == timedelta(
        seconds=20
    )


def test_the_granted_limit_order_wait_is_the_request_or_default_capped_per_regime() -> None:
    hooks = HookSettings(limit_order_ttl_default_seconds=40)
    seconds = timedelta(seconds=1)
    assert hooks.limit_order_wait(Regime.RANGING, 120 * seconds) == 45 * seconds
    assert hooks.limit_order_wait(Regime.RANGING, 10 * seconds) == 10 * seconds
    assert hooks.limit_order_wait(Regime.TRENDING, None) == 40 * seconds
    assert hooks.limit_order_wait(Regime.CHOPPY, None) == 30 * seconds


# --- the secrets directory ----------------------------------------------------------------------


@pytest.fixture
def secrets_dir(tmp_path: Path, canary: str) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    for name in CREDENTIAL_FIELDS:
        (directory / f"credentials__{name}").write_text(f"{canary}-{name}\n", encoding="utf-8")
    return directory


def test_secrets_dir_provides_credentials(secrets_dir: Path, canary: str, env: SetEnv) -> None:
    env({"SCALPHOST_SECRETS_DIR": str(secrets_dir)})
    settings = load_settings(None)
    assert secret_values(settings) == tuple(f"{canary}-{name}" for name in CREDENTIAL_FIELDS)


def test_environment_wins_over_secrets_dir(secrets_dir: Path, env: SetEnv) -> None:
    env(
        {
            "SCALPHOST_SECRETS_DIR": str(secrets_dir),
            "SCALPHOST_CREDENTIALS__API_KEY": "from-env",
        }
    )
    settings = load_settings(None)
    assert settings.credentials.api_key is not None
    assert settings.credentials.api_key.get_secret_value() == "from-env"


def test_secrets_dir_sets_nothing_but_credentials(secrets_dir: Path, env: SetEnv) -> None:
    (secrets_dir / "mode").write_text("live", encoding="utf-8")
    env({"SCALPHOST_SECRETS_DIR": str(secrets_dir)})
    settings = load_settings(None)
    assert settings.mode == "paper"


def test_misspelt_secret_file_is_an_error(secrets_dir: Path, env: SetEnv) -> None:
    (secrets_dir / "credentials__api_kye").write_text("x", encoding="utf-8")
    env({"SCALPHOST_SECRETS_DIR": str(secrets_dir)})
    with pytest.raises(ConfigError) as error:
        load_settings(None)
    assert list(problems_of(error)) == ["credentials.api_kye"]


def test_missing_secrets_dir_is_an_error(tmp_path: Path, env: SetEnv) -> None:
    missing = tmp_path / "nope"
    env({"SCALPHOST_SECRETS_DIR": str(missing)})
    with pytest.raises(ConfigError) as error:
        load_settings(None)
    assert problems_of(error) == {"SCALPHOST_SECRETS_DIR": f"{missing} is not a directory"}


# --- secrets never leak -------------------------------------------------------------------------


@pytest.fixture(params=["environment", "secrets_dir"])
def secret_settings(
    request: pytest.FixtureRequest, canary: str, tmp_path: Path, env: SetEnv
) -> Settings:
    if request.param == "environment":
        env(credential_env(canary))
        return load_settings(None)
    for name in CREDENTIAL_FIELDS:
        (tmp_path / f"credentials__{name}").write_text(canary, encoding="utf-8")
    env({"SCALPHOST_SECRETS_DIR": str(tmp_path)})
    return load_settings(None)


def test_secrets_never_in_repr_str_or_dump(secret_settings: Settings, canary: str) -> None:
    assert secret_values(secret_settings) == (canary, canary, canary)
    dump = redacted_dump(secret_settings)
    assert dump["credentials"] == dict.fromkeys(CREDENTIAL_FIELDS, REDACTED)
    for text in (
        repr(secret_settings),
        str(secret_settings),
        repr(secret_settings.credentials),
        str(dump),
        yaml.safe_dump(dump),
    ):
        assert canary not in text


def test_unset_secrets_dump_as_none() -> None:
    dump = redacted_dump(load_settings(None))
    assert dump["credentials"] == dict.fromkeys(CREDENTIAL_FIELDS)


def test_config_problems_never_quote_the_rejected_value(canary: str, env: SetEnv) -> None:
    env({"SCALPHOST_DEDUP__PRIVATE_CACHE_SIZE": canary})
    with pytest.raises(ConfigError) as error:
        load_settings(None)
    assert list(problems_of(error)) == ["dedup.private_cache_size"]
    assert canary not in str(error.value)


# --- logs ---------------------------------------------------------------------------------------


@pytest.fixture
def host_logging() -> Iterator[None]:
    """Restore the root logger after a test configured it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.usefixtures("host_logging")
def test_logs_never_show_a_secret_raw_or_base64(
    secret_settings: Settings, canary: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG", secret_values(secret_settings))
    log = logging.getLogger("scalphost.test")
    log.info("key in the message %s", canary)
    log.info("key as an argument: %s", canary)
    log.warning("base64: %s", _b64(canary))
    log.warning("urlsafe base64: %s", base64.urlsafe_b64encode(canary.encode()).decode())
    log.warning("basic auth: Basic %s", _b64("user:" + canary))
    log.debug("settings: %r", secret_settings)
    try:
        raise RuntimeError(f"request failed with key {canary}")
    except RuntimeError:
        log.exception("exception text")

    err = capsys.readouterr().err
    assert "key in the message" in err
    assert "exception text" in err
    assert "RuntimeError: request failed with key **********" in err
    assert err.count(REDACTED) >= 7
    for leaked in (canary, _b64(canary), _b64("user:" + canary), _b64(canary).rstrip("=")[:-4]):
        assert leaked not in err


@pytest.mark.usefixtures("host_logging")
def test_reconfiguring_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", ["first-secret-value"])
    configure_logging("WARNING", ["second-secret-value"])
    log = logging.getLogger("scalphost.test")
    log.info("hidden below WARNING")
    log.warning("first-secret-value second-secret-value")
    assert capsys.readouterr().err.count("\n") == 1
    configure_logging("WARNING", [])
    log.warning("once")
    assert "WARNING scalphost.test: once" in capsys.readouterr().err


def test_filter_ignores_empty_secrets_and_prefers_longer_ones() -> None:
    redacting = SecretRedactingFilter(["", "abc", "abcdef"])
    assert redacting.redact("xabcdefy abc") == f"x{REDACTED}y {REDACTED}"
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "%s", ("plain",), None)
    assert redacting.filter(record)
    assert record.getMessage() == "plain"


def test_filter_survives_a_bad_log_call_without_leaking() -> None:
    redacting = SecretRedactingFilter(["s3cr3t-value"])
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "%s %s", ("s3cr3t-value",), None)
    assert redacting.filter(record)
    assert record.getMessage() == (f"unformattable log message '%s %s' with args ('{REDACTED}',)")


@pytest.mark.usefixtures("host_logging")
def test_log_timestamps_are_utc(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9, no daylight saving
    time.tzset()
    try:
        configure_logging("INFO", [])
        logging.getLogger("scalphost.test").info("when")
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = capsys.readouterr().err.split(" ", 1)[0]
    logged = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - logged) < timedelta(minutes=5)


def test_a_flood_of_one_warning_is_cut_to_a_burst_and_a_count() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    limiter = RepeatLimitingFilter(clock, burst=10, window_seconds=60)

    def record(message: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("host.exchange", logging.WARNING, "", 0, message, args, None)

    template = "malformed exchange frame dropped: %s"
    passed = [r for r in (record(template, n) for n in range(5000)) if limiter.filter(r)]
    assert len(passed) == 10
    assert limiter.filter(record("another warning"))  # a different kind has its own burst
    clock.advance(timedelta(seconds=61))
    summary = record(template, "later")
    assert limiter.filter(summary)
    assert summary.getMessage().endswith("(4990 more like this suppressed)")
    critical = logging.LogRecord("host", logging.CRITICAL, "", 0, template, ("x",), None)
    assert all(limiter.filter(critical) for _ in range(100))
