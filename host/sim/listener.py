"""What the matching engine tells the push side about: the changes OKX would push privately."""

from __future__ import annotations

from typing import Protocol

from host.sim.accounts import Account, SimPosition
from host.sim.orders import SimAlgo, SimOrder


class EngineListener(Protocol):
    """Receives every private change as it happens (the WebSocket fan-out implements it)."""

    def order_changed(self, order: SimOrder) -> None:
        """An order was placed, filled (partly) or canceled."""

    def position_changed(self, account: Account, position: SimPosition) -> None:
        """A position's size changed (including to zero)."""

    def account_changed(self, account: Account) -> None:
        """The account's balance changed."""

    def algo_changed(self, algo: SimAlgo) -> None:
        """An algo order was placed, amended, triggered or canceled."""


class NoListener:
    """Listener for an engine used without a server (property tests)."""

    def order_changed(self, order: SimOrder) -> None:
        """Ignore."""

    def position_changed(self, account: Account, position: SimPosition) -> None:
        """Ignore."""

    def account_changed(self, account: Account) -> None:
        """Ignore."""

    def algo_changed(self, algo: SimAlgo) -> None:
        """Ignore."""
