"""The host's Prometheus metrics, read from the host's own counters at scrape time.

prometheus_client's ``Counter.inc()`` takes a lock and walks a label lookup on every call; on the
path from a frame to a decision that is several hundred nanoseconds per event. The host already
counts what matters there (ticks, pushes per stream, drops by reason, each plugin call's answer
and duration, orders, fills, stops), so this collector turns those counts into metric families
when Prometheus asks, and nothing is added where the counts are kept beyond plain integer
increments (bench/bench_metrics.py measures them).

Names follow Prometheus' conventions: the ``scalphost_`` prefix, ``_total`` for counters, seconds
for durations. PnL is in USDT (``_usdt``); it is converted to float here, at the edge, because the
exposition format has no decimals — the host's own accounting stays Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from host.durations import DurationHistogram
from host.monitor.status import socket_name, unrealised
from host.monitor.watched import Watched

PLUGIN_CALL_BUCKETS = (8, 27)
"""Plugin calls: buckets from 2**8 ns (256 ns) to 2**27 ns (134 ms)."""
REST_BUCKETS = (20, 34)
"""REST round trips: 2**20 ns (1 ms) to 2**34 ns (17 s)."""
JOURNAL_BUCKETS = (14, 32)
"""Journal commits: 2**14 ns (16 µs) to 2**32 ns (4.3 s)."""


def _histogram_buckets(
    histogram: DurationHistogram, first: int, last: int
) -> list[tuple[str, float]]:
    """Prometheus' cumulative buckets, ``+Inf`` (every recording) last."""
    buckets = [(repr(bound), float(count)) for bound, count in histogram.cumulative(first, last)]
    buckets.append(("+Inf", float(histogram.count)))
    return buckets


def _add_histogram(
    family: HistogramMetricFamily,
    labels: list[str],
    histogram: DurationHistogram,
    span: tuple[int, int],
) -> None:
    family.add_metric(
        labels, _histogram_buckets(histogram, *span), sum_value=histogram.total_ns / 1e9
    )


def _stream_labels(stream: str) -> list[str]:
    """``[channel, instId]`` of a stream name (``tickers:BTC-USDT-SWAP``; private: no instId)."""
    channel, _, inst_id = stream.partition(":")
    return [channel, inst_id]


