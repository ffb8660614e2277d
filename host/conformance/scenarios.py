"""Generated market scenarios for the conformance suites, and the transformations they compare.

An :class:`ExitScenario` is one position and the ticks that follow it. Its transformations are the
symmetries an exit plugin must respect: :meth:`~ExitScenario.mirrored` (a long becomes the short
mirrored around its entry price), :meth:`~ExitScenario.scaled` (every price and the tick size
times ``k``) and :meth:`~ExitScenario.with_repeats` (some ticks delivered twice).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from host.domain import InstrumentSpec, Position, PositionOrigin, PositionSide, Regime, Tick

INSTRUMENT = "TEST-USDT-SWAP"
TICK_SIZES = tuple(Decimal(text) for text in ("1", "0.5", "0.1", "0.01", "0.0001"))
SCALES = tuple(Decimal(text) for text in ("2", "3", "10", "1000", "0.1", "0.01"))


def instrument(tick_sz: Decimal) -> InstrumentSpec:
    """A linear swap with the given tick (the other grids do not matter to exits)."""
    one = Decimal(1)
    return InstrumentSpec(INSTRUMENT, one, one, tick_sz, one, one)


@dataclass(frozen=True, slots=True)
class ExitScenario:
    """A position, the mark when it was found (adopted only), and the ticks that follow."""

    spec: InstrumentSpec
    position: Position
    mark: Decimal | None
    ticks: tuple[Tick, ...]
    regime: Regime

    def mirrored(self) -> ExitScenario:
        """The opposite position with every price reflected around the entry price."""
        pivot = 2 * self.position.entry_price

        def flip(price: Decimal | None) -> Decimal | None:
            return None if price is None else pivot - price

        ticks = tuple(
            replace(t, bid=pivot - t.ask, ask=pivot - t.bid, last=pivot - t.last, mark=flip(t.mark))
            for t in self.ticks
        )
        position = replace(
            self.position, side=self.position.side.opposite, stop=flip(self.position.stop)
        )
        return replace(self, position=position, mark=flip(self.mark), ticks=ticks)

    def scaled(self, k: Decimal) -> ExitScenario:
        """Every price and the tick size multiplied by ``k``."""

        def scale(price: Decimal | None) -> Decimal | None:
            return None if price is None else price * k

        ticks = tuple(
            replace(t, bid=t.bid * k, ask=t.ask * k, last=t.last * k, mark=scale(t.mark))
            for t in self.ticks
        )
        position = replace(
            self.position,
            entry_price=self.position.entry_price * k,
            stop=scale(self.position.stop),
        )
        spec = instrument(self.spec.tick_sz * k)
        return replace(self, spec=spec, position=position, mark=scale(self.mark), ticks=ticks)

    def with_repeats(self, repeats: tuple[int, ...]) -> ExitScenario:
        """Each tick delivered ``repeats[i] + 1`` times (missing counts mean once)."""
        counts = repeats + (0,) * (len(self.ticks) - len(repeats))
        ticks = tuple(
            t for t, extra in zip(self.ticks, counts, strict=False) for _ in range(extra + 1)
        )
        return replace(self, ticks=ticks)


@st.composite
def exit_scenarios(draw: st.DrawFn, max_ticks: int = 40) -> ExitScenario:
    """A long or short, own or adopted position and a random walk of ticks after it.

    Prices are whole ticks; steps are up to about 1 % of the entry, so stops that are tenths of a
    percent away are reached, crossed and trailed. Prices stay inside ``(0, 2 × entry)`` so the
    mirrored scenario is a valid market too.
    """
    tick_sz = draw(st.sampled_from(TICK_SIZES))
    entry_ticks = draw(st.integers(min_value=200, max_value=50_000))
    swing = max(1, entry_ticks // 100)
    side = draw(st.sampled_from(PositionSide))
    origin = draw(st.sampled_from(PositionOrigin))
    start = draw(
        st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001 - bounds of a UTC strategy
    )
    stop_ticks = draw(st.none() | st.integers(min_value=1, max_value=5 * swing))
    entry = entry_ticks * tick_sz
    stop = None if stop_ticks is None else entry - side.sign * stop_ticks * tick_sz
    position = Position(
        "pos-1", INSTRUMENT, side, Decimal(1), entry, start, start, origin=origin, stop=stop
    )
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=-swing, max_value=swing),
                st.integers(min_value=1, max_value=3),
                st.integers(min_value=1, max_value=120),
            ),
            min_size=1,
            max_size=max_ticks,
        )
    )
    level = entry_ticks + draw(st.integers(min_value=-swing, max_value=swing))
    mark = draw(st.integers(min_value=-swing, max_value=swing))
    ticks = []
    moment = start
    for move, spread, gap in steps:
        level = min(max(level + move, 1), 2 * entry_ticks - 4)
        moment += timedelta(seconds=gap)
        bid, ask = level * tick_sz, (level + spread) * tick_sz
        ticks.append(Tick(INSTRUMENT, moment, bid, bid, ask))
    first = ticks[0].bid
    mark_price = min(max(first + mark * tick_sz, tick_sz), 2 * entry - tick_sz)
    return ExitScenario(
        spec=instrument(tick_sz),
        position=position,
        mark=mark_price if origin is PositionOrigin.ADOPTED else None,
        ticks=tuple(ticks),
        regime=draw(st.sampled_from(Regime)),
    )
