"""The invariants a live account depends on, judged by the simulator's ground truth.

The go-live fault session and the fault suite (``scalphost faults``) check the same things, here:
the simulator knows what really happened (its ledger, its orders and stop orders, every order
request that reached it), the journal says what the host believes. FAULTS.md §7.3 numbers them;
the ones below are those a position's money depends on.

Some hold at every moment (no order twice, no close after the host's own close, no fill the
exchange never made, a clean journal); others only once the host has caught up with the exchange
(every fill journaled, the same open positions): :func:`settled_violations` checks those too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from host.exchange.orders import HOST_PREFIX
from host.logs import REDACTED, SecretRedactingFilter

if TYPE_CHECKING:
    from host.journal import Journal
    from host.sim.server import Simulator

CLOSE_PURPOSE = "x"
"""The purpose letter of the host's closes in their ``clOrdId`` (see ``ClientOrderIds``)."""

INVARIANTS: dict[str, str] = {
    "protected": "every open position has a live exchange-side stop of the host's (I1)",
    "no double close": "no close is sent for a position the host's own close already flattened,"
    " and no position is journaled closed twice (I2)",
    "fills match": "every fill the exchange made is journaled, and no other (I3)",
    "one order per id": "no clOrdId becomes two orders or stops on the exchange (I5)",
    "one stop per position": "once settled, no position has two stops of the host's resting",
    "intent journaled": "no order reaches the exchange whose intent the journal does not hold"
    " (a full disk sends nothing, F22)",
    "journal integrity": "the journal's own integrity check is clean (I7)",
    "positions match": "the journal's open positions are the exchange's",
    "no secret": "no credential in the log output or the journal file (I11)",
    "no order on garbage": "absurd market data and hostile frames send no order",
    "host alive": "no fault or input ends the trading session (I14)",
}
"""Every invariant checked, by the name the figures use, with what it means."""

UNEXPLAINED_FILL = "matches no journaled intent and no position open at its time"
"""The integrity problem a host in mid-adoption shows for a moment: the outside fill is journaled
as it arrives, the adopted position once its stop is placed. Judged once the host has settled."""

EPOCH_OF_JOURNAL = timedelta(days=3650)
"""How far back "every close" reaches: further than any session the suite runs."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant (a key of :data:`INVARIANTS`) and what shows it."""

    invariant: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def account_uid(sim: Simulator) -> str:
    """The account the host trades: the simulator's first key's."""
    return sim.config.keys[0].uid


def _resting_host_stops(sim: Simulator) -> Iterator[tuple[str, str]]:
    """``(instId, side)`` of each live stop of the host's that closes a whole position."""
    uid = account_uid(sim)
    for algo in sim.engine.algos.values():
        if (
            algo.uid == uid
            and algo.is_live
            and algo.algo_cl_ord_id.startswith(HOST_PREFIX)
            and algo.close_fraction
        ):
            yield algo.inst_id, algo.side


def unprotected(sim: Simulator, traded: Iterable[str]) -> list[Violation]:
    """Open positions on ``traded`` instruments with no live stop of the host's closing them."""
    uid = account_uid(sim)
    closing = set(_resting_host_stops(sim))
    instruments = set(traded)
    return [
        Violation("protected", f"{inst_id} {position.pos_id}: open with no exchange-side stop")
        for (inst_id, _), position in sim.engine.accounts[uid].positions.items()
        if position.pos != 0
        and inst_id in instruments
        and (inst_id, "sell" if position.pos > 0 else "buy") not in closing
    ]


def repeated_client_ids(sim: Simulator) -> list[Violation]:
    """``clOrdId``s the exchange holds more than one order or stop order for."""
    uid = account_uid(sim)
    ids = Counter(o.cl_ord_id for o in sim.engine.orders.values() if o.uid == uid and o.cl_ord_id)
    ids.update(a.algo_cl_ord_id for a in sim.engine.algos.values() if a.uid == uid)
    return [
        Violation("one order per id", f"clOrdId {cl_ord_id} was placed {count} times")
        for cl_ord_id, count in ids.items()
        if cl_ord_id and count > 1
    ]


def repeated_stops(sim: Simulator) -> list[Violation]:
    """Sides of an instrument with more than one live stop of the host's closing them.

    A placement whose reply was lost did reach the exchange: placed again without a look, each
    lost reply leaves one more stop resting (each would close the whole position).
    """
    resting = Counter(_resting_host_stops(sim))
    return [
        Violation("one stop per position", f"{inst_id}: {count} stops of the host's to {side}")
        for (inst_id, side), count in sorted(resting.items())
        if count > 1
    ]


