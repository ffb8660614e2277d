"""The USDT-margined swaps the simulator lists, with OKX's real contract grid.

Tick, lot, minimum size and contract value are those OKX lists for these swaps (fractional
contracts: ``lotSz``/``minSz`` ``0.01``), so a client's rounding bugs
against OKX show up here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from host.sim.fields import INSTRUMENT_FIELDS
from host.sim.wire import JsonDict, num


@dataclass(frozen=True, slots=True)
class SimInstrument:
    """One listed swap: its grid, its starting price and its OKX listing facts."""

    inst_id: str
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    ct_val: Decimal
    start_px: Decimal
    inst_id_code: int
    max_lever: int = 100
    max_mkt_sz: Decimal = Decimal("20000")
    list_time_ms: str = "1573557408000"
    ct_mult: Decimal = Decimal("1")

    @property
    def base_ccy(self) -> str:
        """The coin one contract is worth ``ctVal`` of (``BTC`` for ``BTC-USDT-SWAP``)."""
        return self.inst_id.split("-")[0]

    @property
    def family(self) -> str:
        """``instFamily``/``uly``: ``BTC-USDT`` for ``BTC-USDT-SWAP``."""
        return self.inst_id.removesuffix("-SWAP")

    def contracts_value(self, contracts: Decimal, price: Decimal) -> Decimal:
        """Notional in USDT of ``contracts`` at ``price`` (``sz × ctVal × ctMult × px``)."""
        return contracts * self.ct_val * self.ct_mult * price

    def to_tick(self, price: Decimal) -> Decimal:
        """Round a price down onto the tick grid."""
        return (price / self.tick_sz).to_integral_value(rounding=ROUND_FLOOR) * self.tick_sz

    def on_lot(self, size: Decimal) -> bool:
        """Tell whether ``size`` is a whole number of lots."""
        return size % self.lot_sz == 0


def instrument_record(inst: SimInstrument) -> JsonDict:
    """``GET /api/v5/public/instruments`` row for ``inst`` (keys as OKX's SWAP rows)."""
    record: JsonDict = dict.fromkeys(INSTRUMENT_FIELDS, "")
    record.update(
        category="1",
        ctMult=num(inst.ct_mult),
        ctType="linear",
        ctVal=num(inst.ct_val),
        ctValCcy=inst.base_ccy,
        futureSettlement=False,
        instFamily=inst.family,
        instId=inst.inst_id,
        instIdCode=inst.inst_id_code,
        instType="SWAP",
        lever=str(inst.max_lever),
        listTime=inst.list_time_ms,
        lotSz=num(inst.lot_sz),
        maxIcebergSz="100000000.0000000000000000",
        maxLmtAmt="20000000",
        maxLmtSz="100000000",
        maxMktSz=num(inst.max_mkt_sz),
        maxStopSz=num(inst.max_mkt_sz),
        maxTriggerSz="100000000.0000000000000000",
        maxTwapSz="100000000.0000000000000000",
        minSz=num(inst.min_sz),
        ruleType="normal",
        settleCcy="USDT",
        state="live",
        tickSz=num(inst.tick_sz),
        tradeQuoteCcyList=[],
        uly=inst.family,
    )
    return record


DEFAULT_INSTRUMENTS: tuple[SimInstrument, ...] = (
    SimInstrument(
        "BTC-USDT-SWAP",
        Decimal("0.1"),
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("65000"),
        10459,
        max_mkt_sz=Decimal("12000"),
    ),
    SimInstrument(
        "ETH-USDT-SWAP",
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.1"),
        Decimal("3200"),
        10461,
    ),
    SimInstrument(
        "SOL-USDT-SWAP",
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("1"),
        Decimal("150"),
        10470,
        max_lever=50,
    ),
    SimInstrument(
        "DOGE-USDT-SWAP",
        Decimal("0.00001"),
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("1000"),
        Decimal("0.15"),
        10480,
        max_lever=50,
    ),
)
