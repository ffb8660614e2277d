"""The host's configuration as frozen models: one section per concern, validated on creation.

Where the values come from (environment, secrets directory, YAML file) is
:mod:`host.settings.sources` and :mod:`host.settings.loading`.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from host.domain import Regime
from host.settings.sources import (
    ENV_PREFIX,
    NESTED_DELIMITER,
    CredentialSecretsSource,
    EnvironSource,
    secrets_dir,
)

MAX_DURATION_SECONDS = 86_400
"""No duration the host is configured with (``*_seconds``, ``*_minutes``) exceeds a day: a
timeout of ``1e308`` switches its guard off as surely as ``.inf`` would, and overflows a
``timedelta``."""


class Section(BaseModel):
    """One section of the settings: strict about keys, numbers and durations.

    Unknown keys are refused, so a misspelt setting is an error, not a silent default; so are
    infinite and NaN numbers, and durations longer than :data:`MAX_DURATION_SECONDS`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _durations_are_bounded(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        seconds = (
            value * 60 if name.endswith("_minutes") else value if name.endswith("_seconds") else 0
        )
        if isinstance(seconds, int | float) and seconds > MAX_DURATION_SECONDS:
            raise ValueError(f"a duration of at most a day ({MAX_DURATION_SECONDS} s)")
        return value


class ExchangeSettings(Section):
    """Where the exchange is; empty URLs select the built-in simulator."""

    rest_url: str = Field(
        default="", description='OKX REST base URL; "" means the built-in simulator.'
    )
    ws_url: str = Field(
        default="",
        description='OKX WebSocket base URL (/ws/v5/public etc. below it); "" means the simulator.',
    )
    demo: bool = Field(
        default=False, description="Send OKX's demo-trading header (simulated money on OKX)."
    )
    request_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A REST request without an answer by then is retried "
        "(reads) or resolved by querying the exchange (orders).",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        description="Retries of a REST request refused for the rate limit or "
        "failing transiently (reads only: an order is never sent twice).",
    )
    retry_backoff_seconds: float = Field(
        default=0.5, gt=0, description="First back-off before a retry; doubles on each retry."
    )
    order_lookup_attempts: int = Field(
        default=5,
        gt=0,
        description="Queries by clOrdId to learn the outcome of an order "
        "whose reply was lost, before it is declared not placed.",
    )
    ping_interval_seconds: float = Field(
        default=20.0,
        gt=0,
        lt=30,
        description="Send a text ping after this much silence "
        "(OKX drops a connection silent for 30 s).",
    )
    pong_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Reconnect when no pong or data arrives this long after a ping.",
    )
    reconnect_backoff_seconds: float = Field(
        default=0.5, gt=0, description="First delay before reconnecting; doubles per failure."
    )
    reconnect_backoff_max_seconds: float = Field(
        default=30.0, gt=0, description="Longest delay between reconnection attempts."
    )
    stream_stale_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Reconnect when an instrument's mark price, which "
        "OKX pushes at least every 10 s, stays silent this long.",
    )
    login_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Wait this long for a WebSocket login acknowledgement."
    )


class Credentials(Section):
    """OKX API credentials: only from the environment or the secrets directory, never YAML."""

    api_key: SecretStr | None = Field(default=None, description="OKX API key.")
    secret_key: SecretStr | None = Field(default=None, description="OKX API secret key.")
    passphrase: SecretStr | None = Field(default=None, description="OKX API passphrase.")


class DedupSettings(Section):
    """How long the host remembers private-channel events, to drop the exchange's re-sends."""

    private_cache_size: int = Field(
        default=10_000, gt=0, description="Most private events remembered at once."
    )
    private_ttl_seconds: float = Field(
        default=300.0, gt=0, description="Seconds a private event is remembered."
    )


class CredibilitySettings(Section):
    """What market data the host believes (see :mod:`host.exchange.credibility`).

    Bands are fractions of a price. A price outside them is dropped and counted, never acted on;
    a real gap is believed once ``gap_confirmations`` pushes in a row agree on the new level.
    """

    mark_band: Decimal = Field(
        default=Decimal("0.03"),
        gt=0,
        lt=1,
        description="Furthest a tick, quote or trade may be from the mark price (fraction).",
    )
    jump_band: Decimal = Field(
        default=Decimal("0.02"),
        gt=0,
        lt=1,
        description="Largest move from the last credible price believed at once (fraction).",
    )
    gap_confirmations: int = Field(
        default=3,
        ge=2,
        le=100,
        description="Pushes in a row that must agree before a jump beyond jump_band is believed.",
    )
    max_future_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Market data stamped further ahead of the host's clock is dropped.",
    )


