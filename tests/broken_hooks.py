"""Exit plugins whose hooks the host would never call: a misspelt name, an ``async def``.

Either one looks right at a glance and does nothing at run time — pluggy never calls a method it
does not know as a hook, and an ``async`` hook's coroutine is never awaited — so the refusal
must come before any trading: ``scalphost run``, ``plugins`` and ``golive`` name the method.
"""

from __future__ import annotations

from collections.abc import Sequence

from broken_exits import PERCENT, answers, stop_or_close

from host import ClosedPosition, ExitProposal, HookContext, Position, Tick, hookimpl


def one_percent_stops(
    tick: Tick, positions: Sequence[Position], ctx: HookContext
) -> dict[str, ExitProposal] | None:
    """A correct 1 % stop-loss for each position: the bodies are right, the hooks are not."""
    return answers(
        {
            p.pos_id: stop_or_close(
                tick, p, ctx, p.entry_price * (1 - p.side.sign * PERCENT), "1 % stop-loss"
            )
            for p in positions
        }
    )


class MisspeltExit:
    """Its exit is ``on_tick_exits``, unmarked; only its bookkeeping hook is real."""

    def __init__(self) -> None:
        self.closed = 0

    @hookimpl
    def on_position_closed(self, closed: ClosedPosition) -> None:
        self.closed += 1

    def on_tick_exits(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        return one_percent_stops(tick, positions, ctx)


class AsyncExit:
    """Its exit is an ``async def``: pluggy would take the coroutine itself for an answer."""

    @hookimpl
    async def on_tick_exit(
        self, tick: Tick, positions: Sequence[Position], ctx: HookContext
    ) -> dict[str, ExitProposal] | None:
        return one_percent_stops(tick, positions, ctx)
