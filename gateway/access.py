"""Who may do what: roles, the principal a verified token speaks for, and the checks.

Roles are ordered: ``viewer`` reads and subscribes; ``trader`` also submits and cancels;
``admin`` may do everything (today: what a trader may, on every engine, plus user-facing
admin routes when they exist).  A principal's ``engines`` is the set of engine ids it may
use; ``*`` in it means every engine.  Every route and WebSocket subscription asks
:meth:`Principal.may_use` / :meth:`Principal.may_trade`; a refusal is 403 (WebSocket: an
error frame), never a silent empty answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ALL_ENGINES = "*"
"""Member of ``Principal.engines`` granting every engine."""


class Role(StrEnum):
    """A user's role; on the wire and in the users file by value."""

    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"

    @property
    def may_trade(self) -> bool:
        """Submit and cancel orders."""
        return self in (Role.TRADER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token speaks for."""

    username: str
    role: Role
    engines: frozenset[str]
    """Engine ids this principal may use (``ALL_ENGINES`` in it: every engine)."""
    expires_at: float
    """Unix time the token expires."""
    token_id: str = ""
    """The token's ``jti``."""

    def may_use(self, engine_id: str) -> bool:
        """True if this principal may read from (and, per role, trade on) ``engine_id``."""
        return ALL_ENGINES in self.engines or engine_id in self.engines

    def may_trade(self, engine_id: str) -> bool:
        """True if this principal may submit and cancel orders on ``engine_id``."""
        return self.role.may_trade and self.may_use(engine_id)