class LimitOrderMaxWait(Section):
    """The longest a limit entry may rest in each regime, whatever a plugin answers.

    The bot scalphost replaces let entries wait 120 s in a ranging market and paid for it in
    slippage; its fix (45 s trending, 45 s ranging, 30 s choppy) is a bound the host enforces at
    run time, so no plugin can bring the bug back. One field per :class:`~host.domain.Regime`.
    """

    trending: float = Field(default=45.0, gt=0, description="Seconds, in a trending market.")
    ranging: float = Field(default=45.0, gt=0, description="Seconds, in a ranging market.")
    choppy: float = Field(default=30.0, gt=0, description="Seconds, in a choppy market.")

    def of(self, regime: Regime) -> timedelta:
        """The longest rest in ``regime``."""
        seconds: float = getattr(self, regime.value)
        return timedelta(seconds=seconds)


class HookSettings(Section):
    """The host's answers when no plugin gives one, and the bounds it holds plugins to."""

    plugin_failure_limit: int = Field(
        default=20,
        ge=1,
        description="Exceptions in a row from one hook after which a non-essential plugin is "
        "switched off for the session.",
    )
    regime_fallback: Regime = Field(
        default=Regime.CHOPPY,
        description="Regime assumed when no plugin detects one (the most cautious by default).",
    )
    limit_order_ttl_default_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Lifetime of a limit order when no plugin chooses one (the base wait, "
        "capped like any answer by limit_order_max_wait_seconds).",
    )
    limit_order_max_wait_seconds: LimitOrderMaxWait = Field(
        default_factory=LimitOrderMaxWait,
        description="Longest lifetime of a limit order per regime, whatever a plugin answers.",
    )

    def limit_order_wait(self, regime: Regime, requested: timedelta | None) -> timedelta:
        """The wait the host grants: ``requested`` (``None``: the default), capped in ``regime``."""
        if requested is None:
            requested = timedelta(seconds=self.limit_order_ttl_default_seconds)
        return min(requested, self.limit_order_max_wait_seconds.of(regime))


class JournalSettings(Section):
    """Where the journal files live and how hard each commit insists on reaching the disk."""

    directory: Path = Field(
        default=Path("journal"),
        description="Directory of the journal files, one <account>.sqlite3 per account.",
    )
    synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="full: a commit survives a power cut; normal: only a crash of the process.",
    )
    max_batch: int = Field(
        default=1000, gt=0, description="Most records the writer thread commits in one transaction."
    )

    @field_validator("directory")
    @classmethod
    def _a_directory_or_nothing_yet(cls, directory: Path) -> Path:
        """Refuse a path that exists and is no directory (``/dev/null``) before anything runs."""
        if directory.exists() and not directory.is_dir():
            raise ValueError("exists and is not a directory")
        return directory


