"""What the bridge tells operators: ``$SRV`` STATS that mean something, and Prometheus metrics.

The bridge serves each request in a task of its own (so JetStream waits overlap), which
leaves nats.micro timing only the hand-off.  :class:`RequestStats` records each request
when its reply is sent — duration, status, error — and feeds both:

* :class:`BridgeService`, a ``nats.micro`` service whose STATS report those numbers per
  endpoint (``num_requests``, ``num_errors`` — every error reply, 4xx included, as
  nats.micro counts them — ``last_error`` as ``"CODE:message"``, ``processing_time`` and
  ``average_processing_time`` in nanoseconds of real work);
* the Prometheus histogram ``webtrader_bridge_request_duration_seconds{op,status}``.

Everything else (events, JetStream acknowledgements, ticks dropped or conflated, engine up)
is kept in plain integers by the bridge's components and read by :class:`_BridgeCollector`
at scrape time, so publishing an event never touches a metric.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nats.micro.service import Service, ServiceStats
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas.exposition import NatsCollector, new_registry
from schemas.subjects import EventKind

if TYPE_CHECKING:
    from engine_bridge.service import Bridge

PREFIX = "webtrader_bridge"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
"""Seconds: a cached query (~0.1 ms) to an action waiting out a JetStream failover."""


@dataclass(slots=True)
class EndpointStats:
    """One endpoint's numbers, as ``$SRV`` STATS reports them."""

    num_requests: int = 0
    num_errors: int = 0
    processing_time: int = 0
    """Nanoseconds, summed over requests."""
    last_error: str = ""


class RequestStats:
    """Per-op request numbers for ``$SRV`` STATS and the latency histogram."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.endpoints: dict[str, EndpointStats] = {}
        self._histogram = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Requests served, by op and reply status: time from receipt to reply (the "
            "_count is the number of requests)",
            ["op", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._children: dict[tuple[str, int], Any] = {}

    def record(self, op: str, status: int, seconds: float, error: str = "") -> None:
        """One request answered with ``status`` after ``seconds``; ``error``: its message."""
        stats = self.endpoints.get(op)
        if stats is None:
            stats = self.endpoints[op] = EndpointStats()
        stats.num_requests += 1
        stats.processing_time += int(seconds * 1e9)
        if status >= 400:  # noqa: PLR2004
            stats.num_errors += 1
            stats.last_error = f"{status}:{error}"
        key = (op, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._histogram.labels(op, str(status))
        child.observe(seconds)


class BridgeService(Service):
    """A ``nats.micro`` service whose STATS come from :class:`RequestStats`."""

    def __init__(self, client: Any, config: Any, requests: RequestStats) -> None:
        super().__init__(client, config)
        self._requests = requests

    def stats(self) -> ServiceStats:
        """nats.micro's STATS, with every endpoint's numbers from the real work."""
        stats = super().stats()
        for endpoint in stats.endpoints:
            mine = self._requests.endpoints.get(endpoint.name)
            if mine is None:
                endpoint.num_requests = endpoint.num_errors = 0
                endpoint.processing_time = endpoint.average_processing_time = 0
                continue
            endpoint.num_requests = mine.num_requests
            endpoint.num_errors = mine.num_errors
            endpoint.processing_time = mine.processing_time
            endpoint.average_processing_time = mine.processing_time // max(1, mine.num_requests)
            endpoint.last_error = mine.last_error or None
        return stats


class BridgeMetrics:
    """The bridge's registry: request stats, NATS counters, and the live collector."""

    def __init__(self, bridge: Bridge) -> None:
        self.registry = new_registry()
        self.requests = RequestStats(self.registry)
        self.registry.register(NatsCollector(PREFIX, lambda: bridge.nc))
        self.registry.register(_BridgeCollector(bridge))


def _counter(name: str, text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", text, value=value)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", text, value=value)


class _BridgeCollector(Collector):
    """Engine, events, JetStream and requests in flight, read at scrape time."""

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    def collect(self) -> Iterator[Metric]:
        """Every live family."""
        b = self._bridge
        info = GaugeMetricFamily(
            f"{PREFIX}_info", "The bridge's engine (always 1)", labels=["engine_id", "engine"]
        )
        info.add_metric([b.engine_id, b.engine.kind], 1)
        yield info
        yield _gauge("engine_up", "1 while the engine is started and served", int(b.serving))
        yield _gauge("requests_in_flight", "Requests being served now", b.in_flight)
        yield _counter("heartbeats", "Heartbeats published since start", b.beats)
        published = CounterMetricFamily(
            f"{PREFIX}_events_published", "Events published by kind", labels=["kind"]
        )
        counts = b.publisher.counts
        for kind in EventKind:
            published.add_metric([kind.value], counts[kind])
        yield published
        yield _counter(
            "ticks_dropped",
            "Ticks not published: the NATS client's buffer was full while reconnecting",
            b.publisher.dropped_ticks,
        )
        yield _counter(
            "ticks_conflated",
            "Ticks the engine replaced by a newer one of the same contract (loop behind)",
            int(getattr(b.engine, "dropped_ticks", 0)),
        )
        log = b.log
        yield _counter("jetstream_published", "Durable events handed to JetStream", log.issued)
        yield _counter("jetstream_acked", "Durable events acknowledged by JetStream", log.acked)
        yield _counter(
            "jetstream_resends",
            "Durable events published again by a recovery (retries)",
            max(0, log.sends - log.issued),
        )
        yield _counter(
            "jetstream_recoveries",
            "Recoveries: an acknowledgement failed or did not come in time",
            log.recoveries,
        )
        yield _counter("jetstream_lost", "Durable events given up at close", log.lost)
        yield _gauge("jetstream_pending", "Durable events not yet acknowledged", log.in_flight)
        yield _gauge("events_stream_last_seq", "Last acknowledged events-stream seq", log.last_seq)
