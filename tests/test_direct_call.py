"""The per-tick hooks' direct call answers exactly as pluggy's call would, guard included."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

import pytest
from plugin_factory import NOW, ctx, make_host, tick

from host import Position, PositionSide, StopAt, Tick, hookimpl
from host.plugin_guard import Answer, DirectCall, PluginFault
from host.settings import HookSettings


def position() -> Position:
    return Position(
        "p1", "BTC-USDT-SWAP", PositionSide.LONG, Decimal(1), Decimal(100), NOW, NOW,
        stop=Decimal(90),
    )  # fmt: skip


class First:
    @hookimpl(tryfirst=True)
    def on_tick_exit(self, positions: Sequence[Position]) -> dict[str, StopAt]:
        return {positions[0].pos_id: StopAt(Decimal(91), "first")}


class Middle:
    @hookimpl
    def on_tick_exit(self, tick: Tick, ctx: object, positions: Sequence[Position]) -> None:
        """Asks for every argument in its own order, answers nothing."""


class Plain:
    @hookimpl
    def on_tick_exit(self, tick: Tick) -> dict[str, StopAt]:
        return {"p1": StopAt(tick.bid - 5, "plain")}


class Last:
    @hookimpl(trylast=True)
    def on_tick_exit(self) -> dict[str, StopAt]:
        return {"p1": StopAt(Decimal(92), "last")}


class Raises:
    calls: ClassVar[int] = 0

    @hookimpl
    def on_tick_exit(self, positions: Sequence[Position]) -> None:
        Raises.calls += 1
        raise KeyError(positions[0].pos_id)


def test_same_answers_in_the_same_order_as_pluggy() -> None:
    host = make_host(Last, Plain, Middle, First)
    arguments = {"tick": tick(), "positions": (position(),), "ctx": ctx()}
    direct = DirectCall(host.pm, "on_tick_exit")(*arguments.values())
    assert direct == host.pm.hook.on_tick_exit(**arguments)
    assert [answer.plugin for answer in direct] == ["first", "plain", "last"]
    assert direct[1] == Answer("plain", {"p1": StopAt(Decimal("95.0"), "plain")})


def test_every_call_is_still_guarded_and_a_switched_off_plugin_is_not_asked_again() -> None:
    Raises.calls = 0
    host = make_host(Raises, Last, hooks=HookSettings(plugin_failure_limit=2))
    call = DirectCall(host.pm, "on_tick_exit")
    arguments = (tick(), (position(),), ctx())
    first = call(*arguments)
    assert isinstance(first[0], PluginFault)
    assert first[1] == Answer("last", {"p1": StopAt(Decimal(92), "last")})
    call(*arguments)
    assert "raises" in host.faults.switched_off
    assert call(*arguments) == [Answer("last", {"p1": StopAt(Decimal(92), "last")})]
    assert Raises.calls == 2
    health = next(h for h in host.faults.hooks if h.plugin == "last")
    assert health.answers == 3
    assert health.timing.count == 3  # each call timed once, though readings are shared
    assert health.timing.total_ns > 0


def test_the_dispatch_reduces_what_the_direct_call_collects() -> None:
    host = make_host(Last, Plain, First)
    decisions = host.dispatch.on_tick_exit(tick(), (position(),), ctx())
    assert decisions["p1"].plugin == "plain"  # 95 is the most protective of 91, 92 and 95


def test_a_plugin_registered_or_unregistered_after_the_first_call_is_seen_at_the_next() -> None:
    host = make_host(Last)
    call = DirectCall(host.pm, "on_tick_exit")
    arguments = (tick(), (position(),), ctx())
    assert [answer.plugin for answer in call(*arguments)] == ["last"]
    host.pm.register(First(), name="first")  # unguarded: its answer comes back bare
    first = {"p1": StopAt(Decimal(91), "first")}
    assert call(*arguments) == [first, Answer("last", {"p1": StopAt(Decimal(92), "last")})]
    host.pm.unregister(name="last")
    assert call(*arguments) == [first]


def test_a_registration_that_failed_half_way_still_counts_as_a_change() -> None:
    host = make_host(Last)
    before = host.pm.changes
    with pytest.raises(ValueError, match="already registered"):
        host.pm.register(First(), name="last")
    assert host.pm.changes == before + 1


def test_an_unguarded_implementation_that_raises_fails_the_call_as_in_pluggy() -> None:
    host = make_host(Last)
    host.pm.register(Raises(), name="bare")  # registered without the host's guard
    with pytest.raises(KeyError):
        DirectCall(host.pm, "on_tick_exit")(tick(), (position(),), ctx())
