"""Wire enums: member names out, VeighNa's localized values accepted in."""

from __future__ import annotations

import msgspec
import pytest

from schemas import Direction, Exchange, Offset, OptionType, OrderType, Product, Status
from schemas.enums import VnEnum


@pytest.mark.parametrize(
    ("enum", "alias", "member"),
    [
        (Direction, "多", Direction.LONG),
        (Direction, "空", Direction.SHORT),
        (Direction, "Long", Direction.LONG),
        (Direction, "long", Direction.LONG),
        (Offset, "开", Offset.OPEN),
        (Offset, "平今", Offset.CLOSETODAY),
        (Offset, "Close Yesterday", Offset.CLOSEYESTERDAY),
        (Offset, "", Offset.NONE),
        (OrderType, "限价", OrderType.LIMIT),
        (OrderType, "市价", OrderType.MARKET),
        (OrderType, "Limit", OrderType.LIMIT),
        (Status, "未成交", Status.NOTTRADED),
        (Status, "Not traded", Status.NOTTRADED),
        (Status, "拒单", Status.REJECTED),
        (Product, "期货", Product.FUTURES),
        (Product, "股票", Product.EQUITY),
        (OptionType, "看涨期权", OptionType.CALL),
        (Exchange, "CBT", Exchange.CBOT),
        (Exchange, "shfe", Exchange.SHFE),
    ],
)
def test_localized_values_decode_to_members(enum: type[VnEnum], alias: str, member: VnEnum) -> None:
    assert msgspec.json.decode(msgspec.json.encode(alias), type=enum) is member


@pytest.mark.parametrize("member", [Direction.LONG, Status.NOTTRADED, Offset.NONE, OrderType.FAK])
def test_members_encode_by_name(member: VnEnum) -> None:
    assert msgspec.json.encode(member) == f'"{member.name}"'.encode()


def test_unknown_value_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value"):
        msgspec.json.decode(b'"sideways"', type=Direction)


def test_every_member_value_is_its_name() -> None:
    for enum in (Direction, Offset, Status, Product, OrderType, OptionType, Exchange):
        assert all(m.value == m.name for m in enum)


def test_vnpy_value_gives_veighna_original() -> None:
    assert Direction.LONG.vnpy_value == "多"
    assert Status.ALLTRADED.vnpy_value == "全部成交"
    assert Exchange.SHFE.vnpy_value == "SHFE"


def test_active_statuses() -> None:
    assert Status.PARTTRADED.is_active
    assert not Status.CANCELLED.is_active
