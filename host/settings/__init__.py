"""The host's configuration: one frozen model, from defaults, a YAML file and the environment.

Priority, highest first: the environment (``SCALPHOST_<FIELD>``, nested with ``__`` as in
``SCALPHOST_DEDUP__PRIVATE_TTL_SECONDS``), the secrets directory (credentials only), the YAML file,
the defaults. Credentials never come from the YAML file, because YAML files get committed.

The models are :mod:`host.settings.models`, where values come from besides the file is
:mod:`host.settings.sources`, and reading the file and reporting every problem at its path is
:mod:`host.settings.loading`. Everything is importable from here, as ``from host.settings import
Settings, load_settings``.
"""

from host.settings.loading import (
    load_settings,
    redacted_dump,
    secret_values,
    validated_update,
    validation_problems,
)
from host.settings.models import (
    Credentials,
    CredibilitySettings,
    DedupSettings,
    EngineSettings,
    ExchangeSettings,
    GoliveSettings,
    HookSettings,
    JournalSettings,
    LimitOrderMaxWait,
    MonitoringSettings,
    NotifySettings,
    Settings,
    SwapId,
)
from host.settings.sources import ENV_PREFIX, NESTED_DELIMITER, SECRETS_DIR_VARIABLE

__all__ = [
    "ENV_PREFIX",
    "NESTED_DELIMITER",
    "SECRETS_DIR_VARIABLE",
    "Credentials",
    "CredibilitySettings",
    "DedupSettings",
    "EngineSettings",
    "ExchangeSettings",
    "GoliveSettings",
    "HookSettings",
    "JournalSettings",
    "LimitOrderMaxWait",
    "MonitoringSettings",
    "NotifySettings",
    "Settings",
    "SwapId",
    "load_settings",
    "redacted_dump",
    "secret_values",
    "validated_update",
    "validation_problems",
]
