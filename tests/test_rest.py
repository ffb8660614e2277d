"""The REST client against a real local server that answers like OKX (tests/okx_stub.py).

Real aiohttp traffic over 127.0.0.1, real signatures checked by the server: nothing is patched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import aiohttp
import pytest
from okx_stub import API_KEY, PASSPHRASE, SECRET_KEY, OkxStub, serve
from plugin_factory import NOW
from pydantic import SecretStr

from host.clock import LiveClock, ManualClock
from host.domain import OrderState, PositionSide, Side
from host.exchange.api import OkxApi, OrderNotPlaced
from host.exchange.errors import (
    AmbiguousOutcome,
    OkxAuthError,
    OkxRateLimited,
    OkxRejected,
    OkxUnavailable,
)
from host.exchange.health import ExchangeHealth
from host.exchange.orders import ClientOrderIds, OrderRequest, OrderType
from host.exchange.ratelimit import Budget, RateLimiter
from host.exchange.rest import OkxRest
from host.sessions.replay_loop import ReplayLoop, run_on_replay_loop
from host.settings import Credentials, ExchangeSettings

FAST = ExchangeSettings(
    request_timeout_seconds=0.3,
    retry_backoff_seconds=0.01,
    max_retries=3,
)


def credentials(passphrase: str = PASSPHRASE) -> Credentials:
    return Credentials(
        api_key=SecretStr(API_KEY),
        secret_key=SecretStr(SECRET_KEY),
        passphrase=SecretStr(passphrase),
    )


class Harness:
    def __init__(self, stub: OkxStub, url: str, api: OkxApi) -> None:
        self.stub = stub
        self.url = url
        self.api = api


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    stub = OkxStub()
    async with serve(stub) as url, aiohttp.ClientSession() as session:
        yield Harness(stub, url, make_api(session, url))


def make_api(
    session: aiohttp.ClientSession,
    url: str,
    settings: ExchangeSettings = FAST,
    creds: Credentials | None = None,
) -> OkxApi:
    clock = LiveClock()
    rest = OkxRest(
        session, settings, creds or credentials(), clock, ExchangeHealth(clock), base_url=url
    )
    return OkxApi(
        rest,
        lookup_attempts=3,
        lookup_delay_seconds=0.05,
        request_timeout_seconds=settings.request_timeout_seconds,
    )


def buy(cl_ord_id: str = "shtest1") -> OrderRequest:
    return OrderRequest(
        inst_id="BTC-USDT-SWAP",
        cl_ord_id=cl_ord_id,
        side=Side.BUY,
        order_type=OrderType.POST_ONLY,
        size=Decimal("0.10"),
        price=Decimal("103500.0"),
    )


# --- signing and headers -----------------------------------------------------------------------


async def test_signed_requests_are_accepted_and_decoded(harness: Harness) -> None:
    balance = await harness.api.balance("USDT")
    assert balance.total_equity == Decimal("99.88870288820581")
    (position,) = await harness.api.positions("BTC-USDT-SWAP")
    assert position.position.side is PositionSide.LONG
    assert len(harness.stub.signatures) == 2  # the server checked both signatures


async def test_a_query_string_is_signed_as_sent(harness: Harness) -> None:
    # instId with a comma: the raw target must be signed exactly as it travels.
    await harness.api.positions("BTC-USDT-SWAP,ETH-USDT-SWAP")
    assert harness.stub.count("GET", "/api/v5/account/positions") == 1


async def test_public_endpoints_are_not_signed(harness: Harness) -> None:
    specs = await harness.api.instruments()
    assert specs
    assert all(spec.tick_sz > 0 for spec in specs)
    assert harness.stub.signatures == []


async def test_demo_header_only_in_demo_mode() -> None:
    stub = OkxStub()
    async with serve(stub) as url, aiohttp.ClientSession() as session:
        await make_api(session, url).balance()
        demo = FAST.model_copy(update={"demo": True})
        await make_api(session, url, demo).balance()
    assert stub.demo_headers == [None, "1"]


async def test_wrong_passphrase_names_the_cause_and_is_not_retried() -> None:
    stub = OkxStub()
    async with serve(stub) as url, aiohttp.ClientSession() as session:
        api = make_api(session, url, creds=credentials("wrong"))
        with pytest.raises(OkxAuthError) as refused:
            await api.balance()
    assert refused.value.code == "50105"
    assert refused.value.likely_cause == "wrong passphrase"
    assert stub.count("GET", "/api/v5/account/balance") == 1


# --- rate limits, transient failures, clock skew ------------------------------------------------


@pytest.mark.parametrize("http_429", [False, True])
async def test_rate_limit_backs_off_and_retries(harness: Harness, http_429: bool) -> None:
    harness.stub.rate_limit_next = 2
    harness.stub.rate_limit_http_429 = http_429
    await harness.api.balance()
    assert harness.stub.count("GET", "/api/v5/account/balance") == 3
    assert harness.api.rest.health.rejects["50011"] == 2


async def test_rate_limit_gives_up_after_the_configured_retries(harness: Harness) -> None:
    harness.stub.rate_limit_next = 10
    with pytest.raises(OkxRateLimited):
        await harness.api.balance()
    assert harness.stub.count("GET", "/api/v5/account/balance") == FAST.max_retries + 1


async def test_while_waiting_out_rate_limits_a_read_is_tried_until_okx_takes_it(
    harness: Harness,
) -> None:
    harness.stub.rate_limit_next = FAST.max_retries + 3
    with harness.api.rest.waiting_out_rate_limits():
        await harness.api.balance()
    assert harness.stub.count("GET", "/api/v5/account/balance") == FAST.max_retries + 4
    harness.stub.rate_limit_next = 10  # and only within: afterwards the retries are counted again
    with pytest.raises(OkxRateLimited):
        await harness.api.balance()


async def test_an_order_refused_for_the_rate_limit_is_sent_again_unchanged(
    harness: Harness,
) -> None:
    harness.stub.rate_limit_next = 1
    ack = await harness.api.place_order(buy())
    assert harness.stub.count("POST", "/api/v5/trade/order") == 2
    assert list(harness.stub.orders) == ["shtest1"]
    assert not ack.resolved


async def test_reads_survive_a_bad_gateway(harness: Harness) -> None:
    harness.stub.fail_5xx_next = 2
    await harness.api.balance()
    # At least the two refused attempts and the answered one; on a loaded machine an attempt
    # may also outlive the test's 0.3 s timeout and be retried (a timing, not a behaviour).
    assert harness.stub.count("GET", "/api/v5/account/balance") >= 3


async def test_reads_fail_cleanly_when_the_exchange_stays_down(harness: Harness) -> None:
    harness.stub.fail_5xx_next = 100
    with pytest.raises(OkxUnavailable):
        await harness.api.balance()


async def test_clock_skew_is_measured_and_corrected(harness: Harness) -> None:
    harness.stub.skew = timedelta(minutes=5)  # our clock is 5 minutes behind OKX
    await harness.api.balance()
    offset = harness.api.rest.clock_offset
    assert timedelta(minutes=4, seconds=55) < offset < timedelta(minutes=5, seconds=5)
    assert harness.stub.count("GET", "/api/v5/public/time") == 1
    await harness.api.balance()  # signed with the offset from now on: no second sync
    assert harness.stub.count("GET", "/api/v5/public/time") == 1


# --- orders: ambiguous outcomes and races --------------------------------------------------------


async def test_placing_an_order(harness: Harness) -> None:
    ack = await harness.api.place_order(buy())
    assert ack.cl_ord_id == "shtest1"
    assert harness.stub.orders["shtest1"]["px"] == "103500"


async def test_a_lost_reply_is_resolved_by_client_id_without_a_second_order(
    harness: Harness,
) -> None:
    harness.stub.lose_reply_after_place = True
    ack = await harness.api.place_order(buy())
    assert ack.resolved
    assert ack.ord_id == harness.stub.orders["shtest1"]["ordId"]
    assert harness.stub.count("POST", "/api/v5/trade/order") == 1
    assert harness.stub.count("GET", "/api/v5/trade/order") >= 1


async def test_an_order_that_never_landed_is_reported_not_placed(harness: Harness) -> None:
    harness.stub.fail_before_place = True
    with pytest.raises(OrderNotPlaced):
        await harness.api.place_order(buy())
    assert harness.stub.count("POST", "/api/v5/trade/order") == 1
    # Every lookup was made, and the last one after the request's expTime had passed.
    assert harness.stub.count("GET", "/api/v5/trade/order") >= 3


async def test_a_late_request_is_discarded_by_its_exptime_and_reported_not_placed(
    harness: Harness,
) -> None:
    harness.stub.slow_gateway_seconds = 0.6  # longer than the client's 0.3 s timeout
    with pytest.raises(OrderNotPlaced):
        await harness.api.place_order(buy())
    await asyncio.sleep(0.5)  # let the slow request reach the "matching engine"
    assert harness.stub.discarded == ["shtest1"]
    assert harness.stub.orders == {}


async def test_lookups_that_fail_leave_the_outcome_unknown_not_placed(harness: Harness) -> None:
    harness.stub.lose_reply_after_place = True
    harness.stub.fail_lookups = True
    with pytest.raises(AmbiguousOutcome):
        await harness.api.place_order(buy())
    assert list(harness.stub.orders) == ["shtest1"]  # it did land: "not placed" would be a lie


async def test_an_existing_client_id_means_an_earlier_attempt_landed(harness: Harness) -> None:
    first = await harness.api.place_order(buy())
    again = await harness.api.place_order(buy())  # e.g. a retry after a crash
    assert again.resolved
    assert again.ord_id == first.ord_id
    assert len(harness.stub.orders) == 1


async def test_a_rejected_order_carries_the_item_code(harness: Harness) -> None:
    harness.stub.reject_next_place = ("51008", "Insufficient balance")
    with pytest.raises(OkxRejected) as refused:
        await harness.api.place_order(buy())
    assert refused.value.code == "51008"
    assert harness.stub.orders == {}


async def test_a_clock_skew_on_the_last_retry_still_syncs_and_succeeds(harness: Harness) -> None:
    harness.stub.rate_limit_next = FAST.max_retries
    harness.stub.skew = timedelta(minutes=5)
    await harness.api.balance()  # rate-limited 3 times, then 50102: the sync costs no retry
    assert harness.stub.count("GET", "/api/v5/public/time") == 1


async def test_cancel_then_the_order_is_canceled(harness: Harness) -> None:
    await harness.api.place_order(buy())
    outcome = await harness.api.cancel_order("BTC-USDT-SWAP", cl_ord_id="shtest1")
    assert outcome.accepted


async def test_a_cancel_that_loses_the_race_returns_the_fill(harness: Harness) -> None:
    await harness.api.place_order(buy())
    harness.stub.orders["shtest1"] |= {"state": "filled", "accFillSz": "0.10", "avgPx": "103500"}
    outcome = await harness.api.cancel_order("BTC-USDT-SWAP", cl_ord_id="shtest1")
    assert not outcome.accepted
    assert outcome.order is not None
    assert outcome.order.state is OrderState.FILLED
    assert outcome.order.filled_size == Decimal("0.10")


async def test_stops_are_canceled_in_batches_of_ten_with_a_result_each(harness: Harness) -> None:
    harness.stub.stops = {f"a{n}" for n in range(12)}
    wanted = [("BTC-USDT-SWAP", f"a{n}") for n in range(12)] + [("BTC-USDT-SWAP", "gone")]
    codes = await harness.api.cancel_stops(wanted)
    assert harness.stub.count("POST", "/api/v5/trade/cancel-algos") == 2
    assert harness.stub.stops == set()
    assert codes.pop("gone") == "51000"  # a partly failed batch (code 2) still reports each stop
    assert set(codes.values()) == {"0"}
    assert len(codes) == 12


# --- no secret in any log ------------------------------------------------------------------------


async def test_no_secret_or_signature_is_ever_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness.stub.rate_limit_next = 1
    harness.stub.skew = timedelta(minutes=2)
    await harness.api.balance()
    harness.stub.lose_reply_after_place = True
    await harness.api.place_order(buy())
    harness.stub.skew = timedelta(0)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(OkxAuthError):
            await make_api(session, harness.url, creds=credentials("x")).balance()
        with pytest.raises(OkxUnavailable):
            await make_api(session, "http://127.0.0.1:9").balance()  # nothing listens there
    logged = caplog.text
    assert logged  # the retries and the clock sync were logged
    for secret in (API_KEY, SECRET_KEY, PASSPHRASE, *harness.stub.signatures):
        assert secret not in logged


# --- the rate limiter on its own clock ------------------------------------------------------------


async def test_the_limiter_spaces_requests_to_the_budget() -> None:
    clock = ManualClock(NOW)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    limiter = RateLimiter(clock, {"/x": Budget(3, 2.0)}, sleep)
    for _ in range(7):
        await limiter.acquire("/x")
    assert waits == [2.0, 2.0]
    assert clock.monotonic() == 4.0


async def test_per_instrument_budgets_are_independent() -> None:
    clock = ManualClock(NOW)

    async def sleep(seconds: float) -> None:
        raise AssertionError("no instrument exceeded its budget")

    limiter = RateLimiter(clock, {"/order": Budget(2, 2.0, per_instrument=True)}, sleep)
    for inst_id in ("BTC-USDT-SWAP", "ETH-USDT-SWAP"):
        await limiter.acquire("/order", inst_id)
        await limiter.acquire("/order", inst_id)


def test_a_budget_wait_on_a_simulated_clock_ends_when_the_session_moves_that_clock() -> None:
    """A simulated session moves its clock only once the host has done all it can (the replay
    loop's ``quiescent``); a limiter that waited on the event loop's time instead of that clock
    never saw its budget free, and the session's requests waited for good (issue 13)."""
    clock = ManualClock(NOW)
    limiter = RateLimiter(clock, {"/x": Budget(1, 2.0)})

    async def session() -> list[float]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, ReplayLoop)
        sent_at: list[float] = []

        async def request() -> None:
            await limiter.acquire("/x")
            sent_at.append(clock.monotonic())

        requests = [loop.create_task(request()) for _ in range(3)]
        for _ in range(10):  # ten simulated seconds, one step at a time
            await loop.quiescent()  # the host has done everything it can
            if all(task.done() for task in requests):
                break
            clock.advance(timedelta(seconds=1))
        for task in requests:
            task.cancel()
        return sent_at

    assert run_on_replay_loop(session()) == [0.0, 2.0, 4.0]


def test_client_order_ids_are_valid_unique_and_traceable() -> None:
    clock = ManualClock(NOW)
    ids = ClientOrderIds(clock)
    made = [ids.next("e", "signal-42/momentum") for _ in range(1000)]
    clock.advance(timedelta(milliseconds=1))
    made += [ids.next("x", "") for _ in range(10)]
    assert len(set(made)) == len(made)
    assert all(0 < len(cl) <= 32 and cl.isalnum() and cl.isascii() for cl in made)
    assert made[0].startswith("she")
    assert "signal42" in made[0]
