"""How long to wait before the next try: the one back-off schedule of the exchange client.

Three places wait and try again: a REST read that failed transiently (the delay doubles per
retry), a WebSocket that lost its connection (doubles up to a ceiling, with jitter so a fleet of
bots does not reconnect in step after an outage) and the lookups of an order whose reply was lost
(a fixed pause: the order shows within a moment or never). Each keeps its own loop, since what
ends the loop differs; the delay of the ``n``-th retry is computed here only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_DOUBLINGS = 30
"""Growth stops here: ``2.0 ** 5000`` overflows a float, and 2³⁰ × any first delay is past any
sensible ceiling."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """The delay before each retry: ``first_seconds × factor ** retry``, capped at ``ceiling``.

    With a ``jitter`` source the delay is drawn from the upper half, 0.5..1 × that value, so it
    never exceeds the ceiling and never falls below half the schedule.
    """

    first_seconds: float
    factor: float = 2.0
    ceiling_seconds: float | None = None
    jitter: random.Random | None = None

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` (0 for the first retry)."""
        scheduled = self.first_seconds * self.factor ** min(retry, MAX_DOUBLINGS)
        if self.ceiling_seconds is not None:
            scheduled = min(self.ceiling_seconds, scheduled)
        if self.jitter is None:
            return scheduled
        return scheduled * (0.5 + self.jitter.random() / 2)
