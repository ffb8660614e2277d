"""The market view: what the engine and its plugins know of each instrument right now.

Every hook call carries a :class:`~host.context.HookContext` (the time, the instrument, its
regime, the host's load); this part builds it, and keeps what goes into it: the merged tick,
quote and mark (:class:`~host.engine.market.MarketBook`), the bars and the regime
``detect_regime`` gave at the last closed bar, and the load :mod:`host.engine.load` measures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from host.clock import Clock
from host.context import HookContext, HostLoad
from host.dispatch import HookDispatch
from host.domain import InstrumentSpec, Regime, Tick, Trade
from host.engine.market import BarBuilder, MarketBook
from host.settings import EngineSettings


class MarketView:
    """Per instrument: the latest market data and regime; the context handed to the plugins."""

    def __init__(
        self,
        settings: EngineSettings,
        specs: Mapping[str, InstrumentSpec],
        regime_fallback: Regime,
        clock: Clock,
        dispatch: HookDispatch,
    ) -> None:
        self.specs = dict(specs)
        self.regime_fallback = regime_fallback
        """The regime of an instrument before its first answer (and of an entry without one)."""
        self.load: HostLoad | None = None
        """Loop lag and exchange latency (:mod:`host.engine.load`), handed to plugins in ctx."""
        self._clock = clock
        self._dispatch = dispatch
        self._book = MarketBook()
        self._bars = BarBuilder(timedelta(seconds=settings.bar_seconds), settings.bar_history)
        self._regimes: dict[str, Regime] = {}

    def context(self, inst_id: str) -> HookContext:
        """What a plugin may know about ``inst_id`` now."""
        return HookContext(  # positional: one per tick, and keywords cost more
            self._clock.now(),
            self.specs[inst_id],
            self._regimes.get(inst_id, self.regime_fallback),
            self.load,
        )

    def on_ticker(self, tick: Tick) -> Tick:
        """Take a ticker push; return the tick to decide on (quote and mark merged in)."""
        return self._book.on_ticker(tick)

    def on_quote(self, inst_id: str, bid: Decimal, ask: Decimal, ts: datetime) -> None:
        """Take a top-of-book push."""
        self._book.on_quote(inst_id, bid, ask, ts)

    def on_mark(self, inst_id: str, mark: Decimal) -> None:
        """Take a mark-price push."""
        self._book.on_mark(inst_id, mark)

    def on_trade(self, trade: Trade) -> None:
        """Feed a public trade into its bar; a closed bar asks ``detect_regime`` anew."""
        inst_id = trade.inst_id
        if inst_id not in self.specs:
            return
        if self._bars.add(trade) is not None:
            self._regimes[inst_id] = self._dispatch.detect_regime(
                self._bars.bars(inst_id), self.context(inst_id)
            )

    def mark(self, inst_id: str) -> Decimal | None:
        """The latest mark price (the last trade's before the first mark push), or ``None``."""
        return self._book.mark(inst_id)

    def marks(self) -> dict[str, Decimal]:
        """The latest mark of every instrument that has one."""
        return self._book.marks()
