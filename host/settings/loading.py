"""Loading the settings: a YAML file and the environment in, one frozen :class:`Settings` out.

:func:`load_settings` turns every problem (an unreadable file, bad YAML, a wrong type, an unknown
key) into one :class:`~host.errors.ConfigProblem` per pydantic error, so the CLI can print them
all at once instead of a traceback. A problem never quotes the offending value: it might be a
secret. Credentials never come from the YAML file, because YAML files get committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import SettingsError

from host.errors import ConfigError, ConfigProblem
from host.settings.models import Settings
from host.settings.sources import ENV_PREFIX, NESTED_DELIMITER, SECRETS_DIR_VARIABLE

_EXTRA_KEY = "Extra inputs are not permitted"
"""pydantic's message for a key that names no setting."""


def load_settings(config_path: Path | None) -> Settings:
    """Load the settings from ``config_path`` (``None``: defaults) and ``os.environ``.

    The YAML document becomes ``Settings(**document)``; see
    :meth:`Settings.settings_customise_sources` for how it ranks against the environment.
    Raises :class:`ConfigError` listing every problem found.
    """
    document = _read_document(config_path) if config_path is not None else {}
    problems: list[ConfigProblem] = []
    if "credentials" in document:
        problems.append(
            ConfigProblem(
                "credentials",
                "not allowed in a config file (config files get committed); set "
                f"{ENV_PREFIX}CREDENTIALS{NESTED_DELIMITER}<FIELD> in the environment or put "
                f"credentials__<field> files in the directory named by {SECRETS_DIR_VARIABLE}",
            )
        )
    # No setting's name starts with "_" (pydantic forbids it), and such keyword arguments would
    # reach BaseSettings' own options (``_secrets_dir``, ``_env_prefix``, ...), so they and
    # non-string keys are reported here as the unknown keys they are.
    unknown = [key for key in document if not isinstance(key, str) or key.startswith("_")]
    problems.extend(ConfigProblem(str(key), _EXTRA_KEY) for key in unknown)
    arguments: dict[str, Any] = {
        key: value for key, value in document.items() if key != "credentials" and key not in unknown
    }
    try:
        settings = Settings(**arguments)
    except ValidationError as error:
        problems.extend(validation_problems(error))
    except SettingsError as error:
        problems.append(ConfigProblem("", str(error)))
    except ConfigError as error:
        problems.extend(error.problems)
    else:
        if not problems:
            return settings
    raise ConfigError(problems)


def validated_update(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with ``changes`` applied and validated again, e.g. ``--mode live``.

    Raises :class:`ConfigError` like :func:`load_settings`: live mode without credentials is
    refused here too, at the path of the missing credential.
    """
    try:
        return Settings.model_validate(settings.model_dump() | changes)
    except ValidationError as error:
        raise ConfigError(validation_problems(error)) from None


def _read_document(path: Path) -> dict[Any, Any]:
    """Parse a YAML config file into a mapping; an empty file is an empty mapping.

    Raises :class:`ConfigError` at the file's path for a missing or unreadable file, invalid
    YAML (with its line and column) or a top level that is not a mapping.
    """
    where = str(path)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError.single(where, "config file not found") from None
    except UnicodeDecodeError:
        raise ConfigError.single(where, "config file is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError.single(where, f"cannot read config file: {error.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError.single(where, f"config file is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader, bounded
    except yaml.YAMLError as error:
        raise ConfigError.single(where, _yaml_message(error)) from None
    except ValueError as error:  # e.g. an integer longer than Python converts (4300 digits)
        raise ConfigError.single(where, f"invalid YAML value: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError.single(
            where, f"the top level must be a mapping of settings, not a {type(document).__name__}"
        )
    return document


MAX_CONFIG_BYTES = 1_000_000
"""A config is a few kilobytes; reading more (``/dev/zero``, a wrong file) only costs memory."""

MAX_CONFIG_DEPTH = 32
"""Deeper nesting is no configuration, and PyYAML's recursive composer would overflow on it."""


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases and deep nesting.

    An alias repeats an anchored node by reference, and nested aliases multiply: a few hundred
    bytes expand to billions of nodes ("billion laughs"). A config needs neither, so both are
    refused with the line they start on.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, refusing an alias and counting the depth."""
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed in a config file", problem_mark=mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_CONFIG_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"nested deeper than {MAX_CONFIG_DEPTH} levels", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml_message(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    return f"invalid YAML: {error}"


def validation_problems(error: ValidationError) -> list[ConfigProblem]:
    """One problem per pydantic error, at its dotted path; the rejected value is never shown."""
    return [
        ConfigProblem(".".join(str(part) for part in detail["loc"]), detail["msg"])
        for detail in error.errors(include_url=False, include_input=False)
    ]


# --- output -----------------------------------------------------------------------------------


def redacted_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data (YAML/JSON-ready); every secret is ``**********``.

    pydantic serialises a set :class:`SecretStr` as ``**********`` and an unset one as ``None``.
    """
    return settings.model_dump(mode="json")


def secret_values(settings: Settings) -> tuple[str, ...]:
    """The plain values of the secrets that are set, for the log filter to redact.

    The credentials and the monitoring endpoint's token.
    """
    secrets = [value for _, value in settings.credentials] + [settings.monitoring.token]
    return tuple(value.get_secret_value() for value in secrets if value is not None)