class EngineSettings(Section):
    """How the engine trades: entry size, first stop, safety limits, timing, protection."""

    entry_notional_usdt: Decimal = Field(
        default=Decimal(200), gt=0, description="Value of one entry in USDT (floored to the lot)."
    )
    initial_stop_fraction: Decimal = Field(
        default=Decimal("0.005"),
        gt=0,
        lt=1,
        description="First stop of an own position: this fraction of the entry price away "
        "(0.005 = 0.5 %), until an exit plugin tightens it.",
    )
    margin_mode: Literal["cross", "isolated"] = Field(
        default="cross", description="OKX margin mode of every order."
    )
    bar_seconds: int = Field(default=60, gt=0, description="Length of the bars built from trades.")
    bar_history: int = Field(
        default=120, gt=0, description="Closed bars kept per instrument for regime detection."
    )
    fill_memory_hours: float = Field(
        default=96.0,
        gt=0,
        le=24 * 365,
        description="Hours a fill's tradeId is remembered against re-sends (by the fill's time).",
    )
    reconcile_interval_seconds: float = Field(
        default=30.0, gt=0, description="Compare positions and orders with the exchange this often."
    )
    position_visible_retries: int = Field(
        default=5,
        ge=0,
        description="Times a filled entry's position is looked up before the "
        "fallback (reconciliation adopts it).",
    )
    position_visible_delay_seconds: float = Field(
        default=0.5, gt=0, description="Wait between those lookups."
    )
    max_open_positions: int = Field(default=3, gt=0, description="Most positions open at once.")
    max_order_notional_usdt: Decimal = Field(
        default=Decimal(1000), gt=0, description="Largest order value in USDT."
    )
    max_instrument_notional_usdt: Decimal = Field(
        default=Decimal(1000), gt=0, description="Largest position value per instrument in USDT."
    )
    max_leverage: Decimal = Field(
        default=Decimal(5), gt=0, description="Leverage set on every traded instrument (at most)."
    )
    stale_market_seconds: float = Field(
        default=5.0, gt=0, description="No entry when the instrument's last tick is older."
    )
    exchange_stops: bool = Field(
        default=True, description="Back every open position with a stop order on the exchange."
    )
    stop_amend_min_seconds: float = Field(
        default=2.0, ge=0, description="Move a position's exchange-side stop at most this often."
    )
    dead_man_seconds: int = Field(
        default=60,
        ge=0,
        le=120,
        description="OKX cancel-all-after: resting orders are canceled if the host stops "
        "re-arming it for this long (0 = off; else 10-120).",
    )
    close_on_shutdown: bool = Field(
        default=False, description="Close every position on shutdown instead of keeping it."
    )

    @field_validator("dead_man_seconds")
    @classmethod
    def _okx_dead_man_range(cls, seconds: int) -> int:
        if 0 < seconds < 10:
            raise ValueError("OKX takes 0 (off) or 10 to 120 seconds")
        return seconds


class GoliveSettings(Section):
    """How ``scalphost golive`` checks this configuration, and what live trading asks of it."""

    required_profile: Literal["dev", "ci", "golive"] = Field(
        default="golive",
        description="Least thorough hypothesis profile whose go-live stamp lets a live run start.",
    )
    session_minutes: float = Field(
        default=10.0,
        gt=0,
        le=240,
        description="Simulated minutes of golive's fault-injected paper session.",
    )


class NotifySettings(Section):
    """How the host delivers the notifier plugins' messages: queue, retries, rate limit."""

    queue_size: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Messages waiting per notifier (and events waiting to be asked about) at "
        "most; beyond it new ones are dropped, counted and logged.",
    )
    max_attempts: int = Field(
        default=6, ge=1, le=100, description="Attempts at one message before it is given up."
    )
    retry_first_seconds: float = Field(
        default=1.0, gt=0, description="Wait before the first retry; it doubles per retry."
    )
    retry_max_seconds: float = Field(
        default=60.0, gt=0, description="Longest wait between two attempts."
    )
    max_per_minute: int = Field(
        default=30, ge=1, le=6000, description="Messages per minute to each notifier at most."
    )
    drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description="At shutdown, how long messages still queued may take to go out.",
    )


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
"""Bind addresses only this machine can reach: the monitoring endpoint needs no token there."""


class MonitoringSettings(Section):
    """The metrics and status endpoint (docs/monitoring.md); off unless enabled."""

    enabled: bool = Field(
        default=False, description="Serve /metrics and the status page while trading."
    )
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address to bind; any other than 127.0.0.1, ::1 or localhost needs a token.",
    )
    port: int = Field(default=9464, ge=0, le=65535, description="TCP port (0: any free port).")
    token: SecretStr | None = Field(
        default=None,
        description="Bearer token every request must carry when set (set it from the "
        "environment: SCALPHOST_MONITORING__TOKEN).",
    )

    @model_validator(mode="after")
    def _exposed_needs_a_token(self) -> Self:
        """Refuse to serve positions and plugin health to a network without a token."""
        if self.host not in LOOPBACK_HOSTS and (
            self.token is None or not self.token.get_secret_value()
        ):
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "token_required",
                            "required when monitoring.host is {host}, not 127.0.0.1",
                            {"host": self.host},
                        ),
                        loc=("token",),
                        input=None,
                    )
                ],
            )
        return self


SwapId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+-[A-Z0-9]+-SWAP$")]
"""An OKX perpetual swap id such as ``BTC-USDT-SWAP``: the only instruments the host trades."""


