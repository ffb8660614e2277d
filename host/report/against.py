"""The journal held to OKX's own record of the same period: every difference, one line each.

What is compared, and why each is worth a line:

* fills by ``(instId, tradeId)``: one OKX lists that the journal lacks (a lost push, a host
  that was down), one the journal has twice or OKX does not list, and a price, size or fee
  that differs — from the fill as OKX lists it and from the account bill that booked it;
* realised PnL by instrument: the journal's closes against OKX's bills;
* what OKX holds now: a reduce-only order or an exchange-side stop with no position to
  protect, an order the journal never sent, a position the journal thinks open that OKX does
  not hold (or holds with another side or size), and one OKX holds that the journal does not.

Funding is shown as OKX's figure: the journal does not record it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Group

from host.domain import PositionSide, Side
from host.money import usdt
from host.report.journal_record import JournalFill, JournalRecord
from host.report.okx_record import OkxRecord
from host.report.terminal import table

TRADE_BILL = "2"
FUNDING_BILL = "8"


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing the journal and OKX disagree on: what kind, about what, and the detail."""

    kind: str
    subject: str
    detail: str


def differences(journal: JournalRecord, okx: OkxRecord) -> list[Difference]:
    """Every difference between the journal and OKX, fills first, then what OKX holds now."""
    return [
        *_fill_differences(journal, okx),
        *_pnl_differences(journal, okx),
        *_order_differences(journal, okx),
        *_position_differences(journal, okx),
    ]


def _fill_differences(journal: JournalRecord, okx: OkxRecord) -> Iterator[Difference]:
    journaled: dict[tuple[str, str], list[JournalFill]] = {}
    for row in journal.fills:
        journaled.setdefault((row.inst_id, row.trade_id), []).append(row)
    bills = {(b.inst_id, b.trade_id): b for b in okx.bills if b.kind == TRADE_BILL}
    listed = {(fill.inst_id, fill.trade_id): fill for fill in okx.fills}
    for key, fill in sorted(listed.items(), key=lambda item: item[1].ts):
        subject = f"{key[0]} trade {key[1]}"
        ours = journaled.get(key, [])
        if not ours:
            yield Difference(
                "fill missing from the journal",
                subject,
                f"OKX: {fill.side.value} {fill.size} at {fill.price}, fee {fill.fee}, "
                f"{fill.ts.isoformat()}",
            )
            continue
        if len(ours) > 1:
            yield Difference("fill journaled twice", subject, f"{len(ours)} rows")
        mine = ours[0]
        for name, theirs, booked in (
            ("price", fill.price, mine.price),
            ("size", fill.size, mine.size),
            ("fee", fill.fee, mine.fee),
        ):
            if theirs != booked:
                yield Difference(f"{name} differs", subject, f"OKX {theirs}, journal {booked}")
        bill = bills.get(key)
        if bill is not None and bill.fee != mine.fee:
            yield Difference(
                "fee differs from OKX's bill",
                subject,
                f"bill {bill.bill_id}: {bill.fee}, journal {mine.fee}",
            )
    for key in journaled.keys() - listed.keys():
        yield Difference(
            "journaled fill OKX does not list", f"{key[0]} trade {key[1]}", "in the period asked"
        )


def _pnl_differences(journal: JournalRecord, okx: OkxRecord) -> Iterator[Difference]:
    booked: dict[str, Decimal] = {}
    for bill in okx.bills:
        if bill.kind == TRADE_BILL:
            booked[bill.inst_id] = booked.get(bill.inst_id, Decimal(0)) + bill.pnl
    for inst_id in sorted(booked.keys() | journal.gross_by_instrument.keys()):
        theirs = booked.get(inst_id, Decimal(0))
        ours = journal.gross_by_instrument.get(inst_id, Decimal(0))
        if theirs != ours:
            yield Difference(
                "realised PnL differs",
                inst_id,
                f"OKX's bills {theirs}, the journal's closes {ours} (gross)",
            )


def _order_differences(journal: JournalRecord, okx: OkxRecord) -> Iterator[Difference]:
    held = {(p.position.inst_id, p.position.side) for p in okx.positions}
    for pending in okx.orders:
        order = pending.order
        subject = f"{order.inst_id} order {order.ord_id} ({order.cl_ord_id or 'no clOrdId'})"
        protects = PositionSide.LONG if order.side is Side.SELL else PositionSide.SHORT
        if order.reduce_only and (order.inst_id, protects) not in held:
            yield Difference("order with no position to protect", subject, "reduce-only")
        elif order.cl_ord_id not in journal.client_order_ids:
            yield Difference(
                "order the journal never sent", subject, f"{order.side.value} {order.size}"
            )
    for stop in okx.stops:
        protects = PositionSide.LONG if stop.side == Side.SELL.value else PositionSide.SHORT
        if (stop.inst_id, protects) not in held:
            trigger = stop.trigger_price if stop.trigger_price is not None else "trailing"
            yield Difference(
                "stop with no position to protect",
                f"{stop.inst_id} algo {stop.algo_id} ({stop.algo_cl_ord_id or 'no algoClOrdId'})",
                f"{stop.ord_type} {stop.side} at {trigger}; OKX holds no {protects} position",
            )


def _position_differences(journal: JournalRecord, okx: OkxRecord) -> Iterator[Difference]:
    held = {p.position.inst_id: p.position for p in okx.positions}
    thought = {p.inst_id: p for p in journal.open_positions}
    for inst_id in sorted(thought.keys() | held.keys()):
        ours, theirs = thought.get(inst_id), held.get(inst_id)
        if theirs is None and ours is not None:
            yield Difference(
                "position the journal thinks open",
                f"{inst_id} {ours.pos_id}",
                f"journal: {ours.side} {ours.size}; OKX holds none",
            )
        elif ours is None and theirs is not None:
            yield Difference(
                "position the journal does not hold open",
                f"{inst_id} {theirs.pos_id}",
                f"OKX: {theirs.side} {theirs.size}",
            )
        elif (
            ours is not None
            and theirs is not None
            and (ours.side, ours.size)
            != (
                theirs.side,
                theirs.size,
            )
        ):
            yield Difference(
                "position differs",
                f"{inst_id} {theirs.pos_id}",
                f"OKX {theirs.side} {theirs.size}, journal {ours.side} {ours.size}",
            )


def render_differences(journal: JournalRecord, okx: OkxRecord, found: list[Difference]) -> Group:
    """What was compared and every difference, for the terminal."""
    funding = sum((b.balance_change for b in okx.bills if b.kind == FUNDING_BILL), Decimal(0))
    fees = sum((b.fee for b in okx.bills if b.kind == TRADE_BILL), Decimal(0))
    summary = table("Journal against OKX", "figure", "OKX", "journal")
    summary.add_row("fills in the period", str(len(okx.fills)), str(len(journal.fills)))
    summary.add_row("fees", usdt(fees), usdt(sum((f.fee for f in journal.fills), Decimal(0))))
    summary.add_row("funding", usdt(funding), "not journaled")
    summary.add_row(
        "open now",
        f"{len(okx.positions)} positions, {len(okx.orders)} orders, {len(okx.stops)} stops",
        f"{len(journal.open_positions)} positions",
    )
    if not found:
        return Group(summary, "Differences: none")
    listing = table(f"Differences: {len(found)}", "what", "about", "detail")
    for difference in found:
        listing.add_row(difference.kind, difference.subject, difference.detail)
    return Group(summary, listing)
