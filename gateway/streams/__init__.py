"""The gateway's WebSockets: ``/ws/`` (vnpy_webtrader) and ``/stream``, fed by one hub."""

from gateway.streams.plugin import StreamPlugin

__all__ = ["StreamPlugin"]
