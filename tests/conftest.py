"""Fixtures shared across the suite. Hypothesis profiles come from host.conformance, not here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
from okx_test_client import OkxClient, running
from plugin_factory import BTC, NOW

from host.clock import ManualClock
from host.domain import InstrumentSpec


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """Each test leaves the process's logging as it found it.

    A command run in-process (typer's runner) configures logging as its process's entry point
    should: ``golive``, ``sweep`` and ``report`` log only errors. Left so, a later test waiting
    for a warning in ``caplog`` would wait in vain (it did: ``test_ws``'s back-off warning).
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for handler in [h for h in handlers if h not in root.handlers]:
        root.addHandler(handler)
    root.setLevel(level)


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
