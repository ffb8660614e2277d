"""Where settings come from besides the YAML file: the environment and the secrets directory.

Priority, highest first: the environment (``SCALPHOST_<FIELD>``, nested with ``__`` as in
``SCALPHOST_DEDUP__PRIVATE_TTL_SECONDS``), the secrets directory (credentials only), the YAML file,
the defaults (the order is :meth:`host.settings.Settings.settings_customise_sources`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import (
    EnvSettingsSource,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
)

from host.errors import ConfigError

ENV_PREFIX = "SCALPHOST_"
NESTED_DELIMITER = "__"
SECRETS_DIR_VARIABLE = ENV_PREFIX + "SECRETS_DIR"
"""Names the directory holding credential files such as ``credentials__api_key``."""


class EnvironSource(EnvSettingsSource):
    """The environment source, naming the variable when a list or section is not valid JSON.

    Overrides only the public, documented :meth:`EnvSettingsSource.prepare_field_value`.
    """

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        """Decode a list or section given as JSON; name the variable when that fails."""
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except ValueError as error:
            variable = ENV_PREFIX + field_name.upper()
            raise ConfigError.single(
                field_name,
                f"{variable} is not valid JSON ({error}); a list or a whole section set in the "
                "environment must be JSON",
            ) from None


class CredentialSecretsSource(NestedSecretsSettingsSource):
    """Credential files such as ``credentials__api_key``; other files in the directory are ignored.

    Only credentials are secrets: a stray ``mode`` file in a mounted secrets volume must not
    switch the host to live trading.
    """

    def __init__(self, file_secret_settings: PydanticBaseSettingsSource, directory: Path) -> None:
        super().__init__(
            file_secret_settings,
            secrets_dir=directory,
            secrets_dir_missing="error",
            secrets_prefix="",
            secrets_nested_delimiter=NESTED_DELIMITER,
        )

    def __call__(self) -> dict[str, Any]:
        """The directory's values, keeping the ``credentials`` section only."""
        return {key: value for key, value in super().__call__().items() if key == "credentials"}


def secrets_dir(environ: Mapping[str, str]) -> Path | None:
    """The secrets directory ``environ`` names, if any; one that is not a directory is an error."""
    raw = environ.get(SECRETS_DIR_VARIABLE)
    if not raw:
        return None
    directory = Path(raw)
    if not directory.is_dir():
        raise ConfigError.single(SECRETS_DIR_VARIABLE, f"{raw} is not a directory")
    return directory
