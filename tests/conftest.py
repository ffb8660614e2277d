"""Fixtures shared across the suite. Hypothesis profiles come from host.conformance, not here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from okx_test_client import OkxClient, running
from plugin_factory import BTC, NOW

from host.clock import ManualClock
from host.domain import InstrumentSpec


@pytest.fixture
def manual_clock() -> ManualClock:
    """A clock standing still at :data:`tests.plugin_factory.NOW` until advanced."""
    return ManualClock(NOW)


@pytest.fixture
def btc_spec() -> InstrumentSpec:
    """BTC-USDT-SWAP as OKX lists it (ctVal 0.01, tick 0.1, lot 0.01)."""
    return BTC


@pytest.fixture
def xrp_spec() -> InstrumentSpec:
    """XRP-USDT-SWAP as OKX lists it (ctVal 100, tick 0.0001, lot 1)."""
    return InstrumentSpec(
        inst_id="XRP-USDT-SWAP",
        ct_val=Decimal(100),
        ct_mult=Decimal(1),
        tick_sz=Decimal("0.0001"),
        lot_sz=Decimal(1),
        min_sz=Decimal(1),
    )


@pytest.fixture
async def okx() -> AsyncIterator[OkxClient]:
    """A simulated OKX exchange on 127.0.0.1 and a signed client for it (issue 5)."""
    async with running() as client:
        yield client
