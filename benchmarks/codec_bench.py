"""msgspec (the project's codec) vs orjson + dataclasses, on the two hottest messages.

Run: ``python benchmarks/codec_bench.py``; it needs the ``bench`` extra
(``pip install -e '.[bench]'``), orjson being no dependency of the project itself.

For each of TickData and OrderData it times, per message:

* encode: ``schemas.codec.encode(struct)`` vs ``orjson.dumps(dataclass)``;
* typed decode: ``schemas.codec.decode(bytes, TickData)`` (parse + validate + build the
  frozen Struct, enums and aware datetimes included) vs ``orjson.loads`` followed by
  building the equivalent frozen dataclass by hand (enum lookups, ``fromisoformat``,
  nothing else validated — orjson has no typed decoding, so this flatters it);
* untyped decode: ``msgspec.json.decode(bytes)`` vs ``orjson.loads(bytes)`` to ``dict``.

Numbers are the best of several repeats (ns per message), and the ratio orjson / msgspec
(> 1: msgspec is faster).
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson

from schemas.codec import decode, encode
from schemas.enums import Direction, Exchange, Offset, OrderType, Status
from schemas.objects import OrderData, TickData

NOW = datetime(2025, 11, 26, 9, 30, 0, 500_000, tzinfo=UTC)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TickDC:
    """TickData as a plain frozen dataclass (same fields, same defaults)."""

    gateway_name: str = ""
    symbol: str
    exchange: Exchange
    datetime: datetime
    name: str = ""
    volume: float = 0.0
    turnover: float = 0.0
    open_interest: float = 0.0
    last_price: float = 0.0
    last_volume: float = 0.0
    limit_up: float = 0.0
    limit_down: float = 0.0
    open_price: float = 0.0
    high_price: float = 0.0
    low_price: float = 0.0
    pre_close: float = 0.0
    bid_price_1: float = 0.0
    bid_price_2: float = 0.0
    bid_price_3: float = 0.0
    bid_price_4: float = 0.0
    bid_price_5: float = 0.0
    ask_price_1: float = 0.0
    ask_price_2: float = 0.0
    ask_price_3: float = 0.0
    ask_price_4: float = 0.0
    ask_price_5: float = 0.0
    bid_volume_1: float = 0.0
    bid_volume_2: float = 0.0
    bid_volume_3: float = 0.0
    bid_volume_4: float = 0.0
    bid_volume_5: float = 0.0
    ask_volume_1: float = 0.0
    ask_volume_2: float = 0.0
    ask_volume_3: float = 0.0
    ask_volume_4: float = 0.0
    ask_volume_5: float = 0.0
    localtime: datetime | None = None
    vt_symbol: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OrderDC:
    """OrderData as a plain frozen dataclass."""

    gateway_name: str = ""
    symbol: str
    exchange: Exchange
    orderid: str
    type: OrderType = OrderType.LIMIT
    direction: Direction
    offset: Offset = Offset.NONE
    price: float = 0.0
    volume: float = 0.0
    traded: float = 0.0
    status: Status = Status.SUBMITTING
    datetime: datetime | None = None
    reference: str = ""
    reason: str = ""
    vt_symbol: str = ""
    vt_orderid: str = ""


def tick_from_dict(d: dict[str, Any]) -> TickDC:
    """Rebuild a TickDC from ``orjson.loads`` output: enums and datetimes by hand."""
    d["exchange"] = Exchange(d["exchange"])
    d["datetime"] = datetime.fromisoformat(d["datetime"])
    if d.get("localtime") is not None:
        d["localtime"] = datetime.fromisoformat(d["localtime"])
    return TickDC(**d)


def order_from_dict(d: dict[str, Any]) -> OrderDC:
    """Rebuild an OrderDC from ``orjson.loads`` output."""
    d["exchange"] = Exchange(d["exchange"])
    d["type"] = OrderType(d["type"])
    d["direction"] = Direction(d["direction"])
    d["offset"] = Offset(d["offset"])
    d["status"] = Status(d["status"])
    if d.get("datetime") is not None:
        d["datetime"] = datetime.fromisoformat(d["datetime"])
    return OrderDC(**d)


def sample_tick() -> TickData:
    prices = {f"{side}_price_{i}": 3650.0 + (i if side == "ask" else -i) for i in range(1, 6)
              for side in ("bid", "ask")}  # fmt: skip
    volumes = {f"{side}_volume_{i}": 10.0 * i for i in range(1, 6) for side in ("bid", "ask")}
    return TickData(
        gateway_name="SIM", symbol="rb2601", exchange=Exchange.SHFE, datetime=NOW,
        name="螺纹钢2601", volume=123456.0, turnover=4.5e9, open_interest=1.9e6,
        last_price=3650.0, last_volume=3.0, limit_up=3900.0, limit_down=3400.0,
        open_price=3620.0, high_price=3660.0, low_price=3610.0, pre_close=3630.0,
        localtime=NOW, **prices, **volumes,
    )  # fmt: skip


def sample_order() -> OrderData:
    return OrderData(
        gateway_name="SIM", symbol="rb2601", exchange=Exchange.SHFE, orderid="1024",
        type=OrderType.LIMIT, direction=Direction.LONG, offset=Offset.OPEN, price=3650.0,
        volume=5.0, traded=2.0, status=Status.PARTTRADED, datetime=NOW, reference="bench",
    )  # fmt: skip


def as_dataclass(obj: msgspec.Struct, cls: type[Any]) -> Any:
    return cls(**msgspec.structs.asdict(obj))


def best_ns(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Best time of ``repeat`` runs of ``number`` calls, in ns per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9


def bench(label: str, struct: Any, struct_type: Any, dc_type: Any, from_dict: Any) -> None:
    dc = as_dataclass(struct, dc_type)
    wire = encode(struct)
    owire = orjson.dumps(dc, option=orjson.OPT_UTC_Z)
    assert owire == wire, "both codecs must write the same JSON"
    assert decode(wire, struct_type) == struct
    assert from_dict(orjson.loads(wire)) == dc
    n = 20_000
    rows = [
        (
            "encode",
            best_ns(lambda: encode(struct), n),
            best_ns(lambda: orjson.dumps(dc, option=orjson.OPT_UTC_Z), n),
        ),
        (
            "typed decode",
            best_ns(lambda: decode(wire, struct_type), n),
            best_ns(lambda: from_dict(orjson.loads(wire)), n),
        ),
        (
            "untyped decode",
            best_ns(lambda: msgspec.json.decode(wire), n),
            best_ns(lambda: orjson.loads(wire), n),
        ),
    ]
    print(f"\n{label} ({len(wire)} bytes)")
    print(f"  {'operation':<16}{'msgspec ns':>12}{'orjson ns':>12}{'orjson/msgspec':>16}")
    for op, ms, oj in rows:
        print(f"  {op:<16}{ms:>12.0f}{oj:>12.0f}{oj / ms:>16.2f}")


def main() -> None:
    print(
        f"Python {platform.python_version()} on {platform.machine()}, msgspec "
        f"{msgspec.__version__}, orjson {orjson.__version__}"
    )
    bench("TickData", sample_tick(), TickData, TickDC, tick_from_dict)
    bench("OrderData", sample_order(), OrderData, OrderDC, order_from_dict)


if __name__ == "__main__":
    sys.exit(main())
