"""The host's own OKX client (issue 4, ``host.exchange``) against the simulator, end to end.

The client runs on the live clock, so the simulator starts at the live time and time is moved
only by a second at a time, well inside OKX's 30 s signing window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from okx_test_client import running
from pydantic import SecretStr

from host.clock import LiveClock
from host.domain.sides import Side
from host.exchange import connection, orders
from host.settings import Credentials, Settings

BTC = "BTC-USDT-SWAP"


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for the client to have processed what the simulator sent."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 -- the state lives in another program
            await asyncio.sleep(0.01)


async def test_the_host_client_logs_in_subscribes_trades_and_sees_its_stops_fire() -> None:
    async with running(start=LiveClock().now()) as okx:
        key = okx.sim.config.keys[0]
        settings = Settings(
            instruments=(BTC,),
            credentials=Credentials(
                api_key=SecretStr(key.api_key),
                secret_key=SecretStr(key.secret_key),
                passphrase=SecretStr(key.passphrase),
            ),
        )
        seen: list[Any] = []

        async def on_resync(snapshot: Any) -> None:
            seen.append(snapshot)

        link = connection.OkxConnection(
            okx.http, settings, LiveClock(), seen.append, on_resync,
            rest_url=okx.sim.urls.rest, ws_url=okx.sim.urls.ws_base,
        )  # fmt: skip
        task = asyncio.create_task(link.run())
        try:
            await asyncio.wait_for(link.wait_ready(), 10)
            api = link.api
            assert BTC in [spec.inst_id for spec in await api.instruments()]
            order = orders.OrderRequest(
                BTC, "e2eentry1", Side.BUY, orders.OrderType.MARKET, Decimal("0.5")
            )
            ack = await api.place_order(order)
            (report,) = await api.positions()
            assert report.position.size == Decimal("0.5") == okx.sim.ledger.position(BTC)
            resting = orders.OrderRequest(
                BTC,
                "e2elimit1",
                Side.BUY,
                orders.OrderType.LIMIT,
                Decimal("0.1"),
                price=Decimal(50000),
            )
            placed = await api.place_order(resting)
            assert (await api.cancel_order(BTC, ord_id=placed.ord_id)).accepted
            assert {f.ord_id for f in await api.fills()} == {ack.ord_id}
            mark = okx.sim.engine.markets[BTC].mark
            stop = orders.StopRequest(BTC, "e2estop1", Side.SELL, trigger_price=mark - 100)
            await api.place_stop(stop)
            okx.sim.faults.shock_market(BTC, -1)
            await okx.sim.advance(timedelta(seconds=1))
            assert okx.sim.ledger.position(BTC) == 0

            def pushed(kind: str) -> list[Any]:
                return [e for e in seen if type(e).__name__ == kind]

            await eventually(lambda: any(p.state == "effective" for p in pushed("AlgoOrderPush")))
            await eventually(
                lambda: any(
                    r.position.size == 0 for p in pushed("PositionsPush") for r in p.reports
                )
            )
            assert pushed("OrderPush")
            assert pushed("TickerPush")
        finally:
            await link.stop()
            await asyncio.wait_for(task, 5)
