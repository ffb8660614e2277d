"""The back-off schedule shared by REST retries, WebSocket reconnects and order lookups.

Proves that:

* without jitter the delay is exactly ``first × factor ** retry`` (REST: 0.5, 1, 2, 4 s...);
* a factor of 1 is a fixed pause (the lookups of an order whose reply was lost);
* with a ceiling and jitter every delay lies in 0.5..1 × the capped schedule, for any retry
  number at all (no overflow however long the outage);
* the same seed gives the same delays, so a reconnect schedule can be replayed.
"""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from host.exchange.backoff import Backoff

firsts = st.floats(min_value=0.001, max_value=60)


def test_without_jitter_the_delay_doubles_exactly_per_retry() -> None:
    backoff = Backoff(0.5)
    assert [backoff.delay(retry) for retry in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]


@given(first=firsts, retry=st.integers(min_value=0, max_value=10_000))
def test_a_factor_of_one_is_a_fixed_pause(first: float, retry: int) -> None:
    assert Backoff(first, factor=1.0).delay(retry) == first


@given(
    first=firsts,
    ceiling=st.floats(min_value=0.001, max_value=600),
    retry=st.integers(min_value=0, max_value=100_000),
    seed=st.integers(),
)
def test_a_jittered_delay_stays_in_the_upper_half_of_the_capped_schedule(
    first: float, ceiling: float, retry: int, seed: int
) -> None:
    delay = Backoff(first, ceiling_seconds=ceiling, jitter=random.Random(seed)).delay(retry)  # noqa: S311
    capped = ceiling if retry > 40 else min(ceiling, first * 2.0**retry)  # 0.001 × 2⁴⁰ > 600
    assert capped / 2 <= delay <= capped


@given(seed=st.integers())
def test_the_same_seed_gives_the_same_delays(seed: int) -> None:
    def schedule() -> list[float]:
        backoff = Backoff(0.5, ceiling_seconds=30, jitter=random.Random(seed))  # noqa: S311
        return [backoff.delay(retry) for retry in range(8)]

    assert schedule() == schedule()
