"""A hypothesis state machine: the real host against the simulator, faults as rules.

Each example starts a simulator (one instrument, a canary account) and a trading session, then
applies rules in an order hypothesis chooses: market time passes, private pushes are dropped,
duplicated, held back and reordered or damaged, sockets are cut, REST calls fail (5xx,
time-outs, ``50011``, lost and late replies), orders and positions appear from outside, stops are
canceled from the app, absurd ticks arrive, the exchange's clock drifts, the journal's disk
fills for a while, the host restarts.
After every rule the invariants of :mod:`host.faults.invariants` are checked; at the end the
faults are healed, the host is given time to catch up and stopped, and the settled invariants
are checked too. A violation fails the example (hypothesis prints the rules that led to it).

Hypothesis' state machines are synchronous: each example owns an :class:`asyncio.Runner`, and
each rule runs its coroutine to completion on it; the session's own tasks run meanwhile.
"""

from __future__ import annotations

import asyncio
import tempfile
from contextlib import ExitStack, suppress
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from host.faults.figures import Figures
from host.faults.harness import (
    INSTRUMENT,
    RECONCILE_SECONDS,
    HostUnderTest,
    SessionEndedError,
    captured_logs,
    close_runner,
    fault_settings,
    fault_simulator,
    key_secrets,
    lots,
    unless_stuck,
)
from host.faults.invariants import (
    Violation,
    account_uid,
    exchange_violations,
    journal_violations,
    orders_sent,
    secret_hits,
    settled_violations,
    unprotected,
)
from host.journal import Journal, JournalClosedError, WriteGuard, disk_full
from host.settings import JournalSettings, Settings
from host.sim.faults import AFTER_EXECUTION, HTML_503, REST_FAILURES
from host.sim.push import CORRUPTIONS

UNPROTECTED_GRACE_SECONDS = 2 * RECONCILE_SECONDS + 5
"""How long a position may wait for its stop: a reconciliation may meet a fault, the next not."""

QUIESCE_SECONDS = 3 * int(RECONCILE_SECONDS)
"""Healed market time given at the end of an example before the settled checks."""

SETTLED_INVARIANTS = (
    "protected",
    "no double close",
    "one order per id",
    "one stop per position",
    "intent journaled",
    "fills match",
    "positions match",
    "journal integrity",
)

REST_FAULT_NAMES = {
    "unavailable": "REST 503",
    "server_error": "REST 5xx",
    "busy": "REST busy",
    "rate_limit": "REST 50011 rate limit",
    "request_timeout": "REST time-out answer",
    "lose_reply": "REST lost reply",
    "delay_reply": "REST late reply (client time-out)",
    HTML_503: "REST HTML 503",
}
REST_FAULT_KINDS = (*REST_FAILURES, *sorted(AFTER_EXECUTION), HTML_503)
REST_PATHS = (
    "/api/v5/",
    "/api/v5/trade/order",
    "/api/v5/trade/order-algo",
    "/api/v5/trade/amend-algos",
    "/api/v5/trade/cancel-order",
    "/api/v5/account/positions",
    "/api/v5/trade/orders-algo-pending",
)
DISK_STEP_SECONDS = 5
"""Market time between two checks while the journal's disk is full."""

LATE_REPLY_SECONDS = 1.5
"""Beyond the suite's 1 s client time-out: the host must look the order up, not resend it."""


def absurd_tick(kind: str, last: Decimal) -> dict[str, str]:
    """Ticker fields that are well-formed and impossible (FAULTS F17, issue 13 defect 1)."""
    crossed = {"bidPx": str(last * Decimal("1.01")), "askPx": str(last * Decimal("0.99"))}
    return {
        "far below": {"last": "1", "bidPx": "1", "askPx": "1.1"},
        "zero": {"last": "0", "bidPx": "0", "askPx": "0"},
        "negative": {"last": "-1", "bidPx": "-1", "askPx": "-1"},
        "overflow": {"last": "1e400", "bidPx": "1e400", "askPx": "1e400"},
        "crossed by 1 %": crossed,
        "far future": {"ts": "300000000000000"},
        "far past": {"ts": "1"},
    }[kind]


