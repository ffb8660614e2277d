"""The engine and the session announce what goes wrong: no stop, a plugin off, an outage.

A real session on the simulator (tests/engine_harness.py) with a notifier plugin that sends
every event to a local receiver (tests/webhook_receiver.py, behaving this time): the
simulator refuses the exchange-side stop, a plugin fails in ``on_fill`` until it is switched
off, and the public socket is cut.
"""

from __future__ import annotations

from pathlib import Path

from engine_harness import BuyOnce, Session, run_session
from webhook_receiver import FlakyReceiver, flaky_receiver

from host import HostEvent, Notification, hookimpl
from host.settings import HookSettings


class FailsOnFill:
    """Raises on every fill: switched off after ``hooks.plugin_failure_limit`` failures."""

    @hookimpl
    def on_fill(self) -> None:
        raise RuntimeError("cannot handle fills")


async def test_an_unprotected_position_a_plugin_switched_off_and_an_outage_are_announced(
    tmp_path: Path,
) -> None:
    receiver = FlakyReceiver(fail_every=10**6, lose_reply_every=10**6, refuse_after=None)

    class Tell:
        @hookimpl
        def notification_for(self, event: HostEvent) -> Notification:
            return Notification(receiver.url, {"kind": str(event.kind)}, timeout_seconds=2.0)

    async def script(session: Session) -> None:
        engine = session.engine
        session.sim.faults.fail_rest("server_error", "/api/v5/trade/order-algo", count=100)
        await session.until(lambda: bool(engine.registry.positions()), 10)
        await session.advance(2)
        before = session.connection.health.reconnects
        session.sim.faults.drop_sockets("public")
        await session.reconnected(before)
        await session.advance(1)

    async with flaky_receiver(receiver):
        await run_session(
            tmp_path,
            script,
            BuyOnce,
            FailsOnFill,
            Tell,
            hooks=HookSettings(plugin_failure_limit=1),
        )
    kinds = [receiver.bodies[event_id]["kind"] for event_id in receiver.unique]
    assert kinds.index("plugin_off") < kinds.index("fill")  # it failed in the fill's on_fill
    assert {"unprotected", "connection_lost", "connection_restored"} <= set(kinds)
    assert kinds.index("connection_lost") < kinds.index("connection_restored")