class Settings(BaseSettings):
    """Everything the host itself is configured with; plugin sections stay raw until loaded."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    mode: Literal["paper", "demo", "live"] = Field(
        default="paper",
        description="paper: simulated fills; demo: OKX demo trading; live: real money.",
    )
    instruments: tuple[SwapId, ...] = Field(
        default=("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP", "DOGE-USDT-SWAP"),
        max_length=500,
        description="OKX perpetual swaps to trade (at least one, each once; OKX lists ~300).",
    )
    exchange: ExchangeSettings = Field(
        default_factory=ExchangeSettings, description="Exchange endpoints."
    )
    credentials: Credentials = Field(
        default_factory=Credentials,
        description="OKX API credentials (environment or secrets directory only).",
    )
    dedup: DedupSettings = Field(
        default_factory=DedupSettings, description="Duplicate private-event filter."
    )
    credibility: CredibilitySettings = Field(
        default_factory=CredibilitySettings, description="Which market prices are believed."
    )
    hooks: HookSettings = Field(
        default_factory=HookSettings, description="Host defaults and bounds for plugin hooks."
    )
    journal: JournalSettings = Field(
        default_factory=JournalSettings, description="The SQLite journal of each account."
    )
    engine: EngineSettings = Field(
        default_factory=EngineSettings, description="Sizing, safety limits and protection."
    )
    golive: GoliveSettings = Field(
        default_factory=GoliveSettings, description="The go-live checklist and its stamp."
    )
    notify: NotifySettings = Field(
        default_factory=NotifySettings, description="Delivery of the notifier plugins' messages."
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings, description="Metrics and the status page."
    )
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-plugin sections {name: {enabled: bool, ...}}, validated by each plugin.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level written to the log."
    )

    @field_validator("instruments")
    @classmethod
    def _some_instruments_each_once(cls, instruments: tuple[str, ...]) -> tuple[str, ...]:
        if not instruments:
            raise ValueError("at least one instrument is needed")
        repeated = sorted(inst for inst, count in Counter(instruments).items() if count > 1)
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return instruments

    @model_validator(mode="after")
    def _exchange_modes_need_credentials_and_urls(self) -> Self:
        """Refuse demo or live trading without credentials or endpoints at start-up.

        Not at the first order: an empty value counts as missing, and an empty URL would mean the
        built-in simulator, which is paper mode's. The error is a :class:`ValidationError` with
        one entry per problem, whose locations pydantic keeps, so each is reported at its path.
        """
        if self.mode == "paper":
            return self
        problems = [
            _missing_credential(name, self.mode)
            for name, value in self.credentials
            if value is None or not value.get_secret_value()
        ]
        problems += [
            _missing_url(name, self.mode)
            for name in ("rest_url", "ws_url")
            if not getattr(self.exchange, name)
        ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: environment, secrets dir (credentials only), arguments, defaults.

        The arguments are the YAML document (:func:`load_settings` calls ``Settings(**document)``),
        so the environment overrides the file and deep-merges into its sections; a direct
        ``Settings(...)`` call likewise yields to ``SCALPHOST_*`` variables. pydantic-settings
        appends the defaults itself. The dotenv source is left out: the host reads no ``.env``.
        """
        sources: list[PydanticBaseSettingsSource] = [EnvironSource(settings_cls)]
        directory = secrets_dir(os.environ)
        if directory is not None:
            sources.append(CredentialSecretsSource(file_secret_settings, directory))
        sources.append(init_settings)
        return tuple(sources)


def _missing_credential(name: str, mode: str) -> InitErrorDetails:
    variable = f"{ENV_PREFIX}CREDENTIALS{NESTED_DELIMITER}{name.upper()}"
    return InitErrorDetails(
        type=PydanticCustomError(
            "missing_credential",
            "required in {mode} mode; set {variable} or the file credentials__{name} in the "
            "secrets directory",
            {"variable": variable, "name": name, "mode": mode},
        ),
        loc=("credentials", name),
        input=None,
    )


def _missing_url(name: str, mode: str) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError(
            "missing_url",
            "required in {mode} mode (empty means the built-in simulator, for paper mode); "
            "see the README's Connecting to OKX",
            {"mode": mode},
        ),
        loc=("exchange", name),
        input=None,
    )
