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

import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from crash_harness import WAIT, Host, Simulator, logged, simulator, start_host, wait_until
from crash_views import AtKill, JournalView, Ledger, positions, read_journal

SEED = int(os.environ.get("CRASH_SEED", "7"))
"""Seeds the simulator's market and the kill jitter; set CRASH_SEED to explore other runs."""
HOST_PREFIX = "sh"
ENTRY, CLOSE = HOST_PREFIX + "e", HOST_PREFIX + "x"
ORDER_PATH = "/api/v5/trade/order"
STOP_PATH = "/api/v5/trade/order-algo"
STOPS_PENDING_PATH = "/api/v5/trade/orders-algo-pending"
FAULTED_REQUESTS = 40
"""How many requests the "exchange unavailable" fault fails (more than the host makes)."""
HELD_BACK = 4
"""How many replies the "reply held back" fault delays (other order paths may take some)."""
HEALING_ROUND = 10
"""Concurrent unsigned requests per round that use up what is left of the faults."""

INSTRUMENTS = "[BTC-USDT-SWAP, ETH-USDT-SWAP]"
ENGINE = """
engine:
  reconcile_interval_seconds: {reconcile}
  position_visible_delay_seconds: 0.2
"""
TRADING = f"""
mode: live
instruments: {INSTRUMENTS}
{ENGINE.format(reconcile=30)}
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
"""Trades within a second or two of starting: entries cross at a time-out, exits after 3 s.

It reconciles with the exchange at start and then only every 30 s: what a kill point leaves
unheard (a fill, a close, an outside position) stays unknown to the host until it is killed.
"""

RECOVERY = f"""
mode: live
instruments: {INSTRUMENTS}
{ENGINE.format(reconcile=2)}
plugins:
  momentum_demo:
    enabled: false
  time_stop:
    enabled: false
  circuit_breaker:
    enabled: false
"""
"""No entries and no timed exits: what is open after the restart stays open to be checked;
reconciliation every 2 s, so a stop that failed to be placed is tried again soon."""


# --- kill points --------------------------------------------------------------------------------


def after_an_intent_is_journaled(sim: Simulator, host: Host) -> None:
    """The exchange answers 503 to every order: the intent is journaled, the order never lands."""
    sim.fault("fail_rest", kind="unavailable", path=ORDER_PATH, count=FAULTED_REQUESTS)
    host.output.wait_for(": entry ", start=len(host.output.lines))


def after_it_is_sent(sim: Simulator, host: Host) -> None:
    """The order is placed but its reply is held back: killed before the host hears of it.

    The fault takes any request whose path starts like the order's (the host's checks of its
    stops and resting orders too), so a few replies are held back to be sure to get the order's.
    """
    sim.fault("fail_rest", kind="delay_reply", path=ORDER_PATH, count=HELD_BACK, seconds=2)
    _wait_ledger(sim, lambda e: e["kind"] == "order" and _own(e, HOST_PREFIX))


def after_an_unheard_fill(sim: Simulator, host: Host) -> None:
    """An entry rests, the private stream goes quiet, it fills: killed before the host heard.

    Quiet only once an entry rests: a host that does not hear its positions close would never
    enter again.
    """
    _wait_ledger(sim, lambda e: _own(e, ENTRY) and e["data"].get("state") == "live")
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
    """A position is open, the private stream goes quiet, the host closes it: killed unaware.

    Quiet only once an entry has filled completely and is protected (so journaled, at its
    whole size). The close's fill is then certainly unheard; the position is usually left
    journaled open and flat on the exchange (not when another entry's fills, also unheard,
    made the closed position larger than the host knew).
    """
    _wait_ledger(sim, lambda e: _own(e, ENTRY) and e["data"].get("state") == "filled")
    wait_until(lambda: _all_protected(sim), "the entry protected", every=0.25)
    sim.fault("silence_sockets", kind="private")
    _wait_ledger(sim, _close_order)


def mid_close(sim: Simulator, host: Host) -> None:
    """The host's close order reached the exchange: killed before, while or after it journals."""
    _wait_ledger(sim, _close_order)


def after_an_outside_order(sim: Simulator, host: Host) -> None:
    """A position opened "in the app" while the private stream is quiet: killed before the
    host adopts it (or, if its periodic reconciliation came first, after).

    It is larger than one entry of the host's: an entry the unaware host sends meanwhile may
    shrink it, not close it (a position that opens and closes unseen leaves fills no journaled
    position explains, which ``integrity()`` reports — see docs/development.md, "Crash tests").
    """
    sim.fault("silence_sockets", kind="private")
    sim.fault("external_order", inst_id="BTC-USDT-SWAP", side="sell", sz="0.8")


def at_a_random_moment(sim: Simulator, host: Host) -> None:
    """No event at all: the seeded jitter alone decides when."""


def _own(entry: dict[str, Any], prefix: str) -> bool:
    return str(entry["data"].get("clOrdId", "")).startswith(prefix)


