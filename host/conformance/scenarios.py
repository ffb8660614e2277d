"""Generated market scenarios for the conformance suites, and the transformations they compare.

An :class:`ExitScenario` is one or more positions of one instrument (of varied sizes: from one lot
to thousands, on a varied lot grid) and the ticks that follow them. Its transformations are the
symmetries an exit plugin must respect: :meth:`~ExitScenario.mirrored` (each long becomes the
short mirrored around the first position's entry price), :meth:`~ExitScenario.scaled` (every
price and the tick size times ``k``), :meth:`~ExitScenario.with_repeats` (some ticks delivered
twice); and the views the suites compare: :meth:`~ExitScenario.alone` (one of the positions on its
own) and :meth:`~ExitScenario.shifted` (the same scenario later in time).

Paths are long enough for a plugin's warm-up: a scenario's length is drawn first (short, or past
the warm-up it is given), then the path is a seeded random walk in legs of drift and noise, so a
thousand-tick scenario costs a handful of draws and still shrinks to a short, simple one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from host.domain import InstrumentSpec, Position, PositionOrigin, PositionSide, Regime, Tick

INSTRUMENT = "TEST-USDT-SWAP"
TICK_SIZES = tuple(Decimal(text) for text in ("1", "0.5", "0.1", "0.01", "0.0001"))
LOT_SIZES = tuple(Decimal(text) for text in ("1", "0.1", "0.01", "0.001", "10"))
SCALES = tuple(Decimal(text) for text in ("2", "3", "10", "1000", "0.1", "0.01"))
MAX_LOTS = 5_000
"""The largest position drawn, in lots."""
SHORT_PATH = 40
"""Ticks after the positions when no warm-up is declared."""
PAST_WARMUP = 3
"""With a warm-up of ``N`` ticks, about half the scenarios run ``N / 2`` to this times ``N``."""
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 10 * 366 * 86_400
"""Positions enter between :data:`EARLIEST` and ten years later (one draw: cheap to shrink)."""
SHOWN_TICKS = 6
"""Ticks listed at each end of a scenario's description."""


def instrument(tick_sz: Decimal, lot_sz: Decimal = Decimal(1)) -> InstrumentSpec:
    """A linear swap with the given price and size grids (the smallest order is one lot)."""
    one = Decimal(1)
    return InstrumentSpec(INSTRUMENT, one, one, tick_sz, lot_sz, lot_sz)


