"""Simulated accounts: USDT balance, positions in net or long/short mode, margin, PnL records.

Position arithmetic follows OKX's linear-swap rules: notional = contracts × ctVal ×
price, upl by mark price (``uplLastPx`` by last), initial margin = notional at mark / leverage.
A position keeps its ``posId`` after a full close, as OKX does, and reports ``pos:"0"`` then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from host.sim.fields import (
    ACCOUNT_DETAIL_FIELDS,
    ACCOUNT_FIELDS,
    POSITION_FIELDS,
    POSITION_PUSH_FIELDS,
)
from host.sim.instruments import SimInstrument
from host.sim.wire import JsonDict, ms, num, ratio

ZERO = Decimal(0)


@dataclass(slots=True)
class SimPosition:
    """One position: signed ``pos`` in net mode, positive with ``posSide`` long/short otherwise."""

    inst: SimInstrument
    pos_id: str
    pos_side: str
    mgn_mode: str
    lever: Decimal
    c_time: datetime
    u_time: datetime
    pos: Decimal = ZERO
    avg_px: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fee: Decimal = ZERO
    funding_fee: Decimal = ZERO
    trade_id: str = ""
    mark: Decimal = ZERO
    last: Decimal = ZERO

    @property
    def direction(self) -> int:
        """+1 long, −1 short, 0 flat (``posSide`` long/short fixes it; net uses the sign)."""
        if self.pos == 0:
            return 0
        if self.pos_side == "short":
            return -1
        if self.pos_side == "long":
            return 1
        return 1 if self.pos > 0 else -1

    @property
    def size(self) -> Decimal:
        """Contracts held, unsigned."""
        return abs(self.pos)

    def upl(self, price: Decimal) -> Decimal:
        """Unrealised PnL at ``price`` (mark for ``upl``, last for ``uplLastPx``)."""
        return self.inst.contracts_value(self.size, price - self.avg_px) * self.direction

    @property
    def imr(self) -> Decimal:
        """Initial margin at the mark price."""
        return self.inst.contracts_value(self.size, self.mark) / self.lever

    @property
    def isolated_margin(self) -> Decimal:
        """Margin locked by an isolated position (entry notional / leverage)."""
        return self.inst.contracts_value(self.size, self.avg_px) / self.lever

    def mmr(self, rate: Decimal) -> Decimal:
        """Maintenance margin at the mark price."""
        return self.inst.contracts_value(self.size, self.mark) * rate

    def liq_px(self, rate: Decimal, free_equity: Decimal) -> Decimal | None:
        """Estimated liquidation price: where the loss eats the margin backing the position.

        Isolated: that margin is the position's own; cross: the account's free equity plus the
        position's margin. An approximation of OKX's tiered formula (no tiers, no fees). OKX
        shows a positive price for every open position, cross ones included (ccxt reads ``0``
        as "none"), so a long whose margin outlasts any fall shows one tick, the lowest price
        the instrument can trade at; None only for a flat position.
        """
        if self.pos == 0:
            return None
        cushion = self.isolated_margin if self.mgn_mode == "isolated" else free_equity + self.imr
        per_price = self.inst.contracts_value(self.size, Decimal(1))
        loss_room = (cushion - self.mmr(rate)) / per_price
        px = self.inst.to_tick(self.avg_px - loss_room * self.direction)
        return max(px, self.inst.tick_sz)

    def margin_ratio(self, rate: Decimal, cross_ratio: Decimal | None) -> Decimal | None:
        """``mgnRatio``: margin over maintenance margin (cross: the account-wide cross ratio)."""
        if self.pos == 0:
            return None
        if self.mgn_mode == "cross":
            return cross_ratio
        mmr = self.mmr(rate)
        return (self.isolated_margin + self.upl(self.mark)) / mmr if mmr else None

    def record(
        self,
        rate: Decimal,
        free_equity: Decimal,
        *,
        push: bool,
        now: datetime,
        close_algos: list[JsonDict] | None = None,
        cross_ratio: Decimal | None = None,
    ) -> JsonDict:
        """``GET /account/positions`` row, or ``positions`` channel item when ``push``.

        ``close_algos`` are the whole-position TP/SL orders (``closeOrderAlgo``);
        ``cross_ratio`` is the account's cross margin ratio (``mgnRatio`` of cross positions).
        """
        record: JsonDict = dict.fromkeys(POSITION_PUSH_FIELDS if push else POSITION_FIELDS, "")
        flat = self.pos == 0
        margin = self.isolated_margin if self.mgn_mode == "isolated" else None
        upl = self.upl(self.mark)
        upl_last = self.upl(self.last)
        base = margin if margin is not None else self.imr
        record.update(
            adl="1",
            # OKX: closable size only in long/short mode (net-mode rows show "")
            availPos=num(self.size) if self.pos_side != "net" and not flat else "",
            avgPx="" if flat else num(self.avg_px),
            cTime=ms(self.c_time),
            ccy="USDT",
            closeOrderAlgo=close_algos or [],
            fee=num(self.fee),
            fundingFee=num(self.funding_fee),
            idxPx=num(self.mark),
            imr="" if self.mgn_mode == "isolated" else num(self.imr),
            instId=self.inst.inst_id,
            instType="SWAP",
            interest="0",
            last=num(self.last),
            lever=num(self.lever),
            liqPenalty="0",
            liqPx=num(self.liq_px(rate, free_equity)),
            margin=num(margin),
            markPx=num(self.mark),
            mgnMode=self.mgn_mode,
            mgnRatio=ratio(self.margin_ratio(rate, cross_ratio)),
            mmr=num(self.mmr(rate)),
            notionalUsd=num(self.inst.contracts_value(self.size, self.mark)),
            pendingCloseOrdLiabVal="0",
            pnl=num(self.realized_pnl),
            pos=num(self.pos),
            posCcy="",
            posId=self.pos_id,
            posSide=self.pos_side,
            realizedPnl=num(self.realized_pnl + self.fee + self.funding_fee),
            tradeId=self.trade_id,
            uTime=ms(self.u_time),
            upl=num(upl),
            uplLastPx=num(upl_last),
            uplRatio=ratio(upl / base) if base else "0",
            uplRatioLastPx=ratio(upl_last / base) if base else "0",
        )
        if push:
            record["pTime"] = ms(now)
        return record


@dataclass(slots=True)
class Account:
    """A trading account: its USDT cash, positions, leverage settings and position mode."""

    uid: str
    cash: Decimal
    pos_mode: str
    default_lever: Decimal
    u_time: datetime
    positions: dict[tuple[str, str], SimPosition] = field(default_factory=dict)
    levers: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)
    order_frozen: Decimal = ZERO

    def lever(self, inst_id: str, mgn_mode: str, pos_side: str) -> Decimal:
        """The leverage set for an instrument / margin mode / side (OKX keeps them separately)."""
        return self.levers.get((inst_id, mgn_mode, pos_side), self.default_lever)

    def open_positions(self) -> list[SimPosition]:
        """Positions with a non-zero size (what snapshots show)."""
        return [pos for pos in self.positions.values() if pos.pos != 0]

    @property
    def upl(self) -> Decimal:
        """Unrealised PnL of every open position at mark."""
        return sum((pos.upl(pos.mark) for pos in self.open_positions()), ZERO)

    @property
    def equity(self) -> Decimal:
        """Cash plus unrealised PnL (``eq``)."""
        return self.cash + self.upl

    @property
    def cross_imr(self) -> Decimal:
        """Initial margin of cross positions."""
        return sum((p.imr for p in self.open_positions() if p.mgn_mode == "cross"), ZERO)

    @property
    def isolated_margin(self) -> Decimal:
        """Margin locked in isolated positions."""
        return sum(
            (p.isolated_margin for p in self.open_positions() if p.mgn_mode == "isolated"), ZERO
        )

    def cross_margin_ratio(self, rate: Decimal) -> Decimal | None:
        """Equity backing the cross positions over their maintenance margin (None: no cross)."""
        mmr = sum((p.mmr(rate) for p in self.open_positions() if p.mgn_mode == "cross"), ZERO)
        return (self.equity - self.isolated_margin) / mmr if mmr else None

    @property
    def available(self) -> Decimal:
        """Equity free for new orders (``availEq``)."""
        return self.equity - self.cross_imr - self.isolated_margin - self.order_frozen

    def balance_record(self, now: datetime) -> JsonDict:
        """``GET /account/balance`` / ``account`` channel item (USDT only)."""
        record: JsonDict = dict.fromkeys(ACCOUNT_FIELDS, "")
        detail: JsonDict = dict.fromkeys(ACCOUNT_DETAIL_FIELDS, "")
        frozen = self.isolated_margin + self.order_frozen
        iso_upl = sum(
            (p.upl(p.mark) for p in self.open_positions() if p.mgn_mode == "isolated"), ZERO
        )
        detail.update(
            availBal=num(self.cash - frozen),
            availEq=num(self.available),
            cashBal=num(self.cash),
            ccy="USDT",
            coinUsdPrice="1",
            colBorrAutoConversion="0",
            collateralEnabled=False,
            collateralRestrict=False,
            disEq=num(self.equity),
            eq=num(self.equity),
            eqUsd=num(self.equity),
            fixedBal="0",
            frozenBal=num(frozen),
            imr=num(self.cross_imr),
            isoEq=num(self.isolated_margin + iso_upl),
            isoUpl=num(iso_upl),
            mmr="0",
            notionalLever="0",
            ordFrozen=num(self.order_frozen),
            rewardBal="0",
            smtSyncEq="0",
            spotCopyTradingEq="0",
            spotIsoBal="0",
            stgyEq="0",
            twap="0",
            uTime=ms(self.u_time),
            upl=num(self.upl),
        )
        record.update(
            adjEq=num(self.equity),
            availEq=num(self.available),
            details=[detail],
            imr=num(self.cross_imr),
            isoEq=num(self.isolated_margin + iso_upl),
            ordFroz=num(self.order_frozen),
            totalEq=num(self.equity),
            uTime=ms(now),
            upl=num(self.upl),
        )
        return record
