"""The contract shared by engine bridges, the gateway and any NATS client.

Message types (VeighNa's object model), enums (on the wire by member name), the NATS
subject grammar, the JSON codec and the error vocabulary.  Nothing here does I/O.
"""

from schemas.enums import (
    ACTIVE_STATUSES,
    Direction,
    Exchange,
    Offset,
    OptionType,
    OrderType,
    Product,
    Status,
)
from schemas.errors import (
    BadRequestError,
    EngineError,
    ErrorBody,
    NotFoundError,
    UnprocessableError,
    WebTraderError,
)
from schemas.messages import EngineInfo, Heartbeat
from schemas.objects import (
    AccountData,
    ContractData,
    LogData,
    OrderData,
    PositionData,
    TickData,
    TradeData,
)
from schemas.requests import (
    CancelAllRequest,
    CancelRequest,
    OrderLookup,
    OrderRequest,
    Query,
    SubscribeRequest,
)
from schemas.subjects import EventKind, Op

__all__ = [
    "ACTIVE_STATUSES",
    "AccountData",
    "BadRequestError",
    "CancelAllRequest",
    "CancelRequest",
    "ContractData",
    "Direction",
    "EngineError",
    "EngineInfo",
    "ErrorBody",
    "EventKind",
    "Exchange",
    "Heartbeat",
    "LogData",
    "NotFoundError",
    "Offset",
    "Op",
    "OptionType",
    "OrderData",
    "OrderLookup",
    "OrderRequest",
    "OrderType",
    "PositionData",
    "Product",
    "Query",
    "Status",
    "SubscribeRequest",
    "TickData",
    "TradeData",
    "UnprocessableError",
    "WebTraderError",
]
