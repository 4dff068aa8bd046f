"""The engine directory: which engines exist, who they are, and whether they are up.

Sources: heartbeats on ``wt.*.evt.heartbeat``, a ``$SRV.INFO.webtrader-engine`` discovery
at start, a live ``info`` probe when a request names an engine not seen yet, and the
outcome of every request (:mod:`gateway.engine_client` reports them here).

An engine is *up* while it was heard from (heartbeat or successful reply) within
``HEARTBEAT_TOLERANCE`` seconds and no request since met "no responders"; otherwise *down*.
The default engine is always known, even before it is first heard from.  Every known engine
is probed (``info``, short timeout) every ``PROBE_INTERVAL`` seconds, so a bridge that died
is *down* within that time (NATS answers "no responders" at once).  Listeners
(:meth:`EngineDirectory.add_listener`) hear every transition: ``(engine_id, status, reason)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gateway.errors import EngineNotFoundError
from schemas.codec import decode
from schemas.errors import ERROR_CODE_HEADER, BadRequestError
from schemas.messages import HEARTBEAT_TOLERANCE, SERVICE_NAME, EngineInfo, Heartbeat
from schemas.subjects import (
    Op,
    check_engine_id,
    events_pattern,
    parse_event_subject,
    request_subject,
)

log = logging.getLogger("gateway.engines")

DISCOVERY_WINDOW = 0.25
"""Seconds to gather ``$SRV.INFO`` replies at start."""
PROBE_TIMEOUT = 2.0
"""Most seconds an ``info`` probe of an unseen engine may take (capped by request_timeout)."""
QUEUE_LIMIT = 1024
"""Most heartbeats or discovery replies waiting to be handled (NATS drops the excess)."""
PROBE_INTERVAL = 2.0
"""Seconds between liveness probes of every known engine."""
LIVENESS_TIMEOUT = 1.0
"""Most seconds a liveness probe waits (a timeout changes nothing; no responders: down)."""

Status = Literal["up", "down"]
StatusListener = Callable[[str, Status, str], None]
"""``(engine_id, status, reason)`` on every transition; must not block or raise."""


class EngineStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /engines`` says about one engine."""

    engine_id: str
    status: Status
    last_heartbeat: datetime | None = None
    """Engine time of the last heartbeat received by this gateway."""
    engine: str | None = None
    """Kind of engine behind the bridge (``sim``, ``vnpy``)."""
    version: str | None = None
    gateway_name: str | None = None
    contracts: int = 0
    exchanges: list[str] = msgspec.field(default_factory=list)
    started: datetime | None = None


@dataclass
class _Entry:
    info: EngineInfo | None = None
    last_heartbeat: datetime | None = None
    last_seen: float | None = None  # monotonic; heartbeat or successful reply
    unreachable: bool = False  # a request met "no responders" since last seen
    reported: Status | None = None  # last status told to listeners

    def is_up(self, now: float) -> bool:
        if self.unreachable or self.last_seen is None:
            return False
        return now - self.last_seen <= HEARTBEAT_TOLERANCE


