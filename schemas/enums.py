"""VeighNa's enums, on the wire by member name.

Every enum's value *is* its member name (``Direction.LONG.value == "LONG"``), so JSON
carries ``"LONG"``.  For compatibility with vnpy clients, decoding also accepts VeighNa's
localized values (Chinese ``"多"``, English ``"Long"``) and member names in any case;
these aliases are resolved in ``_missing_``, which msgspec consults on decode.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class VnEnum(StrEnum):
    """Base for wire enums: value equals member name; VeighNa aliases accepted on input."""

    __aliases__: dict[str, str]  # alias (casefolded) -> member name, filled per subclass

    @classmethod
    def _missing_(cls, value: Any) -> VnEnum | None:
        if not isinstance(value, str):
            return None
        name = _alias_table(cls).get(value.strip().casefold())
        return cls[name] if name is not None else None

    @property
    def vnpy_value(self) -> str:
        """The Chinese value VeighNa itself uses for this member."""
        return _VNPY_VALUES.get(type(self).__name__, {}).get(self.name, self.name)


_VNPY_VALUES: dict[str, dict[str, str]] = {
    "Direction": {"LONG": "多", "SHORT": "空", "NET": "净"},
    "Offset": {
        "NONE": "",
        "OPEN": "开",
        "CLOSE": "平",
        "CLOSETODAY": "平今",
        "CLOSEYESTERDAY": "平昨",
    },
    "Status": {
        "SUBMITTING": "提交中",
        "NOTTRADED": "未成交",
        "PARTTRADED": "部分成交",
        "ALLTRADED": "全部成交",
        "CANCELLED": "已撤销",
        "REJECTED": "拒单",
    },
    "Product": {
        "EQUITY": "股票",
        "FUTURES": "期货",
        "OPTION": "期权",
        "INDEX": "指数",
        "FOREX": "外汇",
        "SPOT": "现货",
        "ETF": "ETF",
        "BOND": "债券",
        "WARRANT": "权证",
        "SPREAD": "价差",
        "FUND": "基金",
        "CFD": "CFD",
        "SWAP": "互换",
    },
    "OrderType": {
        "LIMIT": "限价",
        "MARKET": "市价",
        "STOP": "STOP",
        "FAK": "FAK",
        "FOK": "FOK",
        "RFQ": "询价",
        "ETF": "ETF",
    },
    "OptionType": {"CALL": "看涨期权", "PUT": "看跌期权"},
    "Interval": {"MINUTE": "1m", "HOUR": "1h", "DAILY": "d", "WEEKLY": "w", "TICK": "tick"},
}

# VeighNa 4's English (i18n) values, where they differ from the member name.
_ENGLISH_VALUES: dict[str, dict[str, str]] = {
    "Offset": {"CLOSETODAY": "Close Today", "CLOSEYESTERDAY": "Close Yesterday"},
    "Status": {"NOTTRADED": "Not traded", "PARTTRADED": "Part traded", "ALLTRADED": "All traded"},
    "OptionType": {"CALL": "Call", "PUT": "Put"},
    "Product": {"EQUITY": "Stock"},
}

_TABLES: dict[type, dict[str, str]] = {}


def _alias_table(cls: type[VnEnum]) -> dict[str, str]:
    table = _TABLES.get(cls)
    if table is None:
        table = {}
        for member in cls:
            table[member.name.casefold()] = member.name
        for source in (_VNPY_VALUES, _ENGLISH_VALUES):
            for name, alias in source.get(cls.__name__, {}).items():
                table[alias.casefold()] = name
        _TABLES[cls] = table
    return table


class Direction(VnEnum):
    """Direction of an order, trade or position."""

    LONG = "LONG"
    SHORT = "SHORT"
    NET = "NET"


class Offset(VnEnum):
    """Offset of an order or trade (futures open/close)."""

    NONE = "NONE"
    OPEN = "OPEN"
    CLOSE = "CLOSE"
    CLOSETODAY = "CLOSETODAY"
    CLOSEYESTERDAY = "CLOSEYESTERDAY"


class Status(VnEnum):
    """Order status."""

    SUBMITTING = "SUBMITTING"
    NOTTRADED = "NOTTRADED"
    PARTTRADED = "PARTTRADED"
    ALLTRADED = "ALLTRADED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_active(self) -> bool:
        """True while the order can still trade or be cancelled."""
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({Status.SUBMITTING, Status.NOTTRADED, Status.PARTTRADED})


class Product(VnEnum):
    """Product class of a contract."""

    EQUITY = "EQUITY"
    FUTURES = "FUTURES"
    OPTION = "OPTION"
    INDEX = "INDEX"
    FOREX = "FOREX"
    SPOT = "SPOT"
    ETF = "ETF"
    BOND = "BOND"
    WARRANT = "WARRANT"
    SPREAD = "SPREAD"
    FUND = "FUND"
    CFD = "CFD"
    SWAP = "SWAP"


class OrderType(VnEnum):
    """Order type."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"
    FAK = "FAK"
    FOK = "FOK"
    RFQ = "RFQ"
    ETF = "ETF"


class OptionType(VnEnum):
    """Option type."""

    CALL = "CALL"
    PUT = "PUT"


class Interval(VnEnum):
    """Interval of a bar; VeighNa's values (``"1m"``, ``"1h"``, ``"d"``, ``"w"``) accepted."""

    MINUTE = "MINUTE"
    HOUR = "HOUR"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    TICK = "TICK"


class Exchange(VnEnum):
    """Exchange; member names and VeighNa values coincide except CBOT/EUREX."""

    CFFEX = "CFFEX"
    SHFE = "SHFE"
    CZCE = "CZCE"
    DCE = "DCE"
    INE = "INE"
    GFEX = "GFEX"
    SSE = "SSE"
    SZSE = "SZSE"
    BSE = "BSE"
    SHHK = "SHHK"
    SZHK = "SZHK"
    SGE = "SGE"
    WXE = "WXE"
    CFETS = "CFETS"
    XBOND = "XBOND"
    SMART = "SMART"
    NYSE = "NYSE"
    NASDAQ = "NASDAQ"
    ARCA = "ARCA"
    EDGEA = "EDGEA"
    ISLAND = "ISLAND"
    BATS = "BATS"
    IEX = "IEX"
    AMEX = "AMEX"
    TSE = "TSE"
    NYMEX = "NYMEX"
    COMEX = "COMEX"
    GLOBEX = "GLOBEX"
    IDEALPRO = "IDEALPRO"
    CME = "CME"
    ICE = "ICE"
    SEHK = "SEHK"
    HKFE = "HKFE"
    SGX = "SGX"
    CBOT = "CBOT"
    CBOE = "CBOE"
    CFE = "CFE"
    DME = "DME"
    EUREX = "EUREX"
    APEX = "APEX"
    LME = "LME"
    BMD = "BMD"
    TOCOM = "TOCOM"
    EUNX = "EUNX"
    KRX = "KRX"
    OTC = "OTC"
    IBKRATS = "IBKRATS"
    GLOBAL = "GLOBAL"
    LOCAL = "LOCAL"


_VNPY_VALUES["Exchange"] = {"CBOT": "CBT", "EUREX": "EUX"}
