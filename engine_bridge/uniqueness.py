"""One live bridge per engine id: a second one refuses to start instead of sharing subjects.

Two bridges with one engine id would both answer ``wt.{e}.req.*`` (a queue group picks one
at random per request) and both publish ``wt.{e}.evt.*``: orders placed on one would be
unknown to the other.  Before it serves anything a bridge asks ``wt.{e}.req.info``; an
``EngineInfo`` answer means another bridge serves that id, and this one must not start.

No responders, a bridge that is stopping (it answers ``503``) or no answer within the probe
timeout (a subscriber that is not a bridge, e.g. a monitor on ``wt.>``) let it start.  Two
bridges started within the same instant can both find nobody: the probe narrows the window,
it does not close it.
"""

from __future__ import annotations

import logging

import nats.errors
from nats.aio.client import Client as NatsClient

from schemas.codec import decode
from schemas.errors import ERROR_CODE_HEADER, BadRequestError
from schemas.messages import EngineInfo
from schemas.subjects import Op, request_subject

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
"""Seconds to wait for another bridge's ``info`` answer (no responders answer at once)."""


class DuplicateEngineError(Exception):
    """Another live bridge already serves this engine id; the message says which."""


async def ensure_unique(nc: NatsClient, engine_id: str, wait: float = PROBE_TIMEOUT) -> None:
    """Return if no live bridge serves ``engine_id``.

    Raises:
        DuplicateEngineError: a bridge answered ``info`` for ``engine_id``.
    """
    subject = request_subject(engine_id, Op.INFO)
    try:
        msg = await nc.request(subject, b"", timeout=wait)
    except nats.errors.NoRespondersError:
        return
    except nats.errors.TimeoutError:
        logger.warning("%s has a subscriber that does not answer (not a bridge?)", subject)
        return
    except nats.errors.Error as exc:  # reconnecting, closed: starting will wait for NATS
        logger.warning("could not check whether engine %s already runs: %r", engine_id, exc)
        return
    if (msg.headers or {}).get(ERROR_CODE_HEADER):
        return  # a bridge on its way out answers 503 to everything
    try:
        info = decode(msg.data, EngineInfo)
    except BadRequestError:
        logger.warning("%s answered something that is not an EngineInfo", subject)
        return
    started = info.started.isoformat() if info.started else "at an unknown time"
    raise DuplicateEngineError(
        f"engine id {engine_id!r} is already served by a live bridge "
        f"({info.engine} engine, version {info.version}, started {started}); stop that bridge "
        "or start this one with another --engine-id"
    )
