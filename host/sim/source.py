"""Where public trades come from: the protocol both the generator and the file replay follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RawTrade:
    """A market trade before the simulator assigns it an OKX ``tradeId`` (``side`` = taker side)."""

    inst_id: str
    side: str
    px: Decimal
    sz: Decimal
    ts: datetime


class MarketSource(Protocol):
    """A stream of market trades in time order."""

    def trades_until(self, until: datetime) -> list[RawTrade]:
        """Every trade at or before ``until`` not returned yet, oldest first."""
        ...
