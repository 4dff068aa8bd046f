"""The gateway's Prometheus metrics (docs/operations.md lists every family).

:class:`GatewayMetrics` owns one registry per app.  Request paths observe histograms
directly (a child per label set, cached); everything the WebSockets and the fan-out count
is kept in plain integers by those components and read by :class:`_LiveCollector` at
scrape time, so the fan-out loop never touches a metric.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from schemas.exposition import NatsCollector, new_registry

if TYPE_CHECKING:
    from gateway.engines import EngineDirectory, Status
    from gateway.nats_plugin import ConnectionState
    from gateway.streams.plugin import StreamPlugin

PREFIX = "webtrader"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Seconds: from a loopback query (~1 ms) to the longest request timeout."""
DEPTH_BUCKETS = (0, 1, 4, 16, 64, 256, 1024, 4096, 16384)
"""Items waiting in one WebSocket client's outbox."""
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
"""``route`` label of requests no route matched (never the raw path: unbounded labels)."""


class GatewayMetrics:
    """Every metric of one gateway app; :meth:`bind` attaches the running components."""

    def __init__(self) -> None:
        self.registry: CollectorRegistry = new_registry()
        self.http = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "HTTP requests by method, route template and status: time to the last byte",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.engine_requests = Histogram(
            f"{PREFIX}_engine_request_duration_seconds",
            "NATS requests to engines by engine, op and outcome status (504: timed out, "
            "503: no responders or NATS down)",
            ["engine", "op", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.engine_transitions = Counter(
            f"{PREFIX}_engine_transitions",
            "Engine up/down transitions seen by this gateway",
            ["engine", "status"],
            registry=self.registry,
        )
        self.nats_events = Counter(
            f"{PREFIX}_nats_connection_events",
            "NATS connection losses (disconnected) and recoveries (reconnected)",
            ["event"],
            registry=self.registry,
        )
        self._http_children: dict[tuple[str, str, int], Any] = {}
        self._engine_children: dict[tuple[str, str, str], Any] = {}
        self.nc: Any = None
        self.engines: EngineDirectory | None = None
        self.streams: StreamPlugin | None = None
        self.registry.register(NatsCollector(PREFIX, lambda: self.nc))
        self.registry.register(_LiveCollector(self))

    def bind(self, nc: Any, engines: EngineDirectory, streams: StreamPlugin | None) -> None:
        """Read these components at scrape time (from the app's startup)."""
        self.nc, self.engines, self.streams = nc, engines, streams

    def unbind(self) -> None:
        """Forget the components (at shutdown)."""
        self.nc = self.engines = self.streams = None

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request's duration."""
        key = (method, route, status)
        child = self._http_children.get(key)
        if child is None:
            method = method if method in HTTP_METHODS else "OTHER"
            child = self._http_children[key] = self.http.labels(method, route, str(status))
        child.observe(seconds)

    def observe_engine(self, engine: str, op: str, status: str, seconds: float) -> None:
        """One NATS request to an engine."""
        key = (engine, op, status)
        child = self._engine_children.get(key)
        if child is None:
            child = self._engine_children[key] = self.engine_requests.labels(engine, op, status)
        child.observe(seconds)

    def on_engine(self, engine_id: str, status: Status, reason: str) -> None:
        """Engine directory listener: count the transition."""
        self.engine_transitions.labels(engine_id, status).inc()

    def on_nats(self, state: ConnectionState) -> None:
        """NATS connection listener: count the event."""
        self.nats_events.labels(state).inc()


class _LiveCollector(Collector):
    """Engines, WebSocket sessions, outboxes and the fan-out hub, read at scrape time."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        """Every live family (empty values while the app is not running)."""
        yield from self._engines()
        yield from self._websockets()

    def _engines(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            f"{PREFIX}_engine_up",
            "1 while the engine is up (heard from, answering)",
            labels=["engine"],
        )
        engines = self._m.engines
        for engine_id, status in sorted((engines.known() if engines else {}).items()):
            up.add_metric([engine_id], 1 if status == "up" else 0)
        yield up

    def _websockets(self) -> Iterator[Metric]:
        streams = self._m.streams
        tracker = streams.tracker if streams is not None else None
        live = GaugeMetricFamily(
            f"{PREFIX}_websocket_connections",
            "Open WebSocket sessions by endpoint (ws: vnpy_webtrader's /ws/, stream: /stream)",
            labels=["endpoint"],
        )
        opened = CounterMetricFamily(
            f"{PREFIX}_websocket_sessions",
            "WebSocket sessions accepted since start, by endpoint",
            labels=["endpoint"],
        )
        closed = CounterMetricFamily(
            f"{PREFIX}_websocket_overflow_disconnects",
            "Sessions closed (1013) because the client fell behind its outbox bound",
            labels=["endpoint"],
        )
        depths: list[int] = []
        conflated = 0
        if tracker is not None:
            for endpoint, sessions in sorted(tracker.live.items()):
                live.add_metric([endpoint], len(sessions))
                opened.add_metric([endpoint], tracker.opened[endpoint])
                closed.add_metric([endpoint], tracker.overflows[endpoint])
                for session in sessions:
                    depths.append(len(session.outbox))
                    conflated += session.outbox.conflated
            conflated += tracker.conflated_closed
        yield live
        yield opened
        yield closed
        yield _depth_histogram(depths)
        yield GaugeMetricFamily(
            f"{PREFIX}_websocket_queue_depth_max",
            "Largest outbox of any open WebSocket session now (items)",
            value=max(depths, default=0),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_websocket_ticks_conflated",
            "Ticks replaced in a client's outbox by a newer tick of the same contract",
            value=conflated,
        )
        yield from self._hub(streams)

    @staticmethod
    def _hub(streams: StreamPlugin | None) -> Iterator[Metric]:
        stats = streams.snapshot() if streams is not None else None
        values = (
            (0, 0, 0, 0, 0, 0, 0)
            if stats is None
            else (
                stats.messages,
                stats.dropped,
                stats.patterns,
                stats.sinks,
                stats.consumers,
                stats.waiting,
                stats.resets,
            )
        )
        names = (
            ("counter", "fanout_messages", "NATS event messages fanned out to WebSocket clients"),
            ("counter", "fanout_dropped", "Events nats-py dropped: the fan-out fell behind"),
            ("gauge", "fanout_subscriptions", "NATS subscriptions of the fan-out (per pattern)"),
            ("gauge", "fanout_sinks", "Client subscriptions attached to them"),
            ("gauge", "durable_consumers", "JetStream consumers of /stream subscriptions"),
            ("gauge", "durable_consumers_waiting", "Of those, waiting for a live consumer"),
            ("counter", "durable_consumer_resets", "Durable consumers replaced since start"),
        )
        for (kind, name, text), value in zip(names, values, strict=True):
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(f"{PREFIX}_{name}", text, value=value)


def _depth_histogram(depths: list[int]) -> HistogramMetricFamily:
    buckets: list[tuple[str, float]] = []
    for bound in DEPTH_BUCKETS:
        buckets.append((str(float(bound)), sum(1 for d in depths if d <= bound)))
    buckets.append(("+Inf", len(depths)))
    return HistogramMetricFamily(
        f"{PREFIX}_websocket_queue_depth",
        "Items waiting in each open WebSocket session's outbox, sampled at scrape time",
        buckets=buckets,
        sum_value=sum(depths),
    )
