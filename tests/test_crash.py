"""Crash recovery: the host killed with SIGKILL at each dangerous moment, restarted, checked.

One simulator process (``scalphost sim``) is the exchange for the whole test; the host
(``scalphost run --mode live`` against the simulator's URLs) trades on it with a journal that
survives every kill. Each cycle starts the host with a quick-trading configuration, waits for
one kill point — seen on the simulator's ledger or in the host's log, with a seeded jitter so
the kill lands at a different instant each time — and sends SIGKILL. Then the host is
restarted on the same journal with entries off, and must, within a few seconds, protect every
position the exchange holds with an exchange-side stop; it is stopped with SIGTERM and the
journal is checked against the ledger: every fill of the account is journaled, no ``clOrdId``
was placed twice, every order the host placed was journaled as an intent first, no intent is
left unresolved, the journal's open positions are the exchange's, and its integrity is OK.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from crash_harness import Host, Simulator, logged, simulator, start_host, wait_until
from pydantic import SecretStr

from host.clock import LiveClock
from host.exchange.api import OkxApi
from host.exchange.health import ExchangeHealth
from host.exchange.rest import OkxRest
from host.journal import Journal
from host.settings import Credentials, ExchangeSettings, JournalSettings

SEED = int(__import__("os").environ.get("CRASH_SEED", "7"))
HOST_PREFIX = "sh"
ENTRY, CLOSE = HOST_PREFIX + "e", HOST_PREFIX + "x"
ORDER_PATH = "/api/v5/trade/order"
STOP_PATH = "/api/v5/trade/order-algo"
FAULTED_REQUESTS = 40
"""How many requests the "exchange unavailable" fault fails (more than the host makes)."""

INSTRUMENTS = "[BTC-USDT-SWAP, ETH-USDT-SWAP]"
ENGINE = """
engine:
  reconcile_interval_seconds: 2
  position_visible_delay_seconds: 0.2
"""
TRADING = f"""
mode: live
instruments: {INSTRUMENTS}
{ENGINE}
plugins:
  momentum_demo:
    enabled: true
    allow_live: true
    lookback_seconds: 5
    threshold: "0.00005"
    cooldown_seconds: 1
  limit_order_policy:
    enabled: true
    post_only: false
    max_wait_seconds: 2
    by_regime: {{trending: 2, ranging: 2, choppy: 2}}
    on_timeout: cross
  time_stop:
    enabled: true
    max_hold_seconds: {{trending: 3, ranging: 3, choppy: 3}}
  circuit_breaker:
    enabled: false
"""
"""Trades within a second or two of starting: entries cross at a time-out, exits after 3 s."""

RECOVERY = f"""
mode: live
instruments: {INSTRUMENTS}
{ENGINE}
plugins:
  momentum_demo:
    enabled: false
  time_stop:
    enabled: false
  circuit_breaker:
    enabled: false
"""
"""No entries and no timed exits: what is open after the restart stays open to be checked."""


# --- kill points --------------------------------------------------------------------------------


def after_an_intent_is_journaled(sim: Simulator, host: Host) -> None:
    """The exchange answers 503 to every order: the intent is journaled, the order never lands."""
    sim.fault("fail_rest", kind="unavailable", path=ORDER_PATH, count=FAULTED_REQUESTS)
    host.output.wait_for(": entry ", start=len(host.output.lines))


def after_it_is_sent(sim: Simulator, host: Host) -> None:
    """The order is placed but its reply is held back: killed before the host hears of it."""
    sim.fault("fail_rest", kind="delay_reply", path=ORDER_PATH, count=1, seconds=3)
    _wait_ledger(sim, lambda e: e["kind"] == "order" and _own(e, HOST_PREFIX))


def after_an_unheard_fill(sim: Simulator, host: Host) -> None:
    """The private stream goes quiet, an entry fills: killed before the host heard of it."""
    sim.fault("silence_sockets", kind="private")
    _wait_ledger(sim, _entry_fill)


def after_the_fill_before_protection(sim: Simulator, host: Host) -> None:
    """Stops are refused (503), an entry fills: killed with its position still unprotected."""
    sim.fault("fail_rest", kind="unavailable", path=STOP_PATH, count=FAULTED_REQUESTS)
    _wait_ledger(sim, _entry_fill)


def after_the_fill(sim: Simulator, host: Host) -> None:
    """An entry of the host's filled: killed before, while or after it journals and protects it."""
    _wait_ledger(sim, _entry_fill)


