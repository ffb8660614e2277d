"""A duration histogram cheap enough for the hot path: one bucket per power of two nanoseconds.

The plugin guard times every hook call, the REST client every request and the journal's writer
every commit. Keeping a distribution of those durations for the metrics must cost next to nothing
where it is recorded, so a recording is ``counts[(ns - 1).bit_length()] += 1`` and an addition:
no search for the bucket, no lock, no allocation. Bucket ``b`` holds the durations above
``2**(b-1)`` ns up to and including ``2**b`` ns (Prometheus' ``le``); the scrape
(:mod:`host.monitor`) turns the counts into Prometheus' cumulative ``le`` buckets in seconds.
The bounds are powers of two, not round decimal numbers: a factor of two between bounds is what a
latency histogram needs, and a reading stays one integer operation.

Written by one thread (the event loop, or the journal's writer) and read by the scrape; a read
that races a write sees one recording more or less, which a metric tolerates.
"""

from __future__ import annotations

BUCKETS = 64
"""Enough for any duration a monotonic clock in nanoseconds can show (``2**63`` ns)."""


class DurationHistogram:
    """Counts of durations by power-of-two bucket, and their sum."""

    __slots__ = ("counts", "total_ns")

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS
        self.total_ns = 0

    def record_ns(self, nanoseconds: int) -> None:
        """Count one duration of ``nanoseconds``."""
        self.counts[(nanoseconds - 1).bit_length()] += 1
        self.total_ns += nanoseconds

    def record_seconds(self, seconds: float) -> None:
        """Count one duration given in seconds (a REST round trip, measured by the clock)."""
        self.record_ns(int(seconds * 1e9))

    @property
    def count(self) -> int:
        """Durations recorded so far."""
        return sum(self.counts)

    def cumulative(self, first: int, last: int) -> list[tuple[float, int]]:
        """``(upper bound in seconds, durations at or below it)`` for buckets ``first..last``.

        Prometheus' buckets are cumulative; durations above the last bound are only in the
        count (its ``+Inf`` bucket). Bounds are ``2**b`` ns, in seconds.
        """
        running = sum(self.counts[:first])
        bounds = []
        for bucket in range(first, last + 1):
            running += self.counts[bucket]
            bounds.append((2**bucket / 1e9, running))
        return bounds
