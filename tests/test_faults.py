"""The fault suite: each invariant catches a deliberately broken host, and a quick run reports.

The broken hosts are the real host with one part replaced at run time (no stop placed, a close
sent twice, fills not journaled, one clOrdId for every order, impossible fills journaled, closes
not journaled, the credentials journaled, every price believed, a decoder that raises), each
driven through the same state machine ``scalphost faults`` runs, by hand: the rules in a fixed
order. A clean host driven the same way breaks nothing, so each finding is the breakage's.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

from host.cli import app
from host.domain import Fill
from host.engine.execution import Executor
from host.engine.exits import ExitDesk
from host.exchange.credibility import PriceCredibility
from host.exchange.decode import FrameDecoder
from host.exchange.orders import ClientOrderIds
from host.faults import corpus, harness
from host.faults.corpus import run_configs, run_frames
from host.faults.figures import Figures
from host.faults.invariants import secret_hits, unprotected
from host.faults.machine import FaultMachine, machine_for
from host.faults.suite import Scale, run_fault_suite
from host.journal import Journal, OrderIntent, disk_full
from host.journal.records import ErrorEvent
from host.settings import Settings

Step = tuple[str, dict[str, Any]]


def outside(side: str = "buy", count: int = 2) -> Step:
    return ("outside_order", {"side": side, "count": count})


def rest_fault(kind: str, path: str, count: int) -> Step:
    return ("fail_rest", {"kind": kind, "path": path, "count": count})


def wait(seconds: int) -> Step:
    return ("market_moves", {"seconds": seconds})


RESTART: Step = ("restart", {})
CLOSE_OUTSIDE: Step = ("outside_close", {})


def full_disk(seconds: int) -> Step:
    return ("disk_fills", {"seconds": seconds})


def drive(steps: list[Step], base: Settings | None = None) -> Figures:
    """Run the fault machine by hand through ``steps``, checking after each; its figures."""
    figures = Figures()
    machine: FaultMachine = machine_for(base or Settings(), figures, survey=True)()
    machine.start(seed=7)
    machine.invariants_hold()
    for rule, arguments in steps:
        getattr(machine, rule)(**arguments)
        machine.invariants_hold()
    machine.teardown()
    return figures


def closing_on_shutdown() -> Settings:
    base = Settings()
    return base.model_copy(
        update={"engine": base.engine.model_copy(update={"close_on_shutdown": True})}
    )


def test_a_sound_host_keeps_every_invariant_through_the_same_steps() -> None:
    figures = drive([outside(), wait(5), RESTART, wait(5), CLOSE_OUTSIDE, wait(5)])

    assert figures.examples == 1
    assert set(figures.checks) >= {
        "protected",
        "no double close",
        "fills match",
        "one order per id",
        "journal integrity",
        "positions match",
        "no secret",
        "host alive",
    }
    assert not figures.violated, figures.evidence
    assert figures.injected == {"outside order": 1, "restart": 1, "outside close": 1}
    assert figures.survived == figures.injected
    assert (figures.restarts, figures.recovered) == (1, 1)


def test_a_host_that_places_no_stop_leaves_a_position_unprotected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_stop(self: Executor, *_: object) -> None:
        return None

    monkeypatch.setattr(Executor, "place_stop", no_stop)

    figures = drive([outside(), wait(20), wait(20)])

    assert figures.violated["protected"] >= 1, figures.evidence
    assert figures.survived["outside order"] == 0


def test_a_host_that_sends_a_close_twice_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    close = ExitDesk.close

    def close_twice(self: ExitDesk, position: Any, reason: str) -> None:
        close(self, position, reason)
        self._registry.release_close(position.pos_id)
        close(self, position, reason)

    monkeypatch.setattr(ExitDesk, "close", close_twice)

    figures = drive([outside(), wait(5), RESTART, wait(2)], closing_on_shutdown())

    assert figures.violated["no double close"] >= 1, figures.evidence


def test_a_host_that_does_not_journal_fills_loses_them(monkeypatch: pytest.MonkeyPatch) -> None:
    commit = Journal.commit

    async def forgetful(self: Journal, record: Any) -> bool:
        return True if isinstance(record, Fill) else await commit(self, record)

    monkeypatch.setattr(Journal, "commit", forgetful)

    figures = drive([outside(), wait(5)])

    assert figures.violated["fills match"] >= 1, figures.evidence
    assert figures.fills_lost >= 1


def test_a_host_that_reuses_a_client_order_id_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ClientOrderIds, "next", lambda self, purpose, reference="": "shsame1")

    figures = drive([outside(), wait(5), CLOSE_OUTSIDE, wait(3), outside(), wait(5)])

    assert figures.violated["one order per id"] >= 1, figures.evidence


def test_a_host_that_journals_impossible_fills_fails_the_integrity_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commit = Journal.commit

    async def negated(self: Journal, record: Any) -> bool:
        if isinstance(record, Fill):
            record = dataclasses.replace(record, size=-record.size)
        return await commit(self, record)

    monkeypatch.setattr(Journal, "commit", negated)

    figures = drive([outside(), wait(5)])

    assert figures.violated["journal integrity"] >= 1, figures.evidence


def test_a_host_that_does_not_journal_closes_disagrees_with_the_exchange(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commit = Journal.commit

    async def no_closes(self: Journal, record: Any) -> bool:
        is_close = type(record).__name__ == "ClosedPosition"
        return True if is_close else await commit(self, record)

    monkeypatch.setattr(Journal, "commit", no_closes)

    figures = drive([outside(), wait(5), CLOSE_OUTSIDE, wait(5)])

    assert figures.violated["positions match"] >= 1, figures.evidence


def test_a_host_that_journals_its_secret_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    place_stop = Executor.place_stop

    async def leaky(self: Executor, position: Any, level: Decimal) -> str | None:
        credentials = self._api.rest._credentials  # type: ignore[attr-defined]
        secret = credentials.secret_key.get_secret_value()
        self._journal.write(ErrorEvent(self._clock.now(), "engine", f"signed with {secret}"))
        return await place_stop(self, position, level)

    monkeypatch.setattr(Executor, "place_stop", leaky)

    figures = drive([outside(), wait(5)])

    assert figures.violated["no secret"] >= 1, figures.evidence
    assert figures.secrets_found >= 1


def test_secrets_are_found_raw_and_base64_encoded() -> None:
    secret = "Canary-Secret-0123456789"  # noqa: S105 -- a canary, the point of the test

    text = f"a {secret} b {base64.b64encode(secret.encode()).decode()} c **********"

    assert secret_hits(text, [secret]) == 2
    assert secret_hits("nothing here **********", [secret]) == 0


def test_a_host_that_believes_every_price_sends_an_order_on_an_absurd_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PriceCredibility, "credible", lambda self, event: event)
    monkeypatch.setattr(PriceCredibility, "timely", lambda self, ts: True)

    figures = drive([outside(), wait(5), ("absurd_ticker", {"kind": "far below"})])

    assert figures.violated["no order on garbage"] == 1, figures.evidence


def test_a_sound_host_sends_no_order_on_absurd_ticks() -> None:
    kinds = ["far below", "zero", "negative", "overflow", "crossed by 1 %", "far future"]
    figures = drive([outside(), wait(5), *[("absurd_ticker", {"kind": kind}) for kind in kinds]])

    assert figures.checks["no order on garbage"] == len(kinds)
    assert not figures.violated, figures.evidence


QUICK = hypothesis_settings(derandomize=True)


def test_hostile_frames_do_not_crash_a_host_holding_a_position() -> None:
    figures = Figures()

    run_frames(Settings(), 60, QUICK, figures)

    assert figures.hostile["frame"] == 60
    assert not figures.crashes, figures.evidence
    assert figures.checks["no secret"] == 1
    assert figures.secrets_found == 0


def test_hostile_frames_send_no_order() -> None:
    figures = Figures()

    run_frames(Settings(), 60, QUICK, figures)

    assert figures.orders_on_garbage == 0, figures.evidence


def test_a_decoder_that_raises_ends_the_session_and_the_corpus_counts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decode = FrameDecoder.decode

    def overflowing(self: FrameDecoder, frame: str | bytes) -> Any:
        # Issue 13 defect 3 as it was: an absurd number raised out of the decoder.
        if any(absurd in str(frame) for absurd in ("300000000000000", "1e400", "Infinity")):
            raise OverflowError("date value out of range")
        return decode(self, frame)

    monkeypatch.setattr(FrameDecoder, "decode", overflowing)
    figures = Figures()

    run_frames(Settings(), 60, QUICK, figures)

    assert figures.crashes["frame"] >= 1, figures.evidence


def test_hostile_configs_end_in_settings_or_a_config_error() -> None:
    figures = Figures()

    run_configs(40, QUICK, figures)

    assert figures.hostile["config"] == 40
    assert not figures.crashes, figures.evidence


def test_a_loader_that_lets_validation_errors_escape_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def naive(path: Path) -> Settings:
        return Settings(**(yaml.safe_load(path.read_text(encoding="utf-8")) or {}))

    monkeypatch.setattr(corpus, "load_settings", naive)
    figures = Figures()

    run_configs(40, QUICK, figures)

    assert figures.crashes["config"] >= 1


def invoke_cli() -> Callable[[list[str]], Any]:
    runner = CliRunner()
    return lambda arguments: runner.invoke(app, arguments)


def test_the_quick_suite_runs_everything_and_reports_its_figures() -> None:
    scale = Scale(examples=2, steps=8, frames=30, configs=20, command_lines=15)

    figures, _ = run_fault_suite(Settings(), "ci", scale, invoke_cli())

    assert figures.examples == 2
    assert sum(figures.checks.values()) > 0
    assert sum(figures.hostile.values()) == 30 + 20 + 15
    assert not figures.crashes, figures.evidence
    assert figures.secrets_found == 0
    table = figures.render()
    for row in (
        "fault types injected / survived",
        "invariant checks run / violated",
        "restarts / recovered",
        "hostile inputs / crashes / orders sent",
        "fills lost",
        "secrets found",
    ):
        assert row in table


def test_a_fill_whose_push_is_lost_reaches_the_journal_once_the_host_catches_up() -> None:
    figures = drive([("drop_pushes", {"count": 1, "channel": "orders"}), outside(), wait(5)])

    assert figures.fills_lost == 0, figures.evidence


@pytest.mark.parametrize("seconds", [-60, 60])
def test_a_host_restarted_while_the_exchange_s_clock_is_skewed_gets_ready(seconds: int) -> None:
    figures = drive([("skew_clock", {"seconds": seconds}), RESTART, wait(5)])

    assert (figures.restarts, figures.recovered) == (1, 1)
    assert not figures.violated, figures.evidence


def test_a_host_restarted_while_its_position_reads_are_rate_limited_waits_it_out() -> None:
    """More ``50011``s than the client's retries on the start-up's reads must not end it."""
    positions = "/api/v5/account/positions"  # five refusals: one more than the client's tries
    limited = [rest_fault("rate_limit", positions, 3), rest_fault("rate_limit", positions, 2)]
    figures = drive([*limited, RESTART, wait(5)])

    assert (figures.restarts, figures.recovered) == (1, 1), figures.evidence
    assert not figures.violated, figures.evidence


def test_a_stop_whose_placement_keeps_failing_is_placed_again_within_seconds() -> None:
    """Seven 503s on ``order-algo``: not one reconciliation interval per failure unprotected."""
    failing = rest_fault("unavailable", "/api/v5/trade/order-algo", 3)
    once = rest_fault("unavailable", "/api/v5/trade/order-algo", 1)
    figures = drive([failing, failing, once, outside(), wait(20), wait(20), wait(20)])

    assert figures.checks["protected"] > 0
    assert not figures.violated, figures.evidence


@pytest.mark.parametrize("restarted", [False, True])
def test_a_fill_whose_push_is_lost_while_the_exchange_s_clock_is_ahead_reaches_the_journal(
    restarted: bool,
) -> None:
    skew: Step = ("skew_clock", {"seconds": 60})  # measured at the next signed request, or start
    drop: Step = ("drop_pushes", {"count": 1, "channel": "orders"})
    figures = drive([skew, *([RESTART] if restarted else []), wait(12), drop, outside(), wait(25)])

    assert figures.fills_lost == 0, figures.evidence
    assert not figures.violated, figures.evidence


def test_scalphost_faults_refuses_an_unknown_profile() -> None:
    result = CliRunner().invoke(app, ["faults", "--profile", "nope"])

    assert result.exit_code == 2
    assert "--profile" in result.output


def test_scalphost_faults_prints_the_figures_and_exits_by_them() -> None:
    result = CliRunner().invoke(app, ["faults", "--examples", "1", "--profile", "dev"])

    assert result.exit_code in (0, 1), result.output
    assert "invariant checks run / violated" in result.output
    verdict = "PASSED" if result.exit_code == 0 else "FAILED"
    assert f"\n{verdict} in " in result.output


@pytest.fixture
def trading_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """``momentum_demo`` enters within seconds here, so orders fall due while the disk is full.

    (The suite's own eager setting enters seldom on the simulator's quiet market.)
    """
    monkeypatch.setitem(harness.EAGER_MOMENTUM, "threshold", "0.00002")


DISK_STEPS = [full_disk(30), wait(10), outside(), full_disk(20), wait(20)]
"""Entries falling due while the disk is full, then an adoption while it is full."""


@pytest.mark.usefixtures("trading_often")
def test_a_sound_host_sends_nothing_unjournaled_on_a_full_disk_and_journals_all_once_freed() -> (
    None
):
    figures = drive(DISK_STEPS)

    assert figures.injected["disk full"] == 2
    assert figures.checks["intent journaled"] >= 10
    assert not figures.violated, figures.evidence
    assert figures.survived == figures.injected


@pytest.mark.usefixtures("trading_often")
def test_a_host_that_sends_orders_its_journal_could_not_record_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commit = Journal.commit

    async def careless(self: Journal, record: Any) -> bool:
        try:
            return await commit(self, record)
        except sqlite3.Error:
            if isinstance(record, OrderIntent):
                return True  # and the executor sends it
            raise

    monkeypatch.setattr(Journal, "commit", careless)

    figures = drive(DISK_STEPS)

    assert figures.violated["intent journaled"] >= 1, figures.evidence


def test_a_position_opened_and_closed_outside_before_the_host_saw_it_breaks_no_invariant() -> None:
    figures = drive([outside("buy", 2), outside("sell", 2), wait(5)])

    assert figures.checks["journal integrity"] > 0
    assert not figures.violated, figures.evidence


def test_a_position_flipped_then_closed_from_outside_is_closed_in_the_journal() -> None:
    figures = drive([outside("buy", 1), wait(13), outside("sell", 3), wait(12), CLOSE_OUTSIDE])

    assert figures.checks["positions match"] == 1
    assert not figures.violated, figures.evidence


def test_an_adoption_flipped_before_a_full_disk_let_it_be_journaled_keeps_its_fills() -> None:
    # The long is adopted while the disk is full; the app flips it to a short (same posId, a
    # later entry time) before the reconciliation journals the adoption.
    figures = drive([outside("buy", 1), full_disk(5), outside("sell", 3), wait(15)])

    assert figures.injected["disk full"] == 1
    assert not figures.violated, figures.evidence


@pytest.mark.usefixtures("trading_often")
def test_on_a_full_disk_the_stop_stays_the_host_says_so_and_journals_orders_once_freed() -> None:
    figures = Figures()
    fault_machine: FaultMachine = machine_for(Settings(), figures, survey=True)()
    fault_machine.start(seed=7)
    try:
        host = fault_machine.host
        assert host is not None
        assert host.engine is not None
        sim, journal, run = host.sim, host.engine.journal, fault_machine.runner.run
        run(journal.guard_writes(disk_full))
        journaled = run(journal.intent_client_ids())
        sent = len(sim.api.order_attempts)

        fault_machine.market_moves(seconds=20)  # entries fall due: none may go out
        fault_machine.outside_order(side="buy", count=2)  # adopted while the disk is full
        fault_machine.market_moves(seconds=10)

        assert host.alive
        held = sim.engine.accounts[sim.config.keys[0].uid].positions
        assert any(position.pos != 0 for position in held.values())
        assert unprotected(sim, [harness.INSTRUMENT]) == []  # its exchange-side stop is placed
        assert len(sim.api.order_attempts) == sent
        log = fault_machine.log.getvalue()
        assert log.count("CRITICAL host.journal") == 1
        assert "cannot write (database or disk is full)" in log
        assert "not sent: the journal cannot record its intent" in log
        run(journal.guard_writes(None))
        fault_machine.outside_close()

        fault_machine.market_moves(seconds=30)

        assert "writes again" in fault_machine.log.getvalue()
        now_journaled = run(journal.intent_client_ids())
        assert now_journaled > journaled  # an entry, journaled before it went out
        assert len(sim.api.order_attempts) > sent
        assert {attempt.cl_ord_id for attempt in sim.api.order_attempts} <= now_journaled
    finally:
        fault_machine.teardown()
    assert not figures.violated, figures.evidence


def test_a_host_reconnecting_again_and_again_gets_ready_each_time_as_the_market_goes_on(
    tmp_path: Path,
) -> None:
    """Each refused connection count ends the private socket; its resync's REST budget runs out.

    The resync then waits for its budget on the venue's clock: with the market held still
    while the corpus waited for the host, the socket never got ready again, and every later
    frame waited 30 s for it (the corpus took minutes instead of seconds).
    """
    figures = Figures()
    target = corpus.FrameTarget(Settings(), tmp_path, figures)
    refused = json.dumps(corpus.ws_samples()["ws_channel_conn_count_error_docs.json"])
    target.open()
    try:
        for _ in range(12):
            target.feed("conn count", "private", refused)
            connection = target.host.connection
            assert connection is not None
            assert all(socket.ready.is_set() for socket in connection.sockets)
    finally:
        target.close()
    assert not figures.crashes, figures.evidence


def test_a_stop_placed_although_its_reply_was_lost_is_the_only_stop_of_its_position() -> None:
    """The lost reply's stop rests on the exchange: placed again without a look, two rest."""
    lost = rest_fault("lose_reply", "/api/v5/trade/order-algo", 1)
    figures = drive([lost, outside(), wait(20), wait(20)])

    assert figures.checks["one stop per position"] == 1
    assert not figures.violated, figures.evidence
