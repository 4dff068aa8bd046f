"""nats-webtrader's Python client: REST and the ``/stream`` WebSocket, typed with ``schemas``.

::

    async with WebTrader("http://127.0.0.1:8000", engine="sim") as wt:
        await wt.login("vnpy", "vnpy")
        async with wt.stream() as stream:
            stream.subscribe("order.>", engine="sim")
            order = await wt.submit_order(OrderRequest(...))
            async for event in stream:          # Event: engine, kind, seq, data (OrderData)
                ...

It ships in the ``nats-webtrader`` wheel beside :mod:`schemas` (the shared types it decodes
into) and needs the ``client`` extra (httpx, websockets). See docs/python-client.md.
"""

from webtrader_client.backoff import Backoff
from webtrader_client.client import WebTrader, new_client_order_id
from webtrader_client.errors import (
    ApiError,
    BadReplyError,
    BadRequestError,
    ClientError,
    ConflictError,
    ConnectionFailedError,
    ConnectionLostError,
    ForbiddenError,
    GatewayTimeoutError,
    GoneError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    ServerError,
    SessionExpiredError,
    TooManyRequestsError,
    UnauthorizedError,
    UnavailableError,
    UnprocessableError,
)
from webtrader_client.frames import Event
from webtrader_client.models import (
    ACCOUNTS,
    CONTRACTS,
    ORDERS,
    POSITIONS,
    TICKS,
    TRADES,
    EngineStatus,
    Resource,
    Snapshot,
)
from webtrader_client.stream import Stream
from webtrader_client.subscription import Notice, Subscription

__all__ = [
    "ACCOUNTS",
    "CONTRACTS",
    "ORDERS",
    "POSITIONS",
    "TICKS",
    "TRADES",
    "ApiError",
    "Backoff",
    "BadReplyError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "ConnectionLostError",
    "EngineStatus",
    "Event",
    "ForbiddenError",
    "GatewayTimeoutError",
    "GoneError",
    "NotFoundError",
    "NotSupportedError",
    "Notice",
    "PayloadTooLargeError",
    "Resource",
    "ServerError",
    "SessionExpiredError",
    "Snapshot",
    "Stream",
    "Subscription",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnavailableError",
    "UnprocessableError",
    "WebTrader",
    "new_client_order_id",
]