class _ServiceInfo(msgspec.Struct):
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class EngineDirectory:
    """Known engines and their liveness; ``resolve`` turns a path id into a known engine."""

    def __init__(
        self, nc: Client, default_engine: str, probe_timeout: float = PROBE_TIMEOUT
    ) -> None:
        self._nc = nc
        self.default_engine = default_engine
        self._probe_timeout = min(probe_timeout, PROBE_TIMEOUT)
        self._entries: dict[str, _Entry] = {default_engine: _Entry()}
        self._sub: Subscription | None = None
        self._listeners: list[StatusListener] = []
        self._prober: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe to heartbeats, discover running bridges, start probing."""
        self._sub = await self._nc.subscribe(
            events_pattern("*", "heartbeat"), cb=self._on_heartbeat, pending_msgs_limit=QUEUE_LIMIT
        )
        await self.discover()
        self._prober = asyncio.ensure_future(self._probe_forever())

    async def stop(self) -> None:
        """Stop probing and listening (the connection itself is drained by its owner)."""
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def add_listener(self, listener: StatusListener) -> None:
        """Call ``listener(engine_id, status, reason)`` on every up/down transition."""
        self._listeners.append(listener)

    def remove_listener(self, listener: StatusListener) -> None:
        """Stop calling ``listener``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def known(self) -> dict[str, Status]:
        """Every known engine and its status now."""
        now = time.monotonic()
        return {e: "up" if entry.is_up(now) else "down" for e, entry in self._entries.items()}

    async def _probe_forever(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            if not self._nc.is_connected:
                continue
            engines = list(self._entries)
            try:
                await asyncio.gather(*(self.probe(e, LIVENESS_TIMEOUT) for e in engines))
            except Exception:  # keep probing whatever one round met
                log.exception("engine probe round failed")
            for engine_id in engines:
                self._report(engine_id, f"not heard from in {HEARTBEAT_TOLERANCE:g} s")

    def _report(self, engine_id: str, reason: str) -> None:
        """Tell listeners if the engine's status changed (first sight: only if up)."""
        entry = self._entries.get(engine_id)
        if entry is None:
            return
        status: Status = "up" if entry.is_up(time.monotonic()) else "down"
        if status == entry.reported:
            return
        first = entry.reported is None
        entry.reported = status
        if first and status == "down":
            return
        log.info("engine %s %s (%s)", engine_id, status, reason)
        for listener in list(self._listeners):
            try:
                listener(engine_id, status, reason)
            except Exception:
                log.exception("engine status listener failed")

    async def discover(self) -> None:
        """Ask every ``webtrader-engine`` service who it is; fetch each one's EngineInfo."""
        inbox = self._nc.new_inbox()
        found: set[str] = set()

        async def on_reply(msg: Msg) -> None:
            try:
                meta = msgspec.json.decode(msg.data, type=_ServiceInfo).metadata
                found.add(check_engine_id(meta.get("engine_id", "")))
            except (msgspec.DecodeError, ValueError):
                log.warning("ignoring a malformed $SRV.INFO reply")

        sub = await self._nc.subscribe(inbox, cb=on_reply, pending_msgs_limit=QUEUE_LIMIT)
        try:
            await self._nc.publish(f"$SRV.INFO.{SERVICE_NAME}", b"", reply=inbox)
            await asyncio.sleep(DISCOVERY_WINDOW)
        finally:
            await sub.unsubscribe()
        await asyncio.gather(*(self.probe(engine_id) for engine_id in sorted(found)))
        log.info("engines discovered: %s", ", ".join(sorted(found)) or "none")

    async def probe(self, engine_id: str, wait: float | None = None) -> bool:
        """Ask ``engine_id`` for its EngineInfo (``wait`` seconds at most); True if it answered."""
        try:
            msg = await self._nc.request(
                request_subject(engine_id, Op.INFO),
                b"",
                timeout=self._probe_timeout if wait is None else wait,
            )
        except nats.errors.NoRespondersError:
            self.mark_unreachable(engine_id)
            return False
        except nats.errors.Error:  # timeout, reconnecting, closed: not reachable now
            return False
        if msg.headers and msg.headers.get(ERROR_CODE_HEADER):
            return False
        try:
            info = decode(msg.data, EngineInfo)
        except BadRequestError:
            log.warning("engine %s sent a malformed EngineInfo", engine_id)
            return False
        entry = self._entries.setdefault(engine_id, _Entry())
        entry.info = info
        self.mark_up(engine_id, "answered a probe")
        return True

    async def resolve(self, engine_id: str) -> str:
        """``engine_id`` if valid and known (probing it once if never seen).

        Raises:
            EngineNotFoundError: not a valid engine id, or no such engine answers.
        """
        try:
            check_engine_id(engine_id)
        except ValueError as exc:
            raise EngineNotFoundError(str(exc), "engine_id") from None
        if engine_id in self._entries or await self.probe(engine_id):
            return engine_id
        raise EngineNotFoundError(f"unknown engine {engine_id!r}", "engine_id")

    def mark_up(self, engine_id: str, reason: str = "answered a request") -> None:
        """A successful reply from a known engine: it is up."""
        entry = self._entries.get(engine_id)
        if entry is not None:
            entry.last_seen = time.monotonic()
            entry.unreachable = False
            if entry.reported != "up":
                self._report(engine_id, reason)

    def mark_unreachable(self, engine_id: str) -> None:
        """A request met "no responders": the engine is down until heard from again."""
        entry = self._entries.get(engine_id)
        if entry is not None:
            entry.unreachable = True
            self._report(engine_id, "not running (no responders)")

    def status(self, engine_id: str) -> EngineStatus:
        """The status of a known engine.

        Raises:
            EngineNotFoundError: not known.
        """
        entry = self._entries.get(engine_id)
        if entry is None:
            raise EngineNotFoundError(f"unknown engine {engine_id!r}", "engine_id")
        info = entry.info
        return EngineStatus(
            engine_id=engine_id,
            status="up" if entry.is_up(time.monotonic()) else "down",
            last_heartbeat=entry.last_heartbeat,
            engine=info.engine if info else None,
            version=info.version if info else None,
            gateway_name=info.gateway_name if info else None,
            contracts=info.contracts if info else 0,
            exchanges=list(info.exchanges) if info else [],
            started=info.started if info else None,
        )

    def statuses(self) -> list[EngineStatus]:
        """Every known engine, by id."""
        return [self.status(engine_id) for engine_id in sorted(self._entries)]

    async def _on_heartbeat(self, msg: Msg) -> None:
        try:
            beat = decode(msg.data, Heartbeat)
            if parse_event_subject(msg.subject).engine_id != beat.engine_id:
                raise ValueError("engine id of subject and body differ")
        except (BadRequestError, ValueError):
            log.warning("ignoring a malformed heartbeat on %s", msg.subject)
            return
        entry = self._entries.setdefault(beat.engine_id, _Entry())
        entry.info = beat.info
        entry.last_heartbeat = beat.time
        self.mark_up(beat.engine_id, "heartbeat")