@dataclass(frozen=True, slots=True, repr=False)
class ExitScenario:
    """Positions of one instrument, the mark when adopted ones were found, and the ticks after.

    ``position`` is the first position; ``companions`` are held beside it (the hook is called
    with all of them at once). ``mark`` is set when any position is adopted from the exchange.
    """

    spec: InstrumentSpec
    position: Position
    mark: Decimal | None
    ticks: tuple[Tick, ...]
    regime: Regime
    companions: tuple[Position, ...] = ()

    @property
    def positions(self) -> tuple[Position, ...]:
        """Every position, the first one first."""
        return (self.position, *self.companions)

    @property
    def start(self) -> datetime:
        """The earliest entry."""
        return min(position.entry_time for position in self.positions)

    def _each(self, change: Callable[[Position], Position]) -> ExitScenario:
        return replace(
            self,
            position=change(self.position),
            companions=tuple(change(position) for position in self.companions),
        )

    def mirrored(self) -> ExitScenario:
        """Every position turned around, every price reflected around the first entry price."""
        pivot = 2 * self.position.entry_price

        def flip(price: Decimal | None) -> Decimal | None:
            return None if price is None else pivot - price

        ticks = tuple(
            replace(t, bid=pivot - t.ask, ask=pivot - t.bid, last=pivot - t.last, mark=flip(t.mark))
            for t in self.ticks
        )
        turned = replace(self, mark=flip(self.mark), ticks=ticks)
        return turned._each(  # noqa: SLF001 -- a copy of this scenario, inside its own class
            lambda p: replace(
                p, side=p.side.opposite, entry_price=pivot - p.entry_price, stop=flip(p.stop)
            )
        )

    def scaled(self, k: Decimal) -> ExitScenario:
        """Every price and the tick size multiplied by ``k``."""

        def scale(price: Decimal | None) -> Decimal | None:
            return None if price is None else price * k

        ticks = tuple(
            replace(t, bid=t.bid * k, ask=t.ask * k, last=t.last * k, mark=scale(t.mark))
            for t in self.ticks
        )
        spec = replace(self.spec, tick_sz=self.spec.tick_sz * k)
        moved = replace(self, spec=spec, mark=scale(self.mark), ticks=ticks)
        return moved._each(  # noqa: SLF001 -- a copy of this scenario, inside its own class
            lambda p: replace(p, entry_price=p.entry_price * k, stop=scale(p.stop))
        )

    def with_repeats(self, repeats: tuple[int, ...]) -> ExitScenario:
        """Each tick delivered ``repeats[i] + 1`` times (missing counts mean once)."""
        counts = repeats + (0,) * (len(self.ticks) - len(repeats))
        ticks = tuple(
            t for t, extra in zip(self.ticks, counts, strict=False) for _ in range(extra + 1)
        )
        return replace(self, ticks=ticks)

    def alone(self, pos_id: str) -> ExitScenario:
        """The same market with only the position ``pos_id``."""
        (position,) = (p for p in self.positions if p.pos_id == pos_id)
        return replace(self, position=position, companions=())

    def shifted(self, delta: timedelta) -> ExitScenario:
        """Every entry and tick ``delta`` later."""
        ticks = tuple(replace(t, ts=t.ts + delta) for t in self.ticks)
        return replace(self, ticks=ticks)._each(  # noqa: SLF001 -- a copy, inside its own class
            lambda p: replace(p, entry_time=p.entry_time + delta, updated_at=p.updated_at + delta)
        )

    def __repr__(self) -> str:
        return describe(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis prints a falsifying example: the plain-words description."""
        printer.text(describe(self))


def describe(scenario: ExitScenario) -> str:
    """The scenario in plain words: grids, regime, each position, and the ticks at both ends."""
    spec = scenario.spec
    lines = [
        f"ExitScenario: {spec.inst_id}, tick {spec.tick_sz}, lot {spec.lot_sz}, "
        f"{scenario.regime} market, {len(scenario.ticks)} ticks"
        + ("" if scenario.mark is None else f", mark {scenario.mark} when found")
    ]
    lines += [f"  {describe_position(p, spec)}" for p in scenario.positions]
    ticks = scenario.ticks
    shown = (
        list(enumerate(ticks))
        if len(ticks) <= 2 * SHOWN_TICKS
        else [*enumerate(ticks[:SHOWN_TICKS]), None, *list(enumerate(ticks))[-SHOWN_TICKS:]]
    )
    for item in shown:
        if item is None:
            lines.append(f"  ... {len(ticks) - 2 * SHOWN_TICKS} more ticks ...")
        else:
            index, t = item
            lines.append(f"  tick {index}: {t.ts.isoformat()} bid {t.bid} ask {t.ask}")
    return "\n".join(lines)


def describe_position(position: Position, spec: InstrumentSpec) -> str:
    """One position in plain words: side, size in lots and contracts, entry, stop, origin."""
    lots = position.size / spec.lot_sz
    stop = "no stop" if position.stop is None else f"stop {position.stop}"
    return (
        f"{position.pos_id}: {position.side} {position.size} contracts ({lots} lots) "
        f"entered at {position.entry_price} on {position.entry_time.isoformat()}, {stop}, "
        f"{position.origin}"
    )


def scenario_lengths(max_ticks: int, warmup_ticks: int) -> st.SearchStrategy[int]:
    """Short paths, and (with a warm-up) as many again from half to three times the warm-up."""
    short = st.integers(min_value=1, max_value=max_ticks)
    if warmup_ticks <= 0:
        return short
    return short | st.integers(
        min_value=max(1, warmup_ticks // 2), max_value=PAST_WARMUP * warmup_ticks
    )


@st.composite
def exit_scenarios(
    draw: st.DrawFn,
    max_ticks: int = SHORT_PATH,
    *,
    warmup_ticks: int = 0,
    max_positions: int = 1,
    spec: InstrumentSpec | None = None,
    ids: str = "pos",
) -> ExitScenario:
    """Up to ``max_positions`` long or short, own or adopted positions and a random walk after.

    Prices are whole ticks; steps are up to about 1 % of the first entry, so stops that are
    tenths of a percent away are reached, crossed and trailed. Prices stay inside
    ``(0, 2 × first entry)`` so the mirrored scenario is a valid market too. Other positions
    enter up to 5 % away from the first and up to an hour earlier. Sizes are 1 to
    :data:`MAX_LOTS` lots. ``spec`` fixes the grids (a later scenario on the same instrument);
    position ids are ``{ids}-1``, ``{ids}-2``...
    """
    if spec is None:
        spec = instrument(draw(st.sampled_from(TICK_SIZES)), draw(st.sampled_from(LOT_SIZES)))
    tick_sz = spec.tick_sz
    entry_ticks = draw(st.integers(min_value=200, max_value=50_000))
    swing = max(1, entry_ticks // 100)
    start = EARLIEST + timedelta(seconds=draw(st.integers(min_value=0, max_value=SPAN_SECONDS)))
    count = draw(st.integers(min_value=1, max_value=max_positions))
    positions = [
        _position(draw, spec, f"{ids}-{n + 1}", entry_ticks, swing, start, first=n == 0)
        for n in range(count)
    ]
    length = draw(scenario_lengths(max_ticks, warmup_ticks), label="ticks")
    legs = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=-(swing // 4), max_value=swing // 4),
                st.integers(min_value=0, max_value=swing),
            ),
            min_size=1,
            max_size=6,
        ),
        label="legs (drift, noise) in ticks",
    )
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1), label="seed")
    rng = random.Random(seed)  # noqa: S311 - a reproducible market path, not a secret
    level = entry_ticks + draw(st.integers(min_value=-swing, max_value=swing))
    ticks = []
    moment = start
    for index in range(length):
        drift, noise = legs[index * len(legs) // length]
        level = min(max(level + drift + rng.randint(-noise, noise), 1), 2 * entry_ticks - 4)
        moment += timedelta(seconds=rng.randint(1, 120))
        bid, ask = level * tick_sz, (level + rng.randint(1, 3)) * tick_sz
        ticks.append(Tick(INSTRUMENT, moment, bid, bid, ask))
    mark = draw(st.integers(min_value=-swing, max_value=swing))
    entry = entry_ticks * tick_sz
    mark_price = min(max(ticks[0].bid + mark * tick_sz, tick_sz), 2 * entry - tick_sz)
    adopted = any(p.origin is PositionOrigin.ADOPTED for p in positions)
    return ExitScenario(
        spec=spec,
        position=positions[0],
        mark=mark_price if adopted else None,
        ticks=tuple(ticks),
        regime=draw(st.sampled_from(Regime)),
        companions=tuple(positions[1:]),
    )


def _position(
    draw: st.DrawFn,
    spec: InstrumentSpec,
    pos_id: str,
    entry_ticks: int,
    swing: int,
    start: datetime,
    *,
    first: bool,
) -> Position:
    """One position near ``entry_ticks``; the first enters at ``start``, others up to 1 h before."""
    if not first:
        entry_ticks += draw(st.integers(min_value=-5 * swing, max_value=5 * swing))
        start -= timedelta(seconds=draw(st.integers(min_value=0, max_value=3600)))
    side = draw(st.sampled_from(PositionSide))
    origin = draw(st.sampled_from(PositionOrigin))
    lots = draw(st.integers(min_value=1, max_value=MAX_LOTS))
    stop_ticks = draw(st.none() | st.integers(min_value=1, max_value=5 * swing))
    entry = entry_ticks * spec.tick_sz
    stop = None if stop_ticks is None else entry - side.sign * stop_ticks * spec.tick_sz
    size = lots * spec.lot_sz
    return Position(pos_id, INSTRUMENT, side, size, entry, start, start, origin=origin, stop=stop)
