"""OKX's request rate limits, counted on the simulator's clock (``50011``, HTTP 429).

Limits are per endpoint: public ones per IP, private ones per account, order endpoints per account
and instrument. A sliding window of the configured length holds the request times;
the request that would exceed the count is refused and not executed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "/api/v5/public/instruments": (20, 2),
    "/api/v5/public/time": (10, 2),
    "/api/v5/public/funding-rate": (10, 2),
    "/api/v5/market/ticker": (20, 2),
    "/api/v5/market/tickers": (20, 2),
    "/api/v5/market/books": (40, 2),
    "/api/v5/market/candles": (40, 2),
    "/api/v5/market/history-candles": (20, 2),
    "/api/v5/account/config": (5, 2),
    "/api/v5/account/balance": (10, 2),
    "/api/v5/account/positions": (10, 2),
    "/api/v5/account/bills": (5, 1),
    "/api/v5/account/trade-fee": (5, 2),
    "/api/v5/account/set-leverage": (20, 2),
    "/api/v5/account/set-position-mode": (5, 2),
    "/api/v5/trade/order": (60, 2),
    "/api/v5/trade/cancel-order": (60, 2),
    "/api/v5/trade/amend-order": (60, 2),
    "/api/v5/trade/batch-orders": (300, 2),
    "/api/v5/trade/cancel-batch-orders": (300, 2),
    "/api/v5/trade/orders-pending": (60, 2),
    "/api/v5/trade/orders-history": (40, 2),
    "/api/v5/trade/fills": (60, 2),
    "/api/v5/trade/close-position": (20, 2),
    "/api/v5/trade/order-algo": (20, 2),
    "/api/v5/trade/cancel-algos": (20, 2),
    "/api/v5/trade/cancel-advance-algos": (20, 2),
    "/api/v5/trade/amend-algos": (20, 2),
    "/api/v5/trade/orders-algo-pending": (20, 2),
    "/api/v5/trade/orders-algo-history": (20, 2),
    "/api/v5/trade/cancel-all-after": (1, 1),
    "/api/v5/trade/orders-history-archive": (20, 2),
    "/api/v5/trade/fills-history": (10, 2),
    "/api/v5/market/trades": (100, 2),
    "/api/v5/market/history-trades": (20, 2),
    "/api/v5/public/mark-price": (10, 2),
    "/api/v5/public/price-limit": (20, 2),
    "/api/v5/public/funding-rate-history": (10, 2),
    "/api/v5/system/status": (1, 5),
    "/api/v5/asset/currencies": (6, 1),
    "/api/v5/account/leverage-info": (20, 2),
    "/api/v5/account/max-size": (20, 2),
}
"""Requests per window (seconds) by path, from OKX's documentation."""


@dataclass(slots=True)
class SimRateLimiter:
    """Sliding-window counters keyed by endpoint and scope (IP, account, account + instrument)."""

    limits: dict[str, tuple[int, float]]
    _seen: dict[tuple[str, str], deque[datetime]] = field(default_factory=dict)

    def allow(self, path: str, scope: str, now: datetime) -> bool:
        """Count a request; False if it exceeds the endpoint's limit (then it is not counted)."""
        limit = self.limits.get(path)
        if limit is None:
            return True
        count, seconds = limit
        times = self._seen.setdefault((path, scope), deque())
        while times and now - times[0] >= timedelta(seconds=seconds):
            times.popleft()
        if len(times) >= count:
            return False
        times.append(now)
        return True
