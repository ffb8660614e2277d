"""Connection health figures for the engine and the circuit breaker.

A socket can be open and dead: the failure mode that hurts is silence, not a disconnect. So the
figures that matter are the age of the last message per channel, request latency, how often the
connection was rebuilt and what OKX refused. Recording is O(1) and allocation-free apart from the
latency window, so the WebSocket loop can call it on every frame.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from statistics import median

from host.clock import Clock
from host.durations import DurationHistogram

LATENCY_WINDOW = 256
"""Recent REST round trips kept for the latency figures."""


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """The figures at one instant; ages and latencies in seconds."""

    requests: int
    latency_last: float | None
    latency_median: float | None
    latency_max: float | None
    reconnects: int
    message_age: dict[str, float]
    rejects: dict[str, int]


class ExchangeHealth:
    """Counters and ages, shared by the REST client and the WebSocket connections."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._last_message: dict[str, float] = {}
        self.requests = 0
        self.reconnects = 0
        self.rejects: Counter[str] = Counter()
        self.messages: dict[str, int] = {}
        """Pushes received per stream (as :meth:`record_message` names them), for the metrics.
        A plain dict: its item increment is specialised by CPython, a Counter's is not."""
        self.latency = DurationHistogram()
        """Every REST round trip, for the metrics' latency histogram."""

    def record_request(self, seconds: float) -> None:
        """One REST round trip took ``seconds``."""
        self.requests += 1
        self._latencies.append(seconds)
        self.latency.record_seconds(seconds)

    def record_reject(self, code: str) -> None:
        """OKX refused a request with ``code``."""
        self.rejects[code] += 1

    def record_reconnect(self) -> None:
        """A WebSocket connection was rebuilt."""
        self.reconnects += 1

    def record_message(self, channel: str) -> None:
        """A message arrived on ``channel`` now."""
        self._last_message[channel] = self._clock.monotonic()
        try:
            self.messages[channel] += 1
        except KeyError:  # the stream's first push (zero-cost try: this is the hot path)
            self.messages[channel] = 1

    def message_age(self, channel: str) -> float | None:
        """Seconds since the last message on ``channel``; ``None`` if none arrived yet."""
        last = self._last_message.get(channel)
        return None if last is None else self._clock.monotonic() - last

    def snapshot(self) -> HealthSnapshot:
        """The current figures, for logs, the circuit breaker and ``scalphost check``."""
        latencies = list(self._latencies)
        now = self._clock.monotonic()
        return HealthSnapshot(
            requests=self.requests,
            latency_last=latencies[-1] if latencies else None,
            latency_median=median(latencies) if latencies else None,
            latency_max=max(latencies) if latencies else None,
            reconnects=self.reconnects,
            message_age={channel: now - last for channel, last in self._last_message.items()},
            rejects=dict(self.rejects),
        )