class HostCollector(Collector):
    """Every scalphost metric family, computed from ``watched`` when collected."""

    def __init__(self, watched: Watched) -> None:
        self._watched = watched

    def collect(self) -> Iterable[Metric]:
        """The families, in the order the docs list them."""
        yield from self._market_data()
        yield from self._plugins()
        yield from self._trading()
        yield from self._host()

    def _market_data(self) -> Iterator[Metric]:
        engine, connection = self._watched.engine, self._watched.connection
        health = connection.health
        yield CounterMetricFamily(
            "scalphost_ticks", "Ticker pushes the engine acted on.", value=engine.stats.ticks
        )
        messages = CounterMetricFamily(
            "scalphost_ws_messages",
            "Pushes received per channel and instrument (before de-duplication).",
            labels=["channel", "inst_id"],
        )
        for stream, count in sorted(health.messages.items()):
            messages.add_metric(_stream_labels(stream), count)
        yield messages
        dropped = CounterMetricFamily(
            "scalphost_ws_dropped",
            "Pushes dropped before the engine, by reason (malformed, duplicate, not_credible).",
            labels=["reason", "detail"],
        )
        for socket in connection.sockets:
            dropped.add_metric(["malformed", socket_name(socket.url)], socket.decoder.malformed)
        for kind, count in connection.feed.duplicates.items():
            dropped.add_metric(["duplicate", kind], count)
        for why, count in sorted(connection.feed.credibility.dropped.items()):
            dropped.add_metric(["not_credible", why], count)
        yield dropped
        reconnects = CounterMetricFamily(
            "scalphost_ws_reconnects", "WebSocket connections rebuilt.", labels=["socket"]
        )
        for socket in connection.sockets:
            reconnects.add_metric([socket_name(socket.url)], max(0, socket.connections_opened - 1))
        yield reconnects
        age = GaugeMetricFamily(
            "scalphost_ws_last_message_age_seconds",
            "Seconds since the last push per channel and instrument (on the session's clock).",
            labels=["channel", "inst_id"],
        )
        for stream, seconds in sorted(health.snapshot().message_age.items()):
            age.add_metric(_stream_labels(stream), seconds)
        yield age

    def _plugins(self) -> Iterator[Metric]:
        faults = self._watched.engine.stats.faults
        decisions = CounterMetricFamily(
            "scalphost_plugin_decisions",
            "Hook calls a plugin answered (not None).",
            labels=["hook", "plugin"],
        )
        calls = HistogramMetricFamily(
            "scalphost_plugin_call_seconds",
            "Duration of each plugin's hook calls that returned.",
            labels=["hook", "plugin"],
        )
        for health in faults.hooks:
            labels = [health.hook, health.plugin]
            decisions.add_metric(labels, health.answers)
            _add_histogram(calls, labels, health.timing, PLUGIN_CALL_BUCKETS)
        yield decisions
        yield calls
        errors = CounterMetricFamily(
            "scalphost_plugin_errors",
            "Plugin failures (exceptions and invalid answers).",
            labels=["hook", "plugin"],
        )
        for health in faults.hooks:
            failures = faults.counts[(health.plugin, health.hook)]
            errors.add_metric([health.hook, health.plugin], failures)
        yield errors
        enabled = GaugeMetricFamily(
            "scalphost_plugin_up",
            "1 while a plugin runs; 0 when disabled or switched off for the session.",
            labels=["plugin"],
        )
        for info in self._watched.plugins:
            running = info.enabled and info.name not in faults.switched_off
            enabled.add_metric([info.name], 1.0 if running else 0.0)
        yield enabled

    def _trading(self) -> Iterator[Metric]:
        engine = self._watched.engine
        counts = engine.executor.counts
        stats = engine.stats
        yield CounterMetricFamily(
            "scalphost_signals", "Entry signals the plugins generated.", value=stats.signals
        )
        yield CounterMetricFamily(
            "scalphost_signals_vetoed", "Signals a plugin vetoed.", value=stats.vetoed
        )
        yield CounterMetricFamily(
            "scalphost_orders_sent", "Orders sent to the exchange.", value=counts.sent
        )
        yield CounterMetricFamily(
            "scalphost_orders_acknowledged",
            "Orders the exchange acknowledged.",
            value=counts.acknowledged,
        )
        rejected = CounterMetricFamily(
            "scalphost_orders_rejected",
            "Orders refused, by OKX code (not-placed: never reached OKX).",
            labels=["code"],
        )
        for code, count in sorted(counts.rejected.items()):
            rejected.add_metric([code], count)
        yield rejected
        yield CounterMetricFamily(
            "scalphost_fills", "Fills booked this session.", value=engine.ledger.booked
        )
        yield from self._positions()
        yield GaugeMetricFamily(
            "scalphost_realised_pnl_usdt",
            "Net realised PnL of the positions closed this session (fees included).",
            value=float(stats.totals()[2]),
        )
        yield CounterMetricFamily(
            "scalphost_trades", "Positions closed this session.", value=stats.closed
        )
        for action, value in (
            ("placed", counts.stops_placed),
            ("moved", counts.stops_moved),
            ("refused", counts.stops_refused),
        ):
            yield CounterMetricFamily(
                f"scalphost_exchange_stops_{action}",
                f"Exchange-side stops {action} (OKX's answer).",
                value=value,
            )

    def _positions(self) -> Iterator[Metric]:
        engine, settings = self._watched.engine, self._watched.settings
        positions = GaugeMetricFamily(
            "scalphost_open_positions", "Open positions per instrument.", labels=["inst_id"]
        )
        pnl = GaugeMetricFamily(
            "scalphost_unrealised_pnl_usdt",
            "Unrealised PnL at the mark per instrument (before fees).",
            labels=["inst_id"],
        )
        protected = engine.protection.protected()
        missing = 0
        for inst_id in engine.specs:
            held = engine.registry.for_instrument(inst_id)
            positions.add_metric([inst_id], len(held))
            pnl.add_metric([inst_id], float(sum(unrealised(engine, p) or 0 for p in held)))
            missing += sum(1 for p in held if p.pos_id not in protected)
        yield positions
        yield pnl
        yield GaugeMetricFamily(
            "scalphost_exchange_stops_missing",
            "Open positions without a stop resting on the exchange (when exchange_stops is on).",
            value=missing if settings.engine.exchange_stops else 0,
        )

    def _host(self) -> Iterator[Metric]:
        engine, connection = self._watched.engine, self._watched.connection
        load = engine.market.load
        yield GaugeMetricFamily(
            "scalphost_event_loop_lag_seconds",
            "How late the event loop ran its last once-a-second check.",
            value=0.0 if load is None else load.loop_lag.total_seconds(),
        )
        rest = HistogramMetricFamily(
            "scalphost_rest_request_seconds", "REST round trips to the exchange.", labels=[]
        )
        _add_histogram(rest, [], connection.health.latency, REST_BUCKETS)
        yield rest
        refused = CounterMetricFamily(
            "scalphost_rest_rejects", "REST requests OKX refused, by code.", labels=["code"]
        )
        for code, count in sorted(connection.health.rejects.items()):
            refused.add_metric([code], count)
        yield refused
        journal = HistogramMetricFamily(
            "scalphost_journal_commit_seconds",
            "Journal transactions (write and commit), on the writer thread.",
            labels=[],
        )
        _add_histogram(journal, [], engine.journal.commit_timing, JOURNAL_BUCKETS)
        yield journal
        yield CounterMetricFamily(
            "scalphost_journal_failed_writes",
            "Records the journal could not write.",
            value=engine.journal.failed_writes,
        )
        breaker = GaugeMetricFamily(
            "scalphost_breaker_open",
            "1 while a plugin's vetoes block entries (as of the last signal), per vetoing plugin.",
            labels=["plugin"],
        )
        blocking = engine.entries.blocking
        for info in self._watched.plugins:
            if info.enabled and "on_signal" in info.hooks:
                breaker.add_metric([info.name], 1.0 if info.name in blocking else 0.0)
        yield breaker


def metrics_registry(watched: Watched) -> CollectorRegistry:
    """A registry of its own (not the process-wide default) holding the host's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HostCollector(watched))
    return registry
