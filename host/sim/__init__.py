"""A simulated OKX v5 exchange on 127.0.0.1: the paper venue, the test double, the fault injector.

Start one with ``async with Simulator() as sim:`` (or ``scalphost sim``), point any OKX v5 client
at ``sim.urls``, drive time with ``await sim.advance(...)``, break things with ``sim.faults`` and
read the ground truth from ``sim.ledger``.
"""

from host.sim.config import TEST_KEY, ApiKey, SimConfig
from host.sim.server import Simulator, Urls

__all__ = ["TEST_KEY", "ApiKey", "SimConfig", "Simulator", "Urls"]
