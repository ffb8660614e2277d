"""A short paper session under faults, with the configuration about to go live.

The conformance suites judge each plugin alone; this session judges the whole host with the
user's plugins and settings, through the real client code against the simulator, while the
exchange misbehaves: every private push is duplicated for a while, some are dropped, a position is
opened "from the app" (an outside position the host must adopt and protect), and the host is
stopped and started again mid-session (a restart that must rebuild its state from the exchange and
the journal). Afterwards the exchange and the journal must agree on the invariants a live account
depends on:

* no position left unprotected: each open position has a live exchange-side stop;
* no lost fill: every fill in the simulator's ledger is in the journal, and no other;
* no double close: no position's close journaled twice, and no close sent after the host's own
  close flattened the position. (A close refused because something else closed the position
  first, OKX 51169, is not one: an outside order may close a position of the host's in net mode
  just as its own close is sent.)
* no order twice: no ``clOrdId`` became two orders on the exchange;
* the journal's own integrity check is clean, and its open positions are the exchange's.

The checks are :mod:`host.faults.invariants`, shared with ``scalphost faults``.

The session runs on the fast replay (:mod:`host.sessions.fast`): the engine, plugins, feed and
client code above the transport are the ones that trade over sockets, and the simulator answers
in-process on virtual time, so the session takes seconds and gives the same verdict for the same
config every time. Faults of the transport itself (cut connections, reconnects) are the fault
suite's (``scalphost faults``), which runs over sockets.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from host.engine.engine import Engine
from host.faults.invariants import account_uid, settled_violations
from host.journal import Journal, journal_path
from host.sessions.fast import replay
from host.sessions.paper import STEP
from host.sessions.replay_loop import run_on_replay_loop
from host.settings import JournalSettings, Settings
from host.sim.config import SimConfig
from host.sim.server import DEFAULT_START, Simulator

ACCOUNT = "golive"


@dataclass(frozen=True, slots=True)
class SessionVerdict:
    """What the session did and which invariants it broke (none: it passed)."""

    minutes: float
    fills: int
    closes: int
    adopted: int
    broken: tuple[str, ...]
    skipped_instruments: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether every invariant held."""
        return not self.broken


def fault_session(settings: Settings, minutes: float, seed: int = 7) -> SessionVerdict:
    """Trade ``minutes`` of simulated market under faults, restarting halfway; check after.

    On the fast replay (:mod:`host.sessions.fast`): the same engine, plugins and client code as
    over sockets, with the simulator in-process on virtual time — a few seconds instead of a
    simulated minute each, and the same verdict for the same config every time.
    """
    return run_on_replay_loop(_fault_session(settings, minutes, seed))


async def _fault_session(settings: Settings, minutes: float, seed: int) -> SessionVerdict:
    sim = Simulator(SimConfig(seed=seed), start=DEFAULT_START)
    offered = {instrument.inst_id for instrument in sim.config.instruments}
    traded = tuple(inst for inst in settings.instruments if inst in offered)
    skipped = tuple(inst for inst in settings.instruments if inst not in offered)
    if not traded:
        broken = (f"the simulator offers none of {', '.join(skipped)}",)
        return SessionVerdict(minutes, 0, 0, 0, broken, skipped)
    with tempfile.TemporaryDirectory(prefix="scalphost-golive-") as directory:
        # model_copy, not validated_update: validating again would let SCALPHOST_* variables
        # win over these (a user's SCALPHOST_JOURNAL__DIRECTORY would receive this session's
        # journal, and the next golive run would find it there).
        session_settings = settings.model_copy(
            update={
                "mode": "paper",
                "instruments": traded,
                "journal": settings.journal.model_copy(update={"directory": Path(directory)}),
            }
        )
        return await _trade_and_check(sim, session_settings, minutes, traded, skipped)


async def _trade_and_check(
    sim: Simulator,
    settings: Settings,
    minutes: float,
    traded: tuple[str, ...],
    skipped: tuple[str, ...],
) -> SessionVerdict:
    half = timedelta(minutes=minutes / 2)

    def before_restart(engine: Engine, elapsed: timedelta) -> None:
        if elapsed == STEP:  # the host is up and restored: the faults begin
            sim.faults.duplicate_pushes(count=500)
            sim.faults.drop_pushes(count=3, channel="orders")
        if elapsed == _whole_steps(half / 2):
            outside = _flat_instrument(sim, traded)
            sim.faults.external_order(outside, "buy", _outside_size(sim, outside))

    def after_restart(engine: Engine, elapsed: timedelta) -> None:
        if elapsed == STEP:
            sim.faults.duplicate_pushes(count=500)

    first = await replay(settings, sim, half, account=ACCOUNT, after_step=before_restart)
    second = await replay(settings, sim, half, account=ACCOUNT, after_step=after_restart)
    broken = await _broken_invariants(sim, settings, traded)
    fills = len([fill for fill in sim.ledger.fills() if fill["uid"] == account_uid(sim)])
    closes = first.stats.closed + second.stats.closed
    adopted = first.stats.adopted + second.stats.adopted
    return SessionVerdict(minutes, fills, closes, adopted, broken, skipped)


def _whole_steps(duration: timedelta) -> timedelta:
    """``duration`` down to whole replay steps, at least one (when the outside order comes)."""
    return max(STEP, (duration // STEP) * STEP)


def _outside_size(sim: Simulator, inst_id: str) -> str:
    """A few minimum sizes of ``inst_id``: a real position, small enough for the account."""
    instrument = next(i for i in sim.config.instruments if i.inst_id == inst_id)
    return str(instrument.min_sz * 3)


def _flat_instrument(sim: Simulator, traded: tuple[str, ...]) -> str:
    """A traded instrument the account holds no position in (else the first one).

    An outside order on a flat instrument is a new position for the host to adopt; on one the
    host holds, it would merge with the host's own (net mode) and test something else.
    """
    account = sim.engine.accounts[account_uid(sim)]
    held = {inst_id for (inst_id, _), position in account.positions.items() if position.pos != 0}
    return next((inst_id for inst_id in traded if inst_id not in held), traded[0])


async def _broken_invariants(
    sim: Simulator, settings: Settings, traded: tuple[str, ...]
) -> tuple[str, ...]:
    journal = await Journal.open(
        journal_path(settings.journal, ACCOUNT), sim.clock, JournalSettings()
    )
    try:
        return tuple(map(str, await settled_violations(journal, sim, traded)))
    finally:
        await journal.close()
