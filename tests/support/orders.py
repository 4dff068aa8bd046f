"""Order bodies the simulated exchange treats predictably (docs/sim-engine.md)."""

from __future__ import annotations

RESTING = {
    "symbol": "rb2601",
    "exchange": "SHFE",
    "direction": "LONG",
    "type": "LIMIT",
    "offset": "OPEN",
    "volume": 1,
    "price": 3255,
}
"""A one-lot open buy of rb2601.SHFE at ``limit_down``: it always rests."""

FILLING = {**RESTING, "price": 3745}
"""The same buy at ``limit_up``: it always fills at once, opening a LONG position."""
