"""OKX's history paging: ``after``/``before`` cursors, ``begin``/``end`` times and ``limit``.

Every history endpoint lists newest first and pages the same way: ``after`` = only records older
than the cursor (the next page), ``before`` = only newer ones (the previous page). The cursor is
an id (``ordId``, ``billId``, ``tradeId``) or a millisecond time (candles, funding). With
``before`` alone the page is the ``limit`` records *nearest* the cursor, so paging back towards
the present moves one page at a time instead of jumping to the newest (OKX does not document
which; this is the choice that lets a client walk the history in both directions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from host.sim.params import Params
from host.sim.wire import param_error

Row = TypeVar("Row")


def limit(params: Params, default: int = 100, most: int = 100) -> int:
    """``limit``: 1..``most`` records (``51000`` otherwise), ``default`` when absent."""
    raw = params.text("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise param_error("limit")
    return int(raw)


def cursor(params: Params, name: str) -> int | None:
    """An ``after``/``before``/``begin``/``end`` value: a decimal integer, or None if absent."""
    raw = params.text(name, "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 20:
        raise param_error(name)
    return int(raw)


def page(
    rows: Sequence[Row],
    params: Params,
    key: Callable[[Row], int],
    *,
    time: Callable[[Row], int] | None = None,
    default: int = 100,
    most: int = 100,
) -> list[Row]:
    """One page of ``rows`` (newest first) by ``after``/``before`` on ``key``.

    ``time`` (ms) enables ``begin``/``end`` too: records from ``begin`` to ``end``, inclusive.
    """
    after, before = cursor(params, "after"), cursor(params, "before")
    size = limit(params, default, most)
    chosen = [
        row
        for row in rows
        if (after is None or key(row) < after) and (before is None or key(row) > before)
    ]
    if time is not None:
        begin, end = cursor(params, "begin"), cursor(params, "end")
        chosen = [
            row
            for row in chosen
            if (begin is None or time(row) >= begin) and (end is None or time(row) <= end)
        ]
    if before is not None and after is None:
        return chosen[-size:]
    return chosen[:size]