def repeated_closes(sim: Simulator) -> list[Violation]:
    """Closes sent for a position that a close of the host's had already flattened.

    A close that meets a position closed by something else (its exchange-side stop, an order
    from the app, an auto-deleverage) lost a race the host cannot see coming; one that follows
    the host's own filled close was sent twice.
    """
    uid = account_uid(sim)
    closer = HOST_PREFIX + CLOSE_PURPOSE
    cause = {
        (f["instId"], f["tradeId"]): f["clOrdId"] for f in sim.ledger.fills() if f["uid"] == uid
    }
    return [
        Violation(
            "no double close",
            f"{attempt.inst_id}: close {attempt.cl_ord_id} sent after the host's close "
            f"{cause[(attempt.inst_id, attempt.last_trade_id)]} had flattened the position",
        )
        for attempt in sim.api.order_attempts
        if attempt.uid == uid
        and attempt.reduce_only
        and attempt.cl_ord_id.startswith(closer)
        and attempt.held == 0
        and cause.get((attempt.inst_id, attempt.last_trade_id), "").startswith(closer)
    ]


def orders_sent(sim: Simulator) -> int:
    """Order and stop-order requests of the account that reached the exchange so far."""
    uid = account_uid(sim)
    placed = sum(1 for attempt in sim.api.order_attempts if attempt.uid == uid)
    return placed + sum(1 for algo in sim.engine.algos.values() if algo.uid == uid)


def exchange_violations(sim: Simulator) -> list[Violation]:
    """What the exchange alone shows at any moment: orders twice, closes twice."""
    return repeated_client_ids(sim) + repeated_closes(sim)


async def journal_violations(journal: Journal, sim: Simulator, *, settled: bool) -> list[Violation]:
    """What the journal shows against the ledger; ``settled``: the host has caught up.

    At any moment: no fill the exchange never made, no position closed twice, no order sent
    whose intent is not journaled, a clean integrity check. Once settled also: every fill of the
    ledger journaled, and the journal's open positions the exchange's.
    """
    uid = account_uid(sim)
    ledger = {(f["instId"], f["tradeId"]) for f in sim.ledger.fills() if f["uid"] == uid}
    journaled = await journal.seen_trade_ids()
    found = [
        Violation("fills match", f"fill {trade} is journaled but the exchange never made it")
        for trade in sorted(journaled - ledger)
    ]
    closes = Counter(
        (closed.position.pos_id, closed.position.entry_time)
        for closed in await journal.closed_since(sim.clock.now() - EPOCH_OF_JOURNAL)
    )
    found += [
        Violation("no double close", f"position {pos_id} closed {n} times")
        for (pos_id, _), n in closes.items()
        if n > 1
    ]
    intents = await journal.intent_client_ids()
    found += [
        Violation("intent journaled", f"order {attempt.cl_ord_id} was sent unjournaled")
        for attempt in sim.api.order_attempts
        if attempt.uid == uid and attempt.cl_ord_id not in intents
    ]
    found += [
        Violation("journal integrity", f"journal integrity: {problem}")
        for problem in (await journal.integrity()).problems
        if settled or UNEXPLAINED_FILL not in problem
    ]
    if settled:
        found += [
            Violation("fills match", f"fill {trade} is not in the journal")
            for trade in sorted(ledger - journaled)
        ]
        journal_open = {open_.position.pos_id for open_ in await journal.open_positions()}
        exchange_open = {
            position.pos_id
            for position in sim.engine.accounts[uid].positions.values()
            if position.pos != 0
        }
        if journal_open != exchange_open:
            journaled_ids, there = sorted(journal_open), sorted(exchange_open)
            found.append(
                Violation(
                    "positions match",
                    f"open positions differ: journal {journaled_ids}, exchange {there}",
                )
            )
    return found


async def settled_violations(
    journal: Journal, sim: Simulator, traded: Iterable[str]
) -> list[Violation]:
    """Every invariant of a host that has caught up with the exchange (a session's end)."""
    found = unprotected(sim, traded) + exchange_violations(sim) + repeated_stops(sim)
    return found + await journal_violations(journal, sim, settled=True)


def secret_hits(text: str, secrets: Iterable[str]) -> int:
    """How many times a secret, raw or base64-encoded, occurs in ``text``.

    The log redaction's own recogniser finds them: what it would replace is a leak.
    """
    redacted = SecretRedactingFilter(secrets).redact(text)
    return redacted.count(REDACTED) - text.count(REDACTED)
