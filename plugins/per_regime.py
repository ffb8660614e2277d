"""One value per market regime: the shape every regime-aware built-in setting takes.

Spelling out all three regimes (rather than a default plus overrides) keeps ``config/paper.yaml``
honest: a reader sees the exact number used in a choppy market without working out which
fallback applies.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from host import Regime

T = TypeVar("T")


class PerRegime(BaseModel, Generic[T]):
    """A setting given once for each regime the detector can answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trending: T
    ranging: T
    choppy: T

    def of(self, regime: Regime) -> T:
        """The value for ``regime``."""
        value: T = getattr(self, regime.value)
        return value
