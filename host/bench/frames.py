"""The frames the scenarios push: OKX ``tickers``, ``bbo-tbt`` and ``mark-price`` text.

Prices wobble one tick around the mark, so no signal fires and no stop moves on an ordinary
frame; a *crossing* frame puts the bid through the stop of the positions the bench opens, so
that frame's decision is a close. Stamps increase by a millisecond a frame and end at the
host's clock (the simulator's start), so every frame is credible and none is in the future.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import orjson

from host.clock import to_okx_ms
from host.sim.instruments import DEFAULT_INSTRUMENTS, SimInstrument
from host.sim.server import DEFAULT_START

START_MS = int(to_okx_ms(DEFAULT_START))
MARK = Decimal("65000.1")
BID = Decimal("65000.1")
ASK = Decimal("65000.2")
STOP = Decimal("64999.0")
"""The stop of every position the bench opens: one tick wobble stays above it."""
CROSSING_BID = Decimal("64998.9")
HOT = DEFAULT_INSTRUMENTS[0]
"""The instrument of the hot path and the socket scenario (BTC-USDT-SWAP)."""


def instruments(count: int) -> tuple[SimInstrument, ...]:
    """``count`` listed swaps on BTC's grid and price: the simulator's first, then made-up ones."""
    made_up = tuple(
        SimInstrument(
            f"X{n:03d}-USDT-SWAP",
            HOT.tick_sz,
            HOT.lot_sz,
            HOT.min_sz,
            HOT.ct_val,
            MARK,
            inst_id_code=900_000 + n,
        )
        for n in range(max(0, count - 1))
    )
    return (HOT, *made_up)[:count]


def _text(channel: str, inst_id: str, item: Mapping[str, object]) -> str:
    return orjson.dumps({"arg": {"channel": channel, "instId": inst_id}, "data": [item]}).decode()


def mark(inst_id: str, stamp_ms: int) -> str:
    """A mark-price push at :data:`MARK` (the credibility check's anchor)."""
    return _text(
        "mark-price", inst_id, {"instId": inst_id, "markPx": str(MARK), "ts": str(stamp_ms)}
    )


def ticker(inst_id: str, stamp_ms: int, *, crossing: bool = False) -> str:
    """A tickers push: a one-tick wobble, or (``crossing``) a bid through :data:`STOP`."""
    bid = CROSSING_BID if crossing else BID
    last = bid if crossing else (BID if stamp_ms % 2 else ASK)
    item = {"instId": inst_id, "last": str(last), "bidPx": str(bid), "askPx": str(ASK),
            "ts": str(stamp_ms)}  # fmt: skip
    return _text("tickers", inst_id, item)


def quote(inst_id: str, stamp_ms: int) -> str:
    """A bbo-tbt push (best bid and offer, tick by tick); its ``seqId`` is its stamp."""
    bid = BID if stamp_ms % 2 else BID - HOT.tick_sz
    item = {"asks": [[str(ASK), "12", "0", "2"]], "bids": [[str(bid), "9", "0", "1"]],
            "ts": str(stamp_ms), "seqId": stamp_ms}  # fmt: skip
    return _text("bbo-tbt", inst_id, item)


def ticker_run(
    count: int, crossing_every: int = 0, end_ms: int = START_MS, inst_id: str = HOT.inst_id
) -> tuple[list[str], set[int]]:
    """``count`` tickers of one instrument, and the indices of the crossing ones.

    The last is stamped ``end_ms - 1``; every ``crossing_every``-th crosses (0: none).
    """
    first = end_ms - count
    crossing = {
        n for n in range(count) if crossing_every and n % crossing_every == crossing_every - 1
    }
    frames = [ticker(inst_id, first + n, crossing=n in crossing) for n in range(count)]
    return frames, crossing


def quote_rounds(inst_ids: list[str], rounds: int, end_ms: int = START_MS) -> list[str]:
    """``rounds`` rounds of one bbo-tbt per instrument, the last stamped ``end_ms - 1``."""
    first = end_ms - rounds
    return [quote(inst_id, first + round_) for round_ in range(rounds) for inst_id in inst_ids]


def ticker_rounds(inst_ids: list[str], rounds: int, end_ms: int = START_MS) -> list[str]:
    """``rounds`` rounds of one ticker per instrument, the last stamped ``end_ms - 1``."""
    first = end_ms - rounds
    return [ticker(inst_id, first + round_) for round_ in range(rounds) for inst_id in inst_ids]


def marks(inst_ids: list[str]) -> list[str]:
    """One mark per instrument, stamped before any other frame."""
    return [mark(inst_id, START_MS - 10**7) for inst_id in inst_ids]
