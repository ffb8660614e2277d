"""What REST calls answer, where no domain object fits: acknowledgements and account facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from host.domain import Order


@dataclass(frozen=True, slots=True)
class OrderAck:
    """OKX accepted an order. ``resolved`` says the reply was lost and a lookup found it."""

    ord_id: str
    cl_ord_id: str
    resolved: bool = False


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What became of a cancel request.

    ``accepted``: OKX took the request (the final state arrives on the orders channel). When the
    request was refused because the order had already finished (filled: the cancel lost the race)
    or its reply was lost, ``order`` is the order as a lookup found it, so a fill is never lost.
    """

    accepted: bool
    order: Order | None = None


@dataclass(frozen=True, slots=True)
class AlgoAck:
    """OKX accepted an exchange-side stop."""

    algo_id: str
    algo_cl_ord_id: str


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """The account facts the host depends on (``account/config``).

    ``position_mode`` is ``net_mode`` (one signed position per instrument, what the host expects)
    or ``long_short_mode``.
    """

    uid: str
    account_level: str
    position_mode: str


@dataclass(frozen=True, slots=True)
class AccountBill:
    """One change of the account's balance (``account/bills``): OKX's own record of money.

    ``kind`` is OKX's bill ``type`` (``2`` a trade, ``8`` funding); ``trade_id`` is set for a
    trade. ``fee`` follows OKX's sign (negative is charged), ``pnl`` is the realised PnL it
    booked, ``balance_change`` what it did to the balance (for funding: the funding paid).
    """

    bill_id: str
    kind: str
    inst_id: str
    trade_id: str
    fee: Decimal
    pnl: Decimal
    balance_change: Decimal
    ts: datetime
