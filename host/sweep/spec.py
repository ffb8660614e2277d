"""The sweep spec: which config, which overrides, which data, and what makes a run good.

A YAML file, validated by pydantic; every problem is a :class:`~host.errors.ConfigProblem` at its
field's path, so ``scalphost sweep`` exits 2 naming the field, as a bad config does. Paths in the
spec (``base``, ``data.files``) are relative to the spec's own directory, so a spec and its data
can move together.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from host.errors import ConfigError, ConfigProblem
from host.settings import validation_problems

RankBy = Literal["net_pnl", "max_drawdown", "win_rate", "sharpe"]
DOTTED_PATH = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)*$")
MAX_RUNS = 100_000
"""More runs than this is a mistake in the grid, not a sweep anyone waits for."""
MAX_SPEC_BYTES = 1_000_000


class DataSpec(BaseModel):
    """The markets each configuration trades: generated seeds and/or OKX trades CSV files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seeds: tuple[int, ...] = ()
    files: tuple[Path, ...] = ()
    minutes: float | None = Field(default=None, gt=0, le=7 * 24 * 60, allow_inf_nan=False)
    """Simulated minutes per run; unset: an hour of a generated market, a file to its end."""

    @model_validator(mode="after")
    def _some_data(self) -> DataSpec:
        if not self.seeds and not self.files:
            raise ValueError("give at least one of seeds or files")
        return self


class SweepSpec(BaseModel):
    """A sweep: ``base`` config, ``grid`` of overrides × ``data``, ranked by ``rank_by``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Path | None = None
    """The config every run starts from (``None``: the defaults)."""
    grid: dict[str, tuple[Any, ...]] = Field(default_factory=dict)
    """Dotted setting path → the values to try; every combination is one configuration."""
    samples: int | None = Field(default=None, ge=1)
    """Instead of the whole grid, this many distinct combinations drawn at random."""
    sample_seed: int = 0
    """The seed of the random draw, so a sampled sweep is repeatable."""
    data: DataSpec
    rank_by: RankBy = "net_pnl"
    best: int = Field(default=3, ge=0)
    """How many of the best configs to write out as YAML (and check with ``--golive``)."""

    @field_validator("grid")
    @classmethod
    def _paths_and_values(cls, grid: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        for path, values in grid.items():
            if not DOTTED_PATH.match(path):
                raise ValueError(f"{path!r} is not a dotted setting path (a.b.c)")
            if not values:
                raise ValueError(f"{path}: give at least one value")
        return grid

    @field_validator("samples")
    @classmethod
    def _within_the_grid(cls, samples: int | None, info: ValidationInfo) -> int | None:
        combinations = _combinations(info.data.get("grid", {}))
        if samples is not None and samples > combinations:
            raise ValueError(f"the grid has only {combinations} combinations")
        return samples

    @field_validator("data")
    @classmethod
    def _not_absurd(cls, data: DataSpec, info: ValidationInfo) -> DataSpec:
        configurations = info.data.get("samples") or _combinations(info.data.get("grid", {}))
        if configurations * len(data.seeds + data.files) > MAX_RUNS:
            raise ValueError(f"more than {MAX_RUNS} runs; use samples to draw fewer")
        return data

    def combinations(self) -> int:
        """How many configurations the whole grid has."""
        return _combinations(self.grid)


def _combinations(grid: dict[str, tuple[Any, ...]]) -> int:
    return math.prod(len(values) for values in grid.values())


def load_spec(path: Path) -> SweepSpec:
    """Read and validate the spec at ``path``; its relative paths made relative to its folder.

    Raises :class:`ConfigError` with every problem at its field's path.
    """
    where = str(path)
    try:
        raw = path.read_bytes()[: MAX_SPEC_BYTES + 1]
        document = yaml.safe_load(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError.single(where, "sweep spec not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError.single(where, f"cannot read sweep spec: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError.single(where, f"invalid YAML: {error}".replace("\n", " ")) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise ConfigError.single(where, f"larger than {MAX_SPEC_BYTES} bytes")
    if not isinstance(document, dict):
        raise ConfigError.single(where, "the top level must be a mapping (base, grid, data, ...)")
    try:
        spec = SweepSpec.model_validate(document)
    except ValidationError as error:
        raise ConfigError(
            ConfigProblem(f"{where}: {problem.path}", problem.message)
            for problem in validation_problems(error)
        ) from None
    return _relative_to(spec, path.parent)


def _relative_to(spec: SweepSpec, folder: Path) -> SweepSpec:
    data = spec.data.model_copy(update={"files": tuple(folder / f for f in spec.data.files)})
    base = None if spec.base is None else folder / spec.base
    return spec.model_copy(update={"data": data, "base": base})
