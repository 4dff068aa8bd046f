"""Prometheus exposition shared by the gateway and the bridge.

* :func:`new_registry`: a registry of one process (never the library's global one) with the
  standard ``process_*`` and ``python_*`` collectors.
* :class:`NatsCollector`: the counters nats-py keeps for a connection (messages, bytes,
  reconnects), read at scrape time.
* :class:`MetricsServer`: a minimal HTTP/1.1 listener on the event loop serving ``GET
  /metrics`` (and any extra GET paths) — for a metrics port apart from the service's own.
  Collectors run on the loop, so they read loop state safely.  Each connection answers one
  request and closes; a request head larger than 8 KiB or slower than 5 s is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
HEAD_LIMIT = 8192
HEAD_TIMEOUT = 5.0

Route = Callable[[], tuple[int, bytes, str]]
"""An extra GET path: returns ``(status, body, content type)``."""


def new_registry() -> CollectorRegistry:
    """A registry with the process, platform and garbage-collector collectors."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)


class NatsCollector(Collector):
    """``{prefix}_nats_*``: the connection's state and nats-py's counters, at scrape time.

    ``client`` returns the connection, or None while there is none.
    """

    def __init__(self, prefix: str, client: Callable[[], Any]) -> None:
        self._prefix = prefix
        self._client = client

    def collect(self) -> Iterator[Metric]:
        """Connected (0/1), reconnects, messages and bytes in and out."""
        nc = self._client()
        p = f"{self._prefix}_nats"
        yield GaugeMetricFamily(
            f"{p}_connected",
            "1 while connected to a NATS server",
            value=1 if nc is not None and nc.is_connected else 0,
        )
        stats: Mapping[str, int] = nc.stats if nc is not None else {}
        for key, name, text in (
            ("reconnects", "reconnects", "Reconnections to NATS since start"),
            ("in_msgs", "messages_received", "Messages received from NATS"),
            ("out_msgs", "messages_sent", "Messages sent to NATS"),
            ("in_bytes", "received_bytes", "Payload bytes received from NATS"),
            ("out_bytes", "sent_bytes", "Payload bytes sent to NATS"),
        ):
            yield CounterMetricFamily(f"{p}_{name}", text, value=int(stats.get(key, 0)))


class MetricsServer:
    """``GET /metrics`` of ``registry`` (and ``routes``) on ``host:port`` (0: any port)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str,
        port: int,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self._registry = registry
        self._host = host
        self._port = port
        self._routes = dict(routes or {})
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port it listens on (after :meth:`start`)."""
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen.

        Raises:
            OSError: the address cannot be bound.
        """
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, limit=HEAD_LIMIT
        )

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    def _answer(self, method: str, path: str) -> tuple[int, bytes, str]:
        if method not in ("GET", "HEAD"):
            return 405, b"method not allowed\n", "text/plain; charset=utf-8"
        if path == METRICS_PATH:
            return 200, exposition(self._registry), CONTENT_TYPE_LATEST
        route = self._routes.get(path)
        if route is None:
            return 404, b"not found\n", "text/plain; charset=utf-8"
        return route()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = head.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            status, body, ctype = self._answer(method, path)
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "")
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        except Exception:
            log.exception("metrics request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
