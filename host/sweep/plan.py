"""From a spec to runs: each configuration (base config + overrides) on each piece of data.

The overrides are applied to the base settings' data at their dotted paths and validated again,
then the plugins are built: a path that names no setting, or a value a plugin refuses, makes that
configuration's runs fail with the cause — the other configurations still run.

Each run has a key: a digest of the effective config (as ``golive``'s stamp digests it), the code
of the host and of every enabled plugin, and the data (a seed and length, or a file's content).
A stored result under the same key is the result this run would have — the fast replay is
deterministic — so a re-run skips it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from host.errors import ConfigError
from host.golive.stamp import identity_for
from host.pluginmanager import build_plugin_host
from host.settings import Settings, validation_problems
from host.sweep.spec import DataSpec, SweepSpec

Overrides = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DataItem:
    """One market a configuration trades: a generated seed, or an OKX CSV file."""

    seed: int
    file: Path | None
    minutes: float | None

    @property
    def label(self) -> str:
        """How the tables name it."""
        return f"seed {self.seed}" if self.file is None else self.file.name

    def fingerprint(self) -> str:
        """What makes two runs' markets the same: the seed or the file's content, the length."""
        market = f"seed={self.seed}" if self.file is None else f"file={_file_digest(self.file)}"
        return f"{market} minutes={self.minutes}"


@dataclass(frozen=True, slots=True)
class Configuration:
    """One point of the grid: its overrides and the settings they make, or why they make none."""

    config_id: str
    overrides: Overrides
    settings: Settings | None
    problem: str = ""
    identity: str = ""
    """The config, host code and plugin code digests, as JSON (empty when there is a problem)."""


@dataclass(frozen=True, slots=True)
class Run:
    """One configuration on one piece of data: a fast replay, or a stored result."""

    configuration: Configuration
    data: DataItem
    key: str


def data_items(data: DataSpec) -> list[DataItem]:
    """The seeds first, then the files (seed 1, the simulator's ids), in the spec's order."""
    return [DataItem(seed, None, data.minutes) for seed in data.seeds] + [
        DataItem(1, path, data.minutes) for path in data.files
    ]


def plan_runs(spec: SweepSpec, base: Settings) -> list[Run]:
    """Every run of the sweep, configuration by configuration, in a repeatable order."""
    items = data_items(spec.data)
    runs = []
    for overrides in override_sets(spec):
        configuration = configure(base, overrides)
        runs += [Run(configuration, item, run_key(configuration, item)) for item in items]
    return runs


def override_sets(spec: SweepSpec) -> Iterator[Overrides]:
    """The grid's combinations in order, or ``samples`` of them drawn with ``sample_seed``."""
    paths = list(spec.grid)
    grid = [spec.grid[path] for path in paths]
    if spec.samples is None:
        for values in itertools.product(*grid):
            yield tuple(zip(paths, values, strict=True))
        return
    draw = random.Random(spec.sample_seed)  # noqa: S311 -- a repeatable draw, not a secret
    for index in sorted(draw.sample(range(spec.combinations()), spec.samples)):
        yield tuple(zip(paths, _nth_combination(grid, index), strict=True))


def _nth_combination(grid: Sequence[Sequence[Any]], index: int) -> list[Any]:
    """The ``index``-th combination in :func:`itertools.product`'s order, without the others."""
    values = []
    for choices in reversed(grid):
        index, position = divmod(index, len(choices))
        values.append(choices[position])
    return values[::-1]


def configure(base: Settings, overrides: Overrides) -> Configuration:
    """``base`` with ``overrides`` applied and validated, with its plugins built."""
    config_id = _digest(json.dumps(overrides, sort_keys=True, default=str))[:8]
    try:
        settings = apply_overrides(base, overrides)
        identity = identity_for(settings, build_plugin_host(settings))
    except ConfigError as error:
        problem = "; ".join(str(problem) for problem in error.problems)
        return Configuration(config_id, overrides, None, problem)
    identity_text = json.dumps(
        [identity.config, identity.host, dict(identity.plugins)], sort_keys=True
    )
    return Configuration(config_id, overrides, settings, identity=identity_text)


def apply_overrides(base: Settings, overrides: Overrides) -> Settings:
    """``base`` with each dotted path set to its value; :class:`ConfigError` at the path."""
    document = base.model_dump()
    for path, value in overrides:
        _set_path(document, path, value)
    try:
        return Settings.model_validate(document)
    except ValidationError as error:
        raise ConfigError(validation_problems(error)) from None


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Set ``document[a][b][c] = value`` for ``a.b.c``, making the sections that are missing."""
    *sections, leaf = path.split(".")
    where = document
    for depth, name in enumerate(sections):
        inner = where.setdefault(name, {})
        if not isinstance(inner, dict):
            prefix = ".".join(sections[: depth + 1])
            raise ConfigError.single(path, f"{prefix} is a value, not a section")
        where = inner
    where[leaf] = value


def run_key(configuration: Configuration, data: DataItem) -> str:
    """What a stored result must match to stand for this run (never matched without settings)."""
    if configuration.settings is None:
        return "refused-" + _digest(configuration.config_id + data.fingerprint())
    return _digest(configuration.identity + data.fingerprint())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    """The file's SHA-256, or why there is none (the run then fails reading it, with the cause)."""
    try:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError as error:
        return f"unreadable ({error.strerror})"
