"""The built-in webhook notifier against a receiver that is slow, fails and refuses connections.

Real parts throughout: the ``webhook`` plugin enabled by name in the settings, the host's
notifier and its aiohttp transport, and a real local aiohttp server (tests/webhook_receiver.py)
that answers 500 to every other request, loses every fifth reply after taking the message, and
stops listening for a while. Delivery is at least once; the receiver de-duplicates by the
``Idempotency-Key`` header, and then sees every event once, in order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from plugin_factory import NOW
from webhook_receiver import FlakyReceiver, flaky_receiver

from host.clock import LiveClock
from host.domain import EventKind, Fill, HostEvent, Side
from host.engine.startup import StartupRefused
from host.errors import ConfigError
from host.golive.gate import admit_live
from host.notify.events import breaker_trip_event, fill_event
from host.notify.service import Notifier, delivering
from host.pluginmanager import build_plugin_host
from host.settings import JournalSettings, NotifySettings, Settings, load_settings

FAST_RETRIES = NotifySettings(retry_first_seconds=0.02, retry_max_seconds=0.1, max_attempts=50)


def fills(count: int) -> list[HostEvent]:
    """``count`` fill events of BTC, one a second."""
    return [
        fill_event(
            Fill(
                inst_id="BTC-USDT-SWAP",
                trade_id=str(1000 + n),
                ord_id=str(n),
                cl_ord_id=f"e{n}",
                side=Side.BUY,
                price=Decimal("97000.1"),
                size=Decimal("0.01"),
                fee=Decimal("-0.0194"),
                ts=NOW + timedelta(seconds=n),
            )
        )
        for n in range(count)
    ]


def as_is(event: HostEvent) -> HostEvent:
    """A builder for an event already built."""
    return event


def notifier_for(settings: Settings, mode: str = "live") -> Notifier:
    return Notifier(build_plugin_host(settings).dispatch, settings.notify, LiveClock(), mode)


def webhook_settings(url: str, **webhook: object) -> Settings:
    return Settings(
        plugins={"webhook": {"enabled": True, "url": url, "timeout_seconds": 0.5, **webhook}},
        notify=FAST_RETRIES,
    )


async def test_fills_and_a_trip_arrive_once_each_in_order_while_the_receiver_fails_half_the_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with flaky_receiver() as receiver:
        settings = webhook_settings(receiver.url)
        notifier = notifier_for(settings, "paper")
        events = [*fills(6), breaker_trip_event(NOW, "circuit_breaker", "4 losses in a row")]
        async with delivering(notifier, drain_seconds=60.0):
            for event in events:
                notifier.emit(as_is, event)
    assert receiver.unique == [event.event_id for event in events]
    assert len(receiver.taken) > len(events)  # a lost reply made a retry deliver twice
    assert receiver.answered_500 >= len(events)  # every other request failed
    assert receiver.refusing.is_set()  # and the server stopped listening for a while
    assert notifier.figures.given_up == notifier.figures.dropped == 0
    trip = receiver.bodies[events[-1].event_id]
    assert (trip["kind"], trip["mode"]) == ("breaker_trip", "paper")
    assert "secret-token-123" not in caplog.text  # the URL's token is never logged


async def test_the_event_loop_runs_on_while_the_receiver_hangs() -> None:
    """The receiver answers only once the loop has run many other steps: delivery never blocks."""
    hold = asyncio.Event()
    receiver = FlakyReceiver(fail_every=10**6, lose_reply_every=10**6, refuse_after=None, hold=hold)
    async with flaky_receiver(receiver):
        settings = webhook_settings(receiver.url, timeout_seconds=30.0)
        notifier = Notifier(
            build_plugin_host(settings).dispatch, settings.notify, LiveClock(), "live"
        )
        async with delivering(notifier, drain_seconds=30.0):
            notifier.emit(breaker_trip_event, NOW, "circuit_breaker", "daily loss")
            await receiver.arrived.wait()  # the request is out, and held by the receiver
            steps = 0
            while steps < 1000:  # "trading" on: the loop is free while the request hangs
                await asyncio.sleep(0)
                steps += 1
            assert receiver.taken == []
            hold.set()
    assert receiver.unique == [breaker_trip_event(NOW, "circuit_breaker", "daily loss").event_id]


async def test_only_the_chosen_events_are_sent() -> None:
    receiver = FlakyReceiver(fail_every=10**6, lose_reply_every=10**6, refuse_after=None)
    async with flaky_receiver(receiver):
        settings = webhook_settings(receiver.url, events=["breaker_trip"])
        notifier = Notifier(
            build_plugin_host(settings).dispatch, settings.notify, LiveClock(), "live"
        )
        trip = breaker_trip_event(NOW + timedelta(seconds=1), "circuit_breaker", "losses")
        async with delivering(notifier, drain_seconds=30.0):
            for event in [*fills(2), trip]:
                notifier.emit(as_is, event)
    assert receiver.unique == [trip.event_id]


@pytest.mark.parametrize("url", ["ftp://example.invalid/x", "not a url", "http://"])
def test_a_webhook_url_that_is_not_http_is_a_config_error_that_does_not_echo_it(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCALPHOST_PLUGINS__WEBHOOK__ENABLED", "true")
    monkeypatch.setenv("SCALPHOST_PLUGINS__WEBHOOK__URL", url)
    with pytest.raises(ConfigError) as refused:
        build_plugin_host(load_settings(None))
    assert "plugins.webhook.url" in str(refused.value)
    assert url not in str(refused.value)


def test_every_event_kind_is_sent_by_default() -> None:
    settings = webhook_settings("https://example.invalid/hook")
    dispatch = build_plugin_host(settings).dispatch
    for kind in EventKind:
        event = breaker_trip_event(NOW, "x", "y")
        kinded = type(event)(kind, f"{kind}:1", NOW, "s", {})
        [(plugin, note)] = dispatch.notification_for(kinded, "live")
        assert (plugin, note.body["kind"], note.timeout_seconds) == ("webhook", str(kind), 0.5)


async def test_a_live_run_refused_for_its_stamp_is_announced_before_it_stops(
    tmp_path: Path,
) -> None:
    receiver = FlakyReceiver(refuse_after=None, lose_reply_every=10**6)
    async with flaky_receiver(receiver):
        settings = webhook_settings(receiver.url).model_copy(
            update={"mode": "live", "journal": JournalSettings(directory=tmp_path)}
        )
        with pytest.raises(StartupRefused, match="no go-live stamp"):
            await admit_live(settings, build_plugin_host(settings), "live-x", skip_golive=False)
    [refusal] = [receiver.bodies[event_id] for event_id in receiver.unique]
    assert (refusal["kind"], refusal["mode"]) == ("golive_refused", "live")
    assert "no go-live stamp" in str(refusal["summary"])
