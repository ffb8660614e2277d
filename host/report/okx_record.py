"""OKX's own record of a period, read through the host's client: the side the journal is held to.

Fills and bills are read page by page for the whole period (OKX answers at most a hundred rows a
call); resting orders, pending stops and positions are what the exchange holds now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiohttp

from host.clock import Clock
from host.domain import Fill
from host.exchange.api import OkxApi
from host.exchange.events import AlgoOrderPush, OrderPush, PositionReport
from host.exchange.health import ExchangeHealth
from host.exchange.rest import OkxRest
from host.exchange.results import AccountBill
from host.settings import Settings

STOP_TYPES = ("conditional", "move_order_stop")
"""The algo order types the host uses as exchange-side stops."""


@dataclass(frozen=True, slots=True)
class OkxRecord:
    """The period's fills and bills, and the orders, stops and positions OKX holds now."""

    fills: tuple[Fill, ...]
    bills: tuple[AccountBill, ...]
    orders: tuple[OrderPush, ...]
    stops: tuple[AlgoOrderPush, ...]
    positions: tuple[PositionReport, ...]


async def read_okx_record(api: OkxApi, begin: datetime | None, end: datetime | None) -> OkxRecord:
    """Everything OKX has for the comparison; ``begin``/``end`` bound fills and bills."""
    stops: tuple[AlgoOrderPush, ...] = ()
    for order_type in STOP_TYPES:
        stops += await api.pending_stops(order_type)
    return OkxRecord(
        fills=await api.fills(begin=begin, end=end),
        bills=await api.bills(begin=begin, end=end),
        orders=await api.pending_orders(),
        stops=stops,
        positions=tuple(p for p in await api.positions() if p.position.size > 0),
    )


async def fetch_okx_record(
    settings: Settings, clock: Clock, begin: datetime | None, end: datetime | None
) -> OkxRecord:
    """:func:`read_okx_record` from the exchange the config names, with its credentials."""
    async with aiohttp.ClientSession() as session:
        rest = OkxRest(
            session,
            settings.exchange,
            settings.credentials,
            clock,
            ExchangeHealth(clock),
            base_url=settings.exchange.rest_url,
        )
        await rest.sync_clock()
        return await read_okx_record(OkxApi(rest), begin, end)
