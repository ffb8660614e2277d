"""The OKX v5 endpoints a scalper needs, as typed calls over :class:`~host.exchange.rest.OkxRest`.

Two calls carry the hard cases, which is why they are more than a request each:

* :meth:`OkxApi.place_order` — when the reply is lost the order may or may not exist. It is looked
  up by ``clOrdId`` (several times, since OKX may take a moment to show it); it is never sent a
  second time, which could open twice the position. If the lookups never find it, the caller is
  told :class:`OrderNotPlaced`.
* :meth:`OkxApi.cancel_order` — a cancel that loses the race against a fill is refused (``51400``);
  the order is then looked up so the caller sees the fill instead of a bare error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from host.clock import from_okx_ms, to_okx_ms
from host.domain import Fill, InstrumentSpec, Tick
from host.exchange.backoff import Backoff
from host.exchange.decode import (
    account_push,
    algo_order_push,
    bill_record,
    fill_record,
    instrument_spec,
    order_push,
    position_report,
)
from host.exchange.errors import (
    AmbiguousOutcome,
    OkxRateLimited,
    OkxRejected,
    OkxUnavailable,
)
from host.exchange.events import AccountPush, AlgoOrderPush, OrderPush, PositionReport
from host.exchange.orders import OrderRequest, StopRequest, wire_decimal
from host.exchange.rest import Item, OkxRest
from host.exchange.results import (
    AccountBill,
    AccountConfig,
    AlgoAck,
    CancelOutcome,
    OrderAck,
)
from host.money import parse_decimal

Sleep = Callable[[float], Awaitable[None]]

ORDER_DOES_NOT_EXIST = "51603"
CLIENT_ID_EXISTS = "51016"
CANCEL_REFUSED_FINISHED = frozenset({"51400", "51401", "51402", "51503"})
"""Cancel refused: the order is filled, canceled or unknown; look it up to learn which."""
CANCEL_IN_PROGRESS = "51410"
EXPIRY_HEADER = "expTime"
"""OKX discards a request that reaches its matching engine after this time (ms, server time)."""
BATCH_LIMIT = 10
"""Most items OKX takes in one batch request (cancel-algos)."""
PAGE_SIZE = 100
"""Most records OKX returns in one call of a history endpoint (fills, bills)."""
RECENT_FILLS = timedelta(days=3)
"""How far back ``trade/fills`` reaches; older fills are in ``trade/fills-history``."""


class OrderNotPlaced(Exception):
    """An order whose reply was lost was not found by any lookup: OKX never accepted it."""

    def __init__(self, cl_ord_id: str) -> None:
        super().__init__(f"order {cl_ord_id} was not placed (reply lost, lookups found nothing)")
        self.cl_ord_id = cl_ord_id


class OkxApi:
    """Typed OKX v5 endpoints. Domain values in, domain values out; no float anywhere."""

    def __init__(
        self,
        rest: OkxRest,
        *,
        lookup_attempts: int = 5,
        lookup_delay_seconds: float = 0.5,
        request_timeout_seconds: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rest = rest
        self._request_timeout = request_timeout_seconds
        self._lookup_attempts = lookup_attempts
        self._lookup_pause = Backoff(lookup_delay_seconds, factor=1.0)
        self._sleep = sleep

    # --- public market data ---------------------------------------------------------------------

    async def server_time(self) -> datetime:
        """OKX's clock (aware UTC)."""
        data = await self.rest.get("/api/v5/public/time", auth=False)
        return from_okx_ms(data[0]["ts"])

    async def instruments(self) -> tuple[InstrumentSpec, ...]:
        """Every live linear USDT swap, with the grid its orders must be on."""
        data = await self.rest.get("/api/v5/public/instruments", {"instType": "SWAP"}, auth=False)
        return tuple(
            instrument_spec(item)
            for item in data
            if item.get("state") == "live"
            and item.get("ctType") == "linear"
            and item.get("settleCcy") == "USDT"
        )

    async def ticker(self, inst_id: str) -> Tick:
        """Last trade and best bid/ask of one instrument."""
        data = await self.rest.get("/api/v5/market/ticker", {"instId": inst_id}, auth=False)
        item = data[0]
        return Tick(
            inst_id=item["instId"],
            ts=from_okx_ms(item["ts"]),
            last=parse_decimal(item["last"]),
            bid=parse_decimal(item["bidPx"]),
            ask=parse_decimal(item["askPx"]),
        )

    # --- account --------------------------------------------------------------------------------

    async def account_config(self) -> AccountConfig:
        """Account level and position mode."""
        item = (await self.rest.get("/api/v5/account/config"))[0]
        return AccountConfig(
            uid=str(item.get("uid", "")),
            account_level=str(item["acctLv"]),
            position_mode=str(item["posMode"]),
        )

    async def balance(self, ccy: str | None = None) -> AccountPush:
        """Equity and balances (of one currency if ``ccy`` is given)."""
        params = {"ccy": ccy} if ccy else None
        return account_push((await self.rest.get("/api/v5/account/balance", params))[0])

    async def positions(self, inst_id: str | None = None) -> tuple[PositionReport, ...]:
        """Open swap positions, as the exchange reports them."""
        data = await self.rest.get("/api/v5/account/positions", _swaps(inst_id))
        return tuple(position_report(item) for item in data)

    async def set_leverage(self, inst_id: str, leverage: Decimal, margin_mode: str) -> None:
        """Set an instrument's leverage for a margin mode (``cross`` or ``isolated``)."""
        body = {"instId": inst_id, "lever": wire_decimal(leverage), "mgnMode": margin_mode}
        await self.rest.post("/api/v5/account/set-leverage", body)

    # --- orders ---------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> OrderAck:
        """Place an order; a lost reply is resolved by looking the order up, never by resending.

        The request carries OKX's ``expTime`` (server time plus the request timeout): OKX
        discards it if it reaches the matching engine later. So once that moment has passed, a
        lookup that does not find the order proves it was never placed.

        Raises :class:`~host.exchange.errors.OkxRejected` when OKX refused it,
        :class:`OrderNotPlaced` when its reply was lost and it provably never landed, and
        :class:`~host.exchange.errors.AmbiguousOutcome` when even the lookups failed — the
        order's fate is then unknown and must be resolved later by its ``clOrdId``.
        """
        deadline = self.rest.server_now() + timedelta(seconds=self._request_timeout)
        try:
            data = await self.rest.post(
                "/api/v5/trade/order",
                request.to_wire(),
                inst_id=request.inst_id,
                headers={EXPIRY_HEADER: to_okx_ms(deadline)},
            )
        except AmbiguousOutcome:
            return await self._resolve_placement(request, deadline)
        except OkxRejected as refused:
            if refused.code != CLIENT_ID_EXISTS:
                raise
            # Our id is taken: an earlier attempt of this very order landed after all.
            return await self._resolve_placement(request, deadline)
        return OrderAck(str(data[0]["ordId"]), request.cl_ord_id)

    async def _resolve_placement(self, request: OrderRequest, deadline: datetime) -> OrderAck:
        """Look the order up until it shows, or until its ``expTime`` has provably passed."""
        attempts = 0
        while True:
            if attempts:
                await self._sleep(self._lookup_pause.delay(attempts - 1))
            attempts += 1
            try:
                found = await self.get_order(request.inst_id, cl_ord_id=request.cl_ord_id)
            except (OkxUnavailable, OkxRateLimited) as error:
                raise AmbiguousOutcome(
                    "lookup", f"order {request.cl_ord_id}: outcome unknown ({error})"
                ) from None
            if found is not None and found.order.ord_id is not None:
                return OrderAck(found.order.ord_id, request.cl_ord_id, resolved=True)
            if attempts >= self._lookup_attempts and self.rest.server_now() > deadline:
                raise OrderNotPlaced(request.cl_ord_id)

    async def cancel_order(
        self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> CancelOutcome:
        """Ask OKX to cancel an order; when it cannot say yes, say what the order became."""
        body = {"instId": inst_id} | _order_ids(ord_id, cl_ord_id)
        try:
            await self.rest.post("/api/v5/trade/cancel-order", body, inst_id=inst_id)
        except OkxRejected as refused:
            if refused.code == CANCEL_IN_PROGRESS:
                return CancelOutcome(accepted=True)
            if refused.code not in CANCEL_REFUSED_FINISHED:
                raise
        except AmbiguousOutcome:
            pass
        else:
            return CancelOutcome(accepted=True)
        found = await self.get_order(inst_id, ord_id=ord_id, cl_ord_id=cl_ord_id)
        return CancelOutcome(accepted=False, order=found.order if found else None)

    async def amend_order(self, inst_id: str, ord_id: str, new_price: Decimal) -> bool:
        """Move a resting order to ``new_price``, keeping its ``clOrdId``; False if refused.

        OKX acknowledges the request only; the order's new state arrives on the orders channel.
        ``cxlOnFail`` cancels the order if the amendment fails, so it never rests at a price
        nobody chose. Refused (already filled or canceled) means the pushes settle it.
        """
        body = {
            "instId": inst_id,
            "ordId": ord_id,
            "newPx": wire_decimal(new_price),
            "cxlOnFail": True,
        }
        try:
            await self.rest.post("/api/v5/trade/amend-order", body, inst_id=inst_id)
        except OkxRejected:
            return False
        return True

    async def get_order(
        self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> OrderPush | None:
        """One order by ``ordId`` or ``clOrdId``; ``None`` if OKX does not know it."""
        params = {"instId": inst_id} | _order_ids(ord_id, cl_ord_id)
        try:
            data = await self.rest.get("/api/v5/trade/order", params)
        except OkxRejected as refused:
            if refused.code == ORDER_DOES_NOT_EXIST:
                return None
            raise
        return order_push(data[0], with_fill=False) if data else None

    async def find_order(self, inst_id: str, cl_ord_id: str) -> OrderPush | None:
        """Look an order up by ``clOrdId`` until it shows, at most ``lookup_attempts`` times."""
        for attempt in range(self._lookup_attempts):
            if attempt:
                await self._sleep(self._lookup_pause.delay(attempt - 1))
            found = await self.get_order(inst_id, cl_ord_id=cl_ord_id)
            if found is not None:
                return found
        return None

    async def pending_orders(self, inst_id: str | None = None) -> tuple[OrderPush, ...]:
        """Orders still resting (live or partially filled)."""
        data = await self.rest.get("/api/v5/trade/orders-pending", _swaps(inst_id))
        return tuple(order_push(item, with_fill=False) for item in data)

    async def fills(
        self,
        inst_id: str | None = None,
        *,
        begin: datetime | None = None,
        end: datetime | None = None,
    ) -> tuple[Fill, ...]:
        """Every execution from ``begin`` to ``end``, newest first, fetched page by page.

        Without ``begin``: all that ``trade/fills`` keeps (three days), which is what a restart
        must see — the newest hundred alone lose the older fills of a long absence. A ``begin``
        older than three days also reads ``trade/fills-history`` (three months).
        """
        params = _swaps(inst_id, **_period(begin, end))
        rows = await self._pages("/api/v5/trade/fills", params, "billId")
        if begin is not None and begin < self.rest.server_now() - RECENT_FILLS:
            rows += await self._pages("/api/v5/trade/fills-history", params, "billId")
        unique = {(fill.inst_id, fill.trade_id): fill for fill in map(fill_record, rows)}
        return tuple(sorted(unique.values(), key=lambda fill: fill.ts, reverse=True))

    async def bills(
        self, *, begin: datetime | None = None, end: datetime | None = None
    ) -> tuple[AccountBill, ...]:
        """The swap account's bills (fees, realised PnL, funding) of the last seven days, paged."""
        params = _swaps(None, **_period(begin, end))
        return tuple(map(bill_record, await self._pages("/api/v5/account/bills", params, "billId")))

    async def _pages(self, path: str, params: dict[str, str], cursor: str) -> list[Item]:
        """Every record of a newest-first history endpoint, :data:`PAGE_SIZE` at a time.

        OKX answers at most a hundred records a call; ``after`` (the last record's ``cursor``)
        asks for the next, older page. A short page is the last.
        """
        query = params | {"limit": str(PAGE_SIZE)}
        rows: list[Item] = []
        while True:
            page = await self.rest.get(path, query)
            rows += page
            if len(page) < PAGE_SIZE:
                return rows
            query["after"] = str(page[-1][cursor])

    async def cancel_all_after(self, timeout_seconds: int) -> None:
        """Arm OKX's dead-man's switch: cancel every order if not re-armed in time (0: disarm)."""
        await self.rest.post("/api/v5/trade/cancel-all-after", {"timeOut": str(timeout_seconds)})

    # --- exchange-side stops ---------------------------------------------------------------------

    async def place_stop(self, request: StopRequest) -> AlgoAck:
        """Place an exchange-side stop (conditional or trailing)."""
        data = await self.rest.post(
            "/api/v5/trade/order-algo", request.to_wire(), inst_id=request.inst_id
        )
        return AlgoAck(str(data[0]["algoId"]), request.algo_cl_ord_id)

    async def amend_stop(self, inst_id: str, algo_id: str, trigger_price: Decimal) -> None:
        """Move a conditional stop's trigger (the trailing stop tightened)."""
        body = {
            "instId": inst_id,
            "algoId": algo_id,
            "newSlTriggerPx": wire_decimal(trigger_price),
            "newSlOrdPx": "-1",
        }
        await self.rest.post("/api/v5/trade/amend-algos", body, inst_id=inst_id)

    async def cancel_stops(
        self, stops: Sequence[tuple[str, str]], *, trailing: bool = False
    ) -> dict[str, str]:
        """Cancel exchange-side stops given as ``(instId, algoId)``; return each one's ``sCode``.

        OKX takes at most ten per request and answers per item (``"0"``: canceled), so a partly
        failed batch still says which stops are gone. Trailing stops (``move_order_stop``) are
        "advance" algo orders, canceled through their own endpoint.
        """
        path = "/api/v5/trade/cancel-advance-algos" if trailing else "/api/v5/trade/cancel-algos"
        codes: dict[str, str] = {}
        for start in range(0, len(stops), BATCH_LIMIT):
            batch = stops[start : start + BATCH_LIMIT]
            body = [{"instId": inst_id, "algoId": algo_id} for inst_id, algo_id in batch]
            try:
                data = await self.rest.post(path, body)
            except OkxRejected as refused:  # every item failed, for the same reason
                codes.update({algo_id: refused.code for _, algo_id in batch})
                continue
            codes.update({str(item["algoId"]): str(item.get("sCode", "0")) for item in data})
        return codes

    async def pending_stops(self, order_type: str = "conditional") -> tuple[AlgoOrderPush, ...]:
        """Exchange-side stops still waiting (``conditional``, ``move_order_stop``...)."""
        data = await self.rest.get("/api/v5/trade/orders-algo-pending", {"ordType": order_type})
        return tuple(algo_order_push(item) for item in data)


def _swaps(inst_id: str | None, **extra: str) -> dict[str, str]:
    """Query parameters selecting swaps, of one instrument if ``inst_id`` is given."""
    return {"instType": "SWAP", **({"instId": inst_id} if inst_id else {}), **extra}


def _period(begin: datetime | None, end: datetime | None) -> dict[str, str]:
    """OKX's ``begin``/``end`` (milliseconds, both inclusive) for the bounds that are given."""
    bounds = {"begin": begin, "end": end}
    return {name: to_okx_ms(moment) for name, moment in bounds.items() if moment is not None}


def _order_ids(ord_id: str | None, cl_ord_id: str | None) -> dict[str, str]:
    if ord_id:
        return {"ordId": ord_id}
    if cl_ord_id:
        return {"clOrdId": cl_ord_id}
    raise ValueError("an order is named by its ordId or its clOrdId")
