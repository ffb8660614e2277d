"""OKX-looking identifiers (long digit strings) from counters, so a seed replays the same ids."""

from __future__ import annotations

import itertools


class IdSource:
    """Separate sequences for orders, algo orders, positions and bills, offset by the seed."""

    def __init__(self, seed: int) -> None:
        base = 700_000_000_000_000_000 + (seed % 1_000_000) * 1_000_000_000
        self._orders = itertools.count(base + 1)
        self._algos = itertools.count(base + 500_000_001)
        self._positions = itertools.count(base // 10 + 1)
        self._bills = itertools.count(base // 100 + 1)

    def order(self) -> str:
        """A new ``ordId``."""
        return str(next(self._orders))

    def algo(self) -> str:
        """A new ``algoId``."""
        return str(next(self._algos))

    def position(self) -> str:
        """A new ``posId``."""
        return str(next(self._positions))

    def bill(self) -> str:
        """A new ``billId``."""
        return str(next(self._bills))
