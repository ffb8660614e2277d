"""Perpetual funding: positions pay or receive ``position value × funding rate`` each interval.

By default every 8 h at 00:00/08:00/16:00 UTC, as on OKX; longs pay shorts when the rate is
positive.

The rate is a configured constant, so a session's funding is predictable; it is published on the
``funding-rate`` channel and ``GET /public/funding-rate`` like OKX's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from host.clock import EPOCH
from host.sim.wire import JsonDict, ms, num

RATE_CAP = Decimal("0.00375")
"""OKX's usual funding-rate cap for major swaps (``maxFundingRate``)."""


@dataclass(slots=True)
class FundingSchedule:
    """Settlement times on an ``interval`` grid from the epoch, and the rate charged."""

    interval: timedelta
    rate: Decimal
    next_time: datetime

    @classmethod
    def starting(cls, now: datetime, interval: timedelta, rate: Decimal) -> FundingSchedule:
        """The schedule whose next settlement is the first grid time after ``now``."""
        passed = (now - EPOCH) // interval
        return cls(interval, rate, EPOCH + (passed + 1) * interval)

    def due(self, now: datetime) -> list[datetime]:
        """Settlement times reached by ``now`` (in order), moving the schedule past them."""
        times = []
        while self.next_time <= now:
            times.append(self.next_time)
            self.next_time += self.interval
        return times

    def record(self, inst_id: str, now: datetime) -> JsonDict:
        """``funding-rate`` channel / ``GET /public/funding-rate`` item."""
        return {
            "fundingRate": num(self.rate),
            "fundingTime": ms(self.next_time),
            "instId": inst_id,
            "instType": "SWAP",
            "maxFundingRate": num(RATE_CAP),
            "method": "current_period",
            "minFundingRate": num(-RATE_CAP),
            "nextFundingRate": "",
            "nextFundingTime": ms(self.next_time + self.interval),
            "premium": "0",
            "settFundingRate": num(self.rate),
            "settState": "settled",
            "ts": ms(now),
        }
