"""Which engines a ``/stream`` subscription may deliver from, given who asks.

A subscription to one engine needs :meth:`~gateway.access.Principal.may_use` of it.  A
subscription to ``"*"`` covers every engine for a principal holding ``"*"`` (the shared
``wt.*.evt.…`` hub patterns, no per-message cost) and exactly the principal's engines
otherwise: its core patterns are expanded to one per engine (:func:`routing.for_engines`)
and its durable feeds are opened for those engines only, so events of other engines are
never even subscribed to.  Refusals are ``error`` frames with code 403.
"""

from __future__ import annotations

from gateway.access import ALL_ENGINES, Principal
from gateway.streams.protocol import FORBIDDEN, ProtocolError, SubscribeOp

Coverage = frozenset[str] | None
"""Engines a subscription delivers from; None: every engine, including future ones."""


def forbidden(principal: Principal, engine: str) -> str:
    """The detail of a refusal to use ``engine``."""
    return f"user {principal.username!r} may not use engine {engine!r}"


def coverage(principal: Principal, op: SubscribeOp, engine: str) -> Coverage:
    """The engines a subscription of ``principal`` to ``engine`` (an id or ``"*"``) covers.

    Raises:
        ProtocolError: 403 if ``engine`` or an engine named in ``resume_from`` is not one
            the principal may use, or ``"*"`` for a principal without any engine.
    """
    rid = op.id
    if engine != ALL_ENGINES:
        if not principal.may_use(engine):
            raise ProtocolError(rid, forbidden(principal, engine), "engine", FORBIDDEN)
        return frozenset((engine,))
    if isinstance(op.resume_from, dict):
        for named in op.resume_from:
            if not principal.may_use(named):
                raise ProtocolError(rid, forbidden(principal, named), "resume_from", FORBIDDEN)
    if ALL_ENGINES in principal.engines:
        return None
    if not principal.engines:
        detail = f"user {principal.username!r} may not use any engine"
        raise ProtocolError(rid, detail, "engine", FORBIDDEN)
    return principal.engines


def still_allowed(covered: Coverage, principal: Principal) -> bool:
    """True if ``principal`` may still use everything a subscription covers."""
    if covered is None:
        return ALL_ENGINES in principal.engines
    return all(principal.may_use(engine) for engine in covered)