def mid_an_unheard_close(sim: Simulator, host: Host) -> None:
    """A position is open, the private stream goes quiet, the host closes it: killed unaware."""
    _wait_ledger(sim, _entry_fill)
    sim.fault("silence_sockets", kind="private")
    _wait_ledger(sim, _close_order)


def mid_close(sim: Simulator, host: Host) -> None:
    """The host's close order reached the exchange: killed before, while or after it journals."""
    _wait_ledger(sim, _close_order)


def after_an_outside_order(sim: Simulator, host: Host) -> None:
    """A position opened "in the app": killed before, while or after the host adopts it."""
    sim.fault("external_order", inst_id="BTC-USDT-SWAP", side="sell", sz="0.3")


def at_a_random_moment(sim: Simulator, host: Host) -> None:
    """No event at all: the seeded jitter alone decides when."""


def _own(entry: dict[str, Any], prefix: str) -> bool:
    return str(entry["data"].get("clOrdId", "")).startswith(prefix)


def _entry_fill(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "fill" and _own(entry, ENTRY)


def _close_order(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "order" and _own(entry, CLOSE)


def _wait_ledger(sim: Simulator, kill_point: Callable[[dict[str, Any]], bool]) -> None:
    seen = len(sim.ledger())
    wait_until(lambda: any(kill_point(e) for e in sim.ledger()[seen:]), "kill point reached")


def _heal(sim: Simulator) -> None:
    """Use up what is left of the 503 faults: they would fail the restarted host's requests too.

    The simulator takes a REST fault before it checks the signature, so unsigned requests are
    enough; once one is answered with anything but 503, the fault is gone.
    """
    for path in (ORDER_PATH, STOP_PATH):
        for _ in range(FAULTED_REQUESTS * 10):
            try:
                unsigned = urllib.request.Request(f"{sim.rest}{path}", data=b"{}")  # noqa: S310
                urllib.request.urlopen(unsigned, timeout=5).close()  # noqa: S310
            except urllib.error.HTTPError as refused:
                if refused.code == 429:  # the rate limit answers before the fault: wait
                    time.sleep(0.1)
                    continue
                if refused.code == 503:
                    continue
            break


@dataclass(frozen=True)
class KillPoint:
    """Where to kill the host, the range of the seeded delay after reaching it (seconds), and
    what the kill must have left for the restart to repair (when that is certain)."""

    reach: Callable[[Simulator, Host], None]
    jitter: tuple[float, float]
    left: Callable[[AtKill], object] = lambda _: True


KILL_POINTS = (
    KillPoint(after_an_intent_is_journaled, (0.05, 0.3), lambda k: k.unsent),
    KillPoint(after_it_is_sent, (0.0, 0.1), lambda k: k.unheard),
    KillPoint(after_an_unheard_fill, (0.0, 0.05), lambda k: k.unjournaled_fills and k.unprotected),
    KillPoint(after_the_fill_before_protection, (0.05, 0.2), lambda k: k.unprotected),
    KillPoint(mid_an_unheard_close, (0.0, 0.05), lambda k: k.closed_unjournaled),
    KillPoint(after_the_fill, (0.0, 0.03)),
    KillPoint(mid_close, (0.0, 0.03)),
    KillPoint(after_an_outside_order, (0.0, 0.3)),
    KillPoint(at_a_random_moment, (0.5, 3.0)),
)


# --- what the exchange and the journal say -------------------------------------------------------


async def _exchange(sim: Simulator) -> tuple[set[str], set[str]]:
    """``posId`` of the open positions, and of those without a live stop on their closing side."""
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
        positions = [r.position for r in await api.positions() if r.position.size > 0]
        stops = {(stop.inst_id, stop.side) for stop in await api.pending_stops()}
    unprotected = {
        p.pos_id for p in positions if (p.inst_id, p.side.entry_side.opposite.value) not in stops
    }
    return {p.pos_id for p in positions}, unprotected


def unprotected_positions(sim: Simulator) -> set[str]:
    """``posId`` of every open position without a live exchange-side stop on its closing side."""
    return asyncio.run(_exchange(sim))[1]


def open_positions(sim: Simulator) -> set[str]:
    """``posId`` of every open position on the exchange."""
    return asyncio.run(_exchange(sim))[0]


@dataclass(frozen=True)
class JournalRows:
    """What the journal file holds, read with sqlite3 (read-only) while no host has it open."""

    fills: set[tuple[str, str]]
    intents: set[str]
    heard: set[str]
    """Intents with an outcome the host learnt (acked, rejected, resolved...)."""
    open_positions: set[str]


def journal_file(directory: Path) -> Path:
    """The one journal file in ``directory`` (the test trades one account)."""
    (path,) = directory.glob("*.sqlite3")
    return path


def journal_rows(directory: Path) -> JournalRows:
    """Rows of the journal in ``directory``, as a SIGKILL (or a shutdown) left them."""
    uri = f"file:{journal_file(directory)}?mode=ro"
    with sqlite3.connect(uri, uri=True) as connection:
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
    """What the journal says after a restart, read after the host is gone."""

    rows: JournalRows
    unresolved: set[str]
    open_positions: set[str]
    problems: tuple[str, ...]


def read_journal(directory: Path) -> JournalView:
    """The journal's rows, its unresolved intents and open positions, and its integrity report."""
    rows = journal_rows(directory)

    async def through_the_journal() -> tuple[set[str], set[str], tuple[str, ...]]:
        journal = await Journal.open(
            journal_file(directory), LiveClock(), JournalSettings(directory=directory)
        )
        try:
            unresolved = {i.order.cl_ord_id for i in await journal.unresolved_intents()}
            held = {o.position.pos_id for o in await journal.open_positions()}
            return unresolved, held, (await journal.integrity()).problems
        finally:
            await journal.close()

    unresolved, held, problems = asyncio.run(through_the_journal())
    return JournalView(rows, unresolved, held, problems)


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
        ledger, rows = Ledger.of(sim), journal_rows(journal_dir)
        return cls(
            unsent=rows.intents - set(ledger.placed) - rows.heard,
            unheard=(rows.intents & set(ledger.placed)) - rows.heard,
            unjournaled_fills=len(ledger.fills - rows.fills),
            unprotected=len(unprotected_positions(sim)),
            closed_unjournaled=len(rows.open_positions - open_positions(sim)),
        )


def check_against_the_ledger(sim: Simulator, journal: JournalView, cycle: str) -> None:
    """No lost fill, no order placed twice, intents first and settled, open positions agree."""
    ledger = Ledger.of(sim)
    assert ledger.fills - journal.rows.fills == set(), f"{cycle}: fills missing from the journal"
    reused = {c: o for c, o in ledger.placed.items() if len(o) > 1}
    assert reused == {}, f"{cycle}: clOrdId placed twice"
    own = {c for c in ledger.placed if c.startswith((ENTRY, CLOSE))}
    assert own - journal.rows.intents == set(), f"{cycle}: orders placed without an intent"
    assert journal.unresolved == set(), f"{cycle}: intents of unknown outcome left"
    assert journal.open_positions == open_positions(sim), f"{cycle}: journal and exchange differ"
    assert journal.problems == (), f"{cycle}: journal integrity"


# --- the test ------------------------------------------------------------------------------------


def test_sigkill_at_every_kill_point_loses_no_fill_and_leaves_nothing_unprotected(
    tmp_path: Path,
) -> None:
    trading, recovery = tmp_path / "trading.yaml", tmp_path / "recovery.yaml"
    trading.write_text(TRADING)
    recovery.write_text(RECOVERY)
    journal_dir = tmp_path / "journal"
    jitter = random.Random(SEED)  # noqa: S311 -- a test schedule, not cryptography
    with simulator(SEED) as sim:
        try:
            for number, kill_point in enumerate(KILL_POINTS):
                cycle = f"cycle {number} ({kill_point.reach.__name__}; logs in {tmp_path})"
                with logged(
                    start_host(sim, trading, journal_dir), tmp_path, f"{number}-killed"
                ) as host:
                    host.wait_ready()
                    kill_point.reach(sim, host)
                    time.sleep(jitter.uniform(*kill_point.jitter))
                    assert host.alive(), f"{cycle}: the host died by itself"
                    host.kill()
                _heal(sim)
                at_kill = AtKill.of(sim, journal_dir)
                print(f"{cycle}: {at_kill}")  # what the restart had to repair (shown with -s)
                assert kill_point.left(at_kill), f"{cycle}: kill point missed: {at_kill}"

                with logged(
                    start_host(sim, recovery, journal_dir), tmp_path, f"{number}-restarted"
                ) as host:
                    host.wait_ready()
                    wait_until(
                        lambda: not unprotected_positions(sim), f"{cycle}: protection", every=0.5
                    )
                    assert host.stop() == 0, f"{cycle}: graceful shutdown"
                assert unprotected_positions(sim) == set(), f"{cycle}: a stop went with the host"
                check_against_the_ledger(sim, read_journal(journal_dir), cycle)
        finally:
            (tmp_path / "ledger.json").write_text(json.dumps(sim.ledger(), indent=1))
