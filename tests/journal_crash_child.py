"""A host stand-in that journals as fast as it can until it is killed (run by test_journal_crash).

It prints one line per durable write *after* ``commit`` returned (``intent c7``, ``fill t7``,
``close p7``), so every printed record must survive a SIGKILL. Between durable writes it hands
over bursts of fire-and-forget records, so the kill also lands in the middle of batches.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from journal_factory import T0, at, closed, entry_intent, fill, opened, position

from host.clock import ManualClock
from host.journal import ErrorEvent, IntentOutcome, Journal, Outcome, StopMove
from host.settings import JournalSettings


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(path: Path) -> None:
    journal = await Journal.open(path, ManualClock(T0), JournalSettings())
    say("ready")
    n = 0
    while True:
        cl_ord_id, trade_id, pos_id, now = f"c{n}", f"t{n}", f"p{n}", at(n)
        await journal.commit(entry_intent(cl_ord_id, when=now))
        say(f"intent {cl_ord_id}")
        journal.write(IntentOutcome(cl_ord_id, Outcome.ACKED, now, ord_id=f"o{n}"))
        for part in range(20):
            journal.write(fill(f"{trade_id}-{part}", cl_ord_id, when=now))
            journal.write(ErrorEvent(now, "crash-child", f"burst {n}/{part}"))
        await journal.commit(fill(trade_id, cl_ord_id, when=now))
        say(f"fill {trade_id}")
        held = position(pos_id, opened=now)
        await journal.commit(opened(held, cl_ord_id))
        for step in range(1, 6):
            stop = Decimal("103000") + step
            journal.write(StopMove(pos_id, stop, "trailing_stop", "trail", now))
        if n % 2:
            await journal.commit(closed(replace(held, stop=stop), now))
            say(f"close {pos_id}")
        n += 1


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
