"""Write ``okx-trades-BTC-USDT-SWAP-sample.csv``: a GENERATED tape in OKX's trades-file layout.

Real OKX trade files cannot be fetched from here (they come from https://www.okx.com/data-download),
so the sample is made: fifteen minutes of BTC-USDT-SWAP trades, a seeded random walk with a trend,
a range and a choppy stretch, prices on OKX's 0.1 tick and sizes on its 0.01 lot. Run it from the
repository root to make the file again; the same seed gives the same file.
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

START_MS = 1_736_150_400_000  # 2025-01-06T08:00:00Z
SEGMENTS = (("trend", 300, Decimal(4)), ("range", 300, Decimal(0)), ("chop", 300, Decimal(0)))
"""(name, seconds, drift per trade in USDT)."""


def tape(seed: int = 16) -> list[tuple[str, str, str, str, str, str]]:
    """The rows: one trade every 0.15 to 1.5 s, each segment starting where the last ended."""
    rng = random.Random(seed)  # noqa: S311 -- a reproducible market, not a secret
    price, at_ms, trade_id = Decimal(94000), START_MS, 500_000_000
    rows = []
    for name, seconds, drift in SEGMENTS:
        end = at_ms + seconds * 1000
        anchor = price
        while at_ms < end:
            at_ms += rng.randint(150, 1500)
            noise = Decimal(rng.randint(-40, 40)) / 10 * (5 if name == "chop" else 1)
            pull = (anchor - price) / 20 if name == "range" else Decimal(0)
            price = (price + drift + noise + pull).quantize(Decimal("0.1"))
            size = Decimal(rng.randint(1, 300)) / 100
            side = "buy" if rng.random() < 0.5 else "sell"
            trade_id += 1
            rows.append(("BTC-USDT-SWAP", str(trade_id), side, str(price), str(size), str(at_ms)))
    return rows


def main() -> None:
    """Write the file next to this script."""
    path = Path(__file__).with_name("okx-trades-BTC-USDT-SWAP-sample.csv")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("instrument_name", "trade_id", "side", "price", "size", "created_time"))
        writer.writerows(tape())


if __name__ == "__main__":
    main()
