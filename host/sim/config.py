"""The simulator's settings: accounts and keys, fees, slippage, position mode, timing windows.

Everything that changes what the simulated exchange does is here and nowhere else, so a test
states its exchange in one constructor call and the same config plus the same seed replays the
same session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from host.sim.instruments import DEFAULT_INSTRUMENTS, SimInstrument
from host.sim.limits import DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key of a simulated account (OKX keys belong to one account)."""

    api_key: str
    secret_key: str
    passphrase: str
    uid: str = "44705892343619584"
    demo: bool = False
    """A demo-trading key: REST requests must carry ``x-simulated-trading: 1`` (else ``50101``)."""


TEST_KEY = ApiKey(
    api_key="sim-0b0f7b4e-4bde-4cc4-8a4a-2d5e0d6f0001",
    secret_key="SIMSECRET0123456789ABCDEF0123456789",  # noqa: S106 -- a published test key
    passphrase="sim-passphrase",  # noqa: S106 -- a published test key
)
"""The account ``scalphost sim`` prints: local, fake money, safe to publish."""


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the simulated exchange behaves.

    ``slippage_ticks`` moves every taker fill that many ticks against the taker (on top of walking
    the book). ``max_skew`` is how far a REST ``OK-ACCESS-TIMESTAMP`` may be from the simulator's
    clock before ``50102`` (OKX does not document it; 30 s matches its WS login window).
    """

    seed: int = 1
    keys: tuple[ApiKey, ...] = (TEST_KEY,)
    instruments: tuple[SimInstrument, ...] = DEFAULT_INSTRUMENTS
    start_balance: Decimal = Decimal("10000")
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    slippage_ticks: int = 0
    pos_mode: str = "net_mode"
    default_lever: Decimal = Decimal("10")
    price_limit: Decimal = Decimal("0.05")
    """Half-width of the accepted limit-price band around the mark (``51006`` outside it)."""
    maintenance_margin_rate: Decimal = Decimal("0.004")
    max_skew: timedelta = timedelta(seconds=30)
    login_window: timedelta = timedelta(seconds=30)
    idle_timeout: timedelta = timedelta(seconds=30)
    http_idle_timeout: timedelta = timedelta(seconds=30)
    """An HTTP connection without a complete request for this long (wall time) is closed."""
    snapshot_interval: timedelta = timedelta(seconds=5)
    step: timedelta = timedelta(milliseconds=100)
    book_levels: int = 20
    funding_rate: Decimal = Decimal("0.0001")
    funding_interval: timedelta = timedelta(hours=8)
    rate_limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    """Requests per window (seconds) by path; ``{}`` turns rate limiting off."""

    def instrument(self, inst_id: str) -> SimInstrument | None:
        """The instrument called ``inst_id``, or None if the simulator does not list it."""
        return next((inst for inst in self.instruments if inst.inst_id == inst_id), None)