def _entry_fill(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "fill" and _own(entry, ENTRY)


def _close_order(entry: dict[str, Any]) -> bool:
    return entry["kind"] == "order" and _own(entry, CLOSE)


def _all_protected(sim: Simulator) -> bool:
    """Some position open, each with its stop: journaled (the host journals, then protects)."""
    there = positions(sim)
    return bool(there.open) and not there.unprotected


def _wait_ledger(sim: Simulator, kill_point: Callable[[dict[str, Any]], bool]) -> None:
    seen = len(sim.ledger())
    wait_until(lambda: any(kill_point(e) for e in sim.ledger()[seen:]), "kill point reached")


def _heal(sim: Simulator) -> None:
    """Use up what is left of the REST faults: they would hit the restarted host's requests.

    The simulator takes a REST fault before it checks the signature, so unsigned requests
    are enough. They go out in concurrent rounds (a held-back reply holds its request for
    seconds) until a round meets neither a 503 nor the rate limit.
    """
    with ThreadPoolExecutor(HEALING_ROUND) as pool:
        for _ in range(FAULTED_REQUESTS):
            paths = [ORDER_PATH, STOP_PATH] * (HEALING_ROUND // 2)
            answers = set(pool.map(lambda path: _unsigned_post(sim, path), paths))
            if not answers & {503, 429}:
                return
            if 429 in answers:
                time.sleep(0.2)
    raise AssertionError("the simulator's REST faults did not run out")


def _unsigned_post(sim: Simulator, path: str) -> int:
    request = urllib.request.Request(f"{sim.rest}{path}", data=b"{}")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def a_slow_restart(sim: Simulator) -> None:
    """The restart's list of stops comes 2 s late (the host's once-a-second chores run in the
    meantime) and its first two stop placements are refused (it must try again later)."""
    sim.fault("fail_rest", kind="delay_reply", path=STOPS_PENDING_PATH, count=1, seconds=2)
    sim.fault("fail_rest", kind="unavailable", path=STOP_PATH, count=2)


@dataclass(frozen=True)
class KillPoint:
    """Where to kill the host, the range of the seeded delay after reaching it (seconds), and
    what the kill must have left for the restart to repair (when that is certain)."""

    reach: Callable[[Simulator, Host], None]
    jitter: tuple[float, float]
    left: Callable[[AtKill], object] = lambda _: True
    at_restart: Callable[[Simulator], None] = lambda _: None
    """Faults for the restarted host to cope with."""


KILL_POINTS = (
    KillPoint(after_an_intent_is_journaled, (0.05, 0.3), lambda k: k.unsent),
    KillPoint(after_it_is_sent, (0.0, 0.1), lambda k: k.unheard),
    KillPoint(after_an_unheard_fill, (0.0, 0.05), lambda k: k.unjournaled_fills and k.unprotected),
    KillPoint(
        after_the_fill_before_protection, (0.05, 0.2), lambda k: k.unprotected, a_slow_restart
    ),
    KillPoint(mid_an_unheard_close, (0.0, 0.05), lambda k: k.unjournaled_fills),
    KillPoint(after_the_fill, (0.0, 0.03)),
    KillPoint(mid_close, (0.0, 0.03)),
    KillPoint(after_an_outside_order, (0.0, 0.3)),
    KillPoint(at_a_random_moment, (0.5, 3.0)),
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
    assert journal.rows.open_positions == positions(sim).open, f"{cycle}: journal, exchange differ"
    assert journal.problems == (), f"{cycle}: journal integrity"


# --- the test ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", KILL_POINTS, ids=lambda point: point.reach.__name__)
def test_sigkill_at_a_kill_point_loses_no_fill_and_leaves_nothing_unprotected(
    tmp_path: Path, kill_point: KillPoint
) -> None:
    """One kill point per test, on its own simulator and journal: a failure at one kill point
    does not hide the others (they once ran as one loop that stopped at the first)."""
    trading, recovery = tmp_path / "trading.yaml", tmp_path / "recovery.yaml"
    trading.write_text(TRADING)
    recovery.write_text(RECOVERY)
    journal_dir = tmp_path / "journal"
    number = KILL_POINTS.index(kill_point)
    jitter = random.Random(SEED + number)  # noqa: S311 -- a test schedule, not cryptography
    cycle = f"{kill_point.reach.__name__} (logs in {tmp_path})"
    with simulator(SEED) as sim:
        try:
            with logged(start_host(sim, trading, journal_dir), tmp_path, "killed") as host:
                host.wait_ready()
                kill_point.reach(sim, host)
                time.sleep(jitter.uniform(*kill_point.jitter))
                assert host.alive(), f"{cycle}: the host died by itself"
                host.kill()
            _heal(sim)
            at_kill = AtKill.of(sim, journal_dir)
            print(f"{cycle}: {at_kill}")  # what the restart had to repair (shown with -s)
            assert kill_point.left(at_kill), f"{cycle}: kill point missed: {at_kill}"
            kill_point.at_restart(sim)
            with logged(start_host(sim, recovery, journal_dir), tmp_path, "restarted") as host:
                host.wait_ready()
                wait_until(
                    lambda: not positions(sim).unprotected, f"{cycle}: protection", every=0.5
                )
                assert host.stop() == 0, f"{cycle}: graceful shutdown"
            _heal(sim)
            assert positions(sim).unprotected == set(), f"{cycle}: a stop went with the host"
            check_against_the_ledger(sim, read_journal(journal_dir), cycle)
        finally:
            (tmp_path / "ledger.json").write_text(json.dumps(sim.ledger(), indent=1))
