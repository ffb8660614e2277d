"""Per-endpoint request budgets as OKX publishes them, so the host throttles itself before OKX does.

OKX limits each endpoint to N requests per 2 seconds, counted per IP, per user, or per user and
instrument for the trade endpoints. A client that ignores this gets ``50011`` in the middle of a
close. Each budget is a sliding window on the injected clock; a request that would exceed it
waits for the oldest request to leave the window — on that same clock (:meth:`Clock.sleep
<host.clock.Clock.sleep>`). Measuring on one clock and waiting on another wedged simulated
sessions: a wait of the event loop's time never moved the simulated clock, so the budget never
freed and the request waited again, forever, while the session waited for it to move time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from host.clock import Clock

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``requests`` in any ``window_seconds``; ``per_instrument`` counts each apart."""

    requests: int
    window_seconds: float = 2.0
    per_instrument: bool = False


OKX_BUDGETS: Mapping[str, Budget] = {
    "/api/v5/public/instruments": Budget(20),
    "/api/v5/public/time": Budget(10),
    "/api/v5/market/ticker": Budget(20),
    "/api/v5/account/config": Budget(5),
    "/api/v5/account/balance": Budget(10),
    "/api/v5/account/positions": Budget(10),
    "/api/v5/account/set-leverage": Budget(20),
    "/api/v5/trade/order": Budget(60, per_instrument=True),
    "/api/v5/trade/cancel-order": Budget(60, per_instrument=True),
    "/api/v5/trade/amend-order": Budget(60, per_instrument=True),
    "/api/v5/trade/orders-pending": Budget(60),
    "/api/v5/trade/fills": Budget(60),
    "/api/v5/trade/fills-history": Budget(10),
    "/api/v5/account/bills": Budget(5, 1.0),
    "/api/v5/trade/order-algo": Budget(20, per_instrument=True),
    "/api/v5/trade/cancel-algos": Budget(20),
    "/api/v5/trade/amend-algos": Budget(20, per_instrument=True),
    "/api/v5/trade/orders-algo-pending": Budget(20),
    "/api/v5/trade/cancel-all-after": Budget(1, 1.0),
}
"""OKX's published limits. They are the exchange's facts, not trading opinions."""

DEFAULT_BUDGET = Budget(5)
"""For an endpoint missing from the table: OKX's most common small limit."""


class RateLimiter:
    """Sliding-window budgets keyed by endpoint (and instrument where OKX counts per instrument)."""

    def __init__(
        self,
        clock: Clock,
        budgets: Mapping[str, Budget] = OKX_BUDGETS,
        sleep: Sleep | None = None,
    ) -> None:
        self._clock = clock
        self._budgets = budgets
        self._sleep = sleep or clock.sleep
        """How a request waits for its budget: by default on the clock the window is measured on."""
        self._sent: dict[tuple[str, str], deque[float]] = {}
        self.waited_seconds = 0.0
        """Total time requests spent waiting for their budget (a health figure)."""

    async def acquire(self, path: str, inst_id: str = "") -> None:
        """Wait until one more request to ``path`` fits in its budget, then count it."""
        budget = self._budgets.get(path, DEFAULT_BUDGET)
        key = (path, inst_id if budget.per_instrument else "")
        sent = self._sent.setdefault(key, deque())
        while True:
            now = self._clock.monotonic()
            while sent and sent[0] <= now - budget.window_seconds:
                sent.popleft()
            if len(sent) < budget.requests:
                sent.append(now)
                return
            wait = sent[0] + budget.window_seconds - now
            self.waited_seconds += wait
            await self._sleep(wait)
