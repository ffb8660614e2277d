"""What the crash tests compare: the exchange (REST and the simulator's ledger) and the journal.

The journal is read only while no host has it open: with sqlite3 read-only for its rows, and
through :class:`host.journal.Journal` for what the host itself would conclude from it (the
intents it would still have to settle, the positions it holds open, its integrity report).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from crash_harness import Simulator
from pydantic import SecretStr

from host.clock import LiveClock
from host.exchange.api import OkxApi
from host.exchange.health import ExchangeHealth
from host.exchange.rest import OkxRest
from host.journal import Journal
from host.settings import Credentials, ExchangeSettings, JournalSettings


@dataclass(frozen=True)
class Positions:
    """The exchange's open positions (``posId``) and those without a live exchange-side stop."""

    open: set[str]
    unprotected: set[str]


def positions(sim: Simulator) -> Positions:
    """Ask the simulator over signed REST, as any OKX client would."""
    return asyncio.run(_positions(sim))


async def _positions(sim: Simulator) -> Positions:
    clock = LiveClock()
    credentials = Credentials(
        api_key=SecretStr(sim.banner["api key"]),
        secret_key=SecretStr(sim.banner["secret key"]),
        passphrase=SecretStr(sim.banner["passphrase"]),
    )
    async with aiohttp.ClientSession() as session:
        rest = OkxRest(
            session, ExchangeSettings(rest_url=sim.rest), credentials, clock, ExchangeHealth(clock)
        )
        api = OkxApi(rest)
        held = [r.position for r in await api.positions() if r.position.size > 0]
        stops = {(stop.inst_id, stop.side) for stop in await api.pending_stops()}
    return Positions(
        open={p.pos_id for p in held},
        unprotected={
            p.pos_id for p in held if (p.inst_id, p.side.entry_side.opposite.value) not in stops
        },
    )


@dataclass(frozen=True)
class JournalRows:
    """What the journal file holds, read with sqlite3 (read-only) while no host has it open."""

    fills: set[tuple[str, str]]
    intents: set[str]
    heard: set[str]
    """Intents with an outcome the host learnt (acked, rejected, resolved...)."""
    open_positions: set[str]
    """``posId`` of the positions journaled open (no close row)."""


def journal_file(directory: Path) -> Path:
    """The one journal file in ``directory`` (the test trades one account)."""
    (path,) = directory.glob("*.sqlite3")
    return path


def journal_rows(directory: Path) -> JournalRows:
    """Rows of the journal in ``directory``, as a SIGKILL (or a shutdown) left them."""
    uri = f"file:{journal_file(directory)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        fills = set(connection.execute("SELECT inst_id, trade_id FROM fills").fetchall())
        intents = {row[0] for row in connection.execute("SELECT cl_ord_id FROM order_intents")}
        heard = {
            row[0]
            for row in connection.execute(
                "SELECT cl_ord_id FROM intent_outcomes WHERE outcome != 'unknown'"
            )
        }
        held = {
            row[0]
            for row in connection.execute(
                "SELECT pos_id FROM positions WHERE id NOT IN (SELECT position FROM closes)"
            )
        }
    connection.close()
    return JournalRows(fills, intents, heard, held)


@dataclass(frozen=True)
class JournalView:
    """What the journal says after a restart: its rows, what the host would still have to
    settle (intents of unknown outcome) and its integrity report."""

    rows: JournalRows
    unresolved: set[str]
    problems: tuple[str, ...]


def read_journal(directory: Path) -> JournalView:
    """Read the journal in ``directory`` (no host may have it open)."""
    rows = journal_rows(directory)

    async def through_the_journal() -> tuple[set[str], tuple[str, ...]]:
        journal = await Journal.open(
            journal_file(directory), LiveClock(), JournalSettings(directory=directory)
        )
        try:
            unresolved = {i.order.cl_ord_id for i in await journal.unresolved_intents()}
            return unresolved, (await journal.integrity()).problems
        finally:
            await journal.close()

    unresolved, problems = asyncio.run(through_the_journal())
    return JournalView(rows, unresolved, problems)


@dataclass(frozen=True)
class Ledger:
    """The simulator's ledger, as what the checks compare with the journal."""

    fills: set[tuple[str, str]]
    placed: dict[str, set[str]]
    """Every ``clOrdId`` placed, with the ``ordId`` values it was placed as."""

    @classmethod
    def of(cls, sim: Simulator) -> Ledger:
        """The ledger now."""
        entries = sim.ledger()
        placed: dict[str, set[str]] = defaultdict(set)
        for entry in entries:
            if entry["kind"] == "order" and entry["data"]["clOrdId"]:
                placed[entry["data"]["clOrdId"]].add(entry["data"]["ordId"])
        fills = {
            (e["data"]["instId"], e["data"]["tradeId"]) for e in entries if e["kind"] == "fill"
        }
        return cls(fills, placed)


@dataclass(frozen=True)
class AtKill:
    """What a kill left for the restart to repair (reported, and checked where it is certain)."""

    unsent: set[str]
    """Intents journaled whose order never reached the exchange."""
    unheard: set[str]
    """Orders on the exchange whose outcome the journal does not have."""
    unjournaled_fills: int
    unprotected: int
    closed_unjournaled: int
    """Positions open in the journal but no longer on the exchange."""

    @classmethod
    def of(cls, sim: Simulator, journal_dir: Path) -> AtKill:
        """Compare the ledger with the journal just after the kill."""
        ledger, rows, there = Ledger.of(sim), journal_rows(journal_dir), positions(sim)
        return cls(
            unsent=rows.intents - set(ledger.placed) - rows.heard,
            unheard=(rows.intents & set(ledger.placed)) - rows.heard,
            unjournaled_fills=len(ledger.fills - rows.fills),
            unprotected=len(there.unprotected),
            closed_unjournaled=len(rows.open_positions - there.open),
        )