ABSURD_TICKS = (
    "far below",
    "zero",
    "negative",
    "overflow",
    "crossed by 1 %",
    "far future",
    "far past",
)


class FaultMachine(RuleBasedStateMachine):
    """One example: a simulator, a host, a sequence of faults; see the module docstring."""

    base_settings: ClassVar[Settings]
    figures: ClassVar[Figures]
    raise_violations: ClassVar[bool] = True
    """Fail the example on a violation (for hypothesis to report), or note it and go on to the
    next example (a survey: the figures then cover every example, not those before the first)."""

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.cleanup = ExitStack()
        self.directory = self.cleanup.enter_context(
            tempfile.TemporaryDirectory(prefix="scalphost-faults-")
        )
        self.host: HostUnderTest | None = None
        self.mine = Figures()
        self.broken = False
        self.unprotected_since: dict[str, datetime] = {}
        self.log_seen = 0
        self.secrets: tuple[str, ...] = ()
        self.trail: list[str] = []
        """The rules applied so far, quoted with a violation."""

    # --- set-up and tear-down -----------------------------------------------------------------

    @initialize(seed=st.integers(1, 2**16))
    def start(self, seed: int) -> None:
        """A fresh simulator and a trading session on it."""
        sim = fault_simulator(seed)
        self.secrets = key_secrets(sim)
        self.log = self.cleanup.enter_context(captured_logs(self.secrets))
        self.host = HostUnderTest(fault_settings(self.base_settings, Path(self.directory)), sim)
        self._run(sim.start())
        self._run(self.host.start())

    def teardown(self) -> None:
        """Heal, let the host catch up, stop it, check the settled invariants; clean up."""
        try:
            if self.host is not None and not self.broken:
                self._run(self._settle_and_check())
        finally:
            with suppress(Exception):
                self.runner.run(unless_stuck(self._close()))
            left = close_runner(self.runner)
            if left:  # a hang is a crash, not the end of the suite
                self._check("host alive", [Violation("host alive", f"would not end: {left}")])
            self.cleanup.close()
            self._report()

    async def _settle_and_check(self) -> None:
        host = self._host
        sim = host.sim
        _heal(host)
        await host.advance(QUIESCE_SECONDS)
        await host.stop()
        journal = await Journal.open(host.journal_file, sim.clock, JournalSettings())
        try:
            found = await settled_violations(journal, sim, host.settings.instruments)
        finally:
            await journal.close()
        broken = [
            violation
            for invariant in SETTLED_INVARIANTS
            for violation in self._check(invariant, found)
        ]
        broken += self._check("no secret", self._secrets_in_journal() + self._secrets_in_log())
        self._raise_if(broken)

    async def _close(self) -> None:
        if self.host is not None:
            with suppress(Exception):
                await self.host.stop()
            await self.host.sim.stop()

    def _report(self) -> None:
        """Add this example's figures to the run's (not on hypothesis' replay of a failure)."""
        if not _final_replay():
            self.figures.add_example(self.mine, survived=not self.broken)

    # --- the market and the faults --------------------------------------------------------------

    @rule(seconds=st.integers(1, 20))
    def market_moves(self, seconds: int) -> None:
        """Simulated time passes; the host trades."""
        if self.broken:
            return
        self.mine.steps += 1
        self.trail.append(f"{seconds} s")
        self._run(self._host.advance(seconds))

    @rule(count=st.integers(1, 3), channel=st.sampled_from([None, "orders", "positions"]))
    def drop_pushes(self, count: int, channel: str | None) -> None:
        """The next private pushes never arrive (F8)."""
        self._inject("drop pushes", lambda sim: sim.faults.drop_pushes(count, channel))

    @rule(count=st.integers(1, 20))
    def duplicate_pushes(self, count: int) -> None:
        """The next private pushes arrive twice (F6)."""
        self._inject("duplicate pushes", lambda sim: sim.faults.duplicate_pushes(count))

    @rule(count=st.integers(2, 4))
    def reorder_pushes(self, count: int) -> None:
        """The next private pushes are held back, then arrive in reverse order (F7, delay)."""
        self._inject("delay and reorder pushes", lambda sim: sim.faults.reorder_pushes(count))

    @rule(kind=st.sampled_from(CORRUPTIONS))
    def corrupt_pushes(self, kind: str) -> None:
        """The next private push is malformed (F17)."""
        self._inject("malformed push", lambda sim: sim.faults.corrupt_pushes(1, kind))

    @rule(kind=st.sampled_from(["public", "private", "business"]))
    def drop_socket(self, kind: str) -> None:
        """A WebSocket connection is cut without a close frame (F1); wait for the reconnect."""
        if self.broken:
            return
        host = self._host
        assert host.connection is not None  # noqa: S101 -- started
        before = host.connection.health.reconnects
        self._inject("socket drop", lambda sim: sim.faults.drop_sockets(kind))
        self._run(host.reconnected(before))

    @rule(
        kind=st.sampled_from(REST_FAULT_KINDS),
        path=st.sampled_from(REST_PATHS),
        count=st.integers(1, 3),
    )
    def fail_rest(self, kind: str, path: str, count: int) -> None:
        """The next REST calls under ``path`` fail (F9, F10, F14, F16, F18)."""
        seconds = LATE_REPLY_SECONDS if kind == "delay_reply" else 0.0
        self._inject(
            REST_FAULT_NAMES[kind], lambda sim: sim.faults.fail_rest(kind, path, count, seconds)
        )

    @rule(side=st.sampled_from(["buy", "sell"]), count=st.integers(1, 3))
    def outside_order(self, side: str, count: int) -> None:
        """An order "from the app" opens, grows, shrinks or flips the position (F13)."""
        self._inject(
            "outside order",
            lambda sim: sim.faults.external_order(INSTRUMENT, side, lots(sim, count)),
        )

    @rule()
    def outside_close(self) -> None:
        """The position, if any, is closed "from the app" (F13)."""
        if self._held() != 0:
            self._inject("outside close", lambda sim: sim.faults.external_close(INSTRUMENT))

    @rule(count=st.integers(1, 2))
    def auto_deleverage(self, count: int) -> None:
        """The exchange takes part of the position, if any (ADL, F13)."""
        if self._held() != 0:
            self._inject("ADL", lambda sim: sim.faults.adl(INSTRUMENT, lots(sim, count)))

    @rule(pick=st.integers(0, 3))
    def cancel_stop(self, pick: int) -> None:
        """One of the host's exchange-side stops, if any, is canceled "from the app" (F13).

        (Rules that depend on the market's state apply or skip here rather than through
        preconditions: the state depends on timing, and hypothesis' draws must not.)
        """
        stops = sorted(self._host_stops())
        if stops:
            algo_id = stops[pick % len(stops)]
            self._inject(
                "stop canceled outside",
                lambda sim: sim.faults.external_cancel_algo(INSTRUMENT, algo_id),
            )

    @rule(kind=st.sampled_from(ABSURD_TICKS))
    def absurd_ticker(self, kind: str) -> None:
        """A well-formed, impossible ticker arrives; no order may follow from it."""
        if self.broken:
            return
        sim = self._host.sim
        self._run(self._host.settle())  # work already under way is not the tick's doing
        before = orders_sent(sim)
        fields = absurd_tick(kind, sim.engine.market(INSTRUMENT).last)
        self._inject("absurd tick", lambda sim: sim.faults.bogus_ticker(INSTRUMENT, **fields))
        self._run(self._host.settle())
        sent = orders_sent(sim) - before
        found = [Violation("no order on garbage", f"{sent} order(s) after a {kind} ticker")]
        self._raise_if(self._check("no order on garbage", found if sent else []))

    @rule(seconds=st.sampled_from([-60, -20, -5, 5, 20, 60, 0]))
    def skew_clock(self, seconds: int) -> None:
        """The exchange's clock moves against the host's (F15; 0 heals)."""
        self._inject("clock skew", lambda sim: sim.faults.skew_clock(seconds))

    @rule(seconds=st.integers(DISK_STEP_SECONDS, 6 * DISK_STEP_SECONDS))
    def disk_fills(self, seconds: int) -> None:
        """The journal's disk is full for ``seconds`` of market, then has room again (F22).

        Every journal write fails as SQLite's does on a full disk (the journal's write guard,
        :func:`host.journal.disk_full`); reads still work. The invariants are checked every
        :data:`DISK_STEP_SECONDS` meanwhile: the session lives, positions keep their stops, and
        no order goes out whose intent the journal does not hold. What happened while full must
        reach the journal afterwards (the settled checks at the example's end).
        """
        engine = self._host.engine
        if self.broken or engine is None:
            return
        journal = engine.journal
        self._inject("disk full", lambda _sim: self._guard_disk(journal, disk_full))
        try:
            for _ in range(seconds // DISK_STEP_SECONDS):
                if self.broken:
                    break
                self.trail.append(f"{DISK_STEP_SECONDS} s with the disk full")
                self._run(self._host.advance(DISK_STEP_SECONDS))
                self.invariants_hold()
        finally:
            if self._host.alive:
                self._guard_disk(journal, None)
        self.trail.append("disk freed")

    def _guard_disk(self, journal: Journal, guard: WriteGuard | None) -> None:
        """Fill or free the disk of a running session's journal.

        A journal found closed under a running session is the host's fault (it trades on with
        nothing to record its orders in), reported as the session's death, not as a crash of
        the suite.
        """
        try:
            self._run(journal.guard_writes(guard))
        except JournalClosedError as closed:
            found = [Violation("host alive", f"the journal closed under the session: {closed}")]
            self._raise_if(self._check("host alive", found))

    @rule()
    def restart(self) -> None:
        """The host is stopped and started again on the same exchange and journal (F21)."""
        if self.broken:
            return
        self.mine.restarts += 1
        self.mine.steps += 1
        self.mine.injected["restart"] += 1
        self.trail.append("restart")
        self._run(self._host.restart())
        self.mine.recovered += self._host.alive

    # --- the invariants ---------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        """After every rule: the invariants that hold at any moment."""
        if self.host is None or self.broken:
            return
        found: list[Violation] = []
        alive = [] if self.host.alive else [Violation("host alive", "the session ended")]
        found += self._check("host alive", alive)
        if self.host.alive:
            found += self._check("protected", self._unprotected_too_long())
            exchange = exchange_violations(self.host.sim)
            found += self._check("one order per id", exchange)
            found += self._check("no double close", exchange)
            in_journal = self._run(self._journal_now()) or []
            found += self._check("intent journaled", in_journal)
            found += self._check("fills match", in_journal)
            found += self._check("no double close", in_journal)
            found += self._check("journal integrity", in_journal)
        found += self._check("no secret", self._secrets_in_log())
        self._raise_if(found)

    async def _journal_now(self) -> list[Violation]:
        engine = self._host.engine
        assert engine is not None  # noqa: S101 -- alive
        return await journal_violations(engine.journal, self._host.sim, settled=False)

    def _unprotected_too_long(self) -> list[Violation]:
        """Positions without a stop for longer than the grace, in market time."""
        host = self._host
        now = host.sim.clock.now()
        bare = {str(v): v for v in unprotected(host.sim, host.settings.instruments)}
        self.unprotected_since = {key: self.unprotected_since.get(key, now) for key in bare}
        return [
            Violation("protected", f"{key} for {(now - since).total_seconds():.0f} s")
            for key, since in self.unprotected_since.items()
            if (now - since).total_seconds() > UNPROTECTED_GRACE_SECONDS
        ]

    def _secrets_in_log(self) -> list[Violation]:
        text = self.log.getvalue()
        new, self.log_seen = text[self.log_seen :], len(text)
        hits = secret_hits(new, self.secrets)
        self.mine.secrets_found += hits
        return [Violation("no secret", f"{hits} credential(s) in the log output")] if hits else []

    def _secrets_in_journal(self) -> list[Violation]:
        host = self._host
        text = "".join(
            path.read_bytes().decode("latin-1")
            for path in host.journal_file.parent.glob(host.journal_file.name + "*")
        )
        hits = secret_hits(text, self.secrets)
        self.mine.secrets_found += hits
        return [Violation("no secret", f"{hits} credential(s) in the journal file")] if hits else []

    # --- plumbing ---------------------------------------------------------------------------------

    @property
    def _host(self) -> HostUnderTest:
        assert self.host is not None  # noqa: S101 -- rules run after start()
        return self.host

    def _held(self) -> Decimal:
        if self.host is None:
            return Decimal(0)
        account = self.host.sim.engine.accounts[account_uid(self.host.sim)]
        position = account.positions.get((INSTRUMENT, "net"))
        return position.pos if position is not None else Decimal(0)

    def _host_stops(self) -> set[str]:
        if self.host is None:
            return set()
        uid = account_uid(self.host.sim)
        return {
            algo.algo_id
            for algo in self.host.sim.engine.algos.values()
            if algo.uid == uid and algo.is_live
        }

    def _inject(self, name: str, fault: Any) -> None:
        if self.broken:
            return
        self.mine.steps += 1
        self.mine.injected[name] += 1
        self.trail.append(name)
        fault(self._host.sim)

    def _check(self, invariant: str, violations: list[Violation]) -> list[Violation]:
        return self.mine.checked(invariant, violations)

    def _raise_if(self, found: list[Violation]) -> None:
        if found:
            self.broken = True
            self.mine.evidence.append(f"  after: {', '.join(self.trail)}")
            if self.raise_violations:
                raise AssertionError("invariant broken: " + "; ".join(map(str, found)))

    def _run(self, work: Any) -> Any:
        """Run one coroutine of a rule; a session that ended is the "host alive" violation.

        Bounded (:func:`~host.faults.harness.unless_stuck`): a host that hangs is a crash.
        """
        try:
            return self.runner.run(unless_stuck(work))
        except SessionEndedError as ended:
            self._raise_if(self._check("host alive", [Violation("host alive", str(ended))]))


def _final_replay() -> bool:
    """Whether hypothesis is replaying a failure it found (counted already), or not running.

    A script may drive the machine by hand (the tests do): then every example counts.
    """
    try:
        return current_build_context().is_final
    except InvalidArgument:
        return False


def _heal(host: HostUnderTest) -> None:
    """Undo every fault still pending, so the host can catch up before the settled checks."""
    sim = host.sim
    sim.faults.heal_sockets()
    sim.faults.rest.clear()
    sim.faults.skew_clock(0)
    pushes = sim.hub.faults
    pushes.drop = pushes.duplicate = pushes.reorder = pushes.corrupt = 0
    sim.hub.flush_held()


def machine_for(base: Settings, figures: Figures, *, survey: bool = False) -> type[FaultMachine]:
    """A :class:`FaultMachine` for ``base`` settings that adds its figures to ``figures``.

    ``survey``: note violations and carry on (see :attr:`FaultMachine.raise_violations`).
    """
    attributes = {"base_settings": base, "figures": figures, "raise_violations": not survey}
    return type("FaultMachine", (FaultMachine,), attributes)
