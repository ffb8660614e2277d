"""Every rate limiter the host builds, with budgets a test chooses (to make a budget bind)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from host.clock import Clock
from host.exchange import rest
from host.exchange.ratelimit import Budget, RateLimiter


def limiters_with(
    monkeypatch: pytest.MonkeyPatch, budgets: Mapping[str, Budget]
) -> list[RateLimiter]:
    """Make the REST client build its limiters with ``budgets``; the list fills as it does."""
    built: list[RateLimiter] = []

    def limiter(clock: Clock, **options: Any) -> RateLimiter:
        made = RateLimiter(clock, budgets, **options)
        built.append(made)
        return made

    monkeypatch.setattr(rest, "RateLimiter", limiter)
    return built
