"""Helpers of the fault tests: REST and /stream clients, polling, the events stream as
JetStream holds it, process memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamInfo
from nats.js.errors import NotFoundError
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from schemas.streams import events_stream
from schemas.subjects import events_pattern
from tests.support.orders import RESTING
from tests.support.processes import Gateway
from tests.support.ws import login, open_ws, ws_url

T = TypeVar("T")

WAIT = 20.0
"""Seconds a test polls for a state it expects (a guard against hanging, not a measurement)."""

DURABLE_TOPICS = ("order.>", "trade.>", "position.>", "account.>")
"""/stream topics of every durable kind (each one a JetStream-backed subscription)."""


@asynccontextmanager
async def rest_client(gateway: Gateway, timeout: float = 20.0) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated HTTP client of ``gateway`` (demo login)."""
    token = await login(gateway)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, timeout=timeout) as c:
        yield c


async def poll(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    what: str,
    timeout: float = WAIT,
    interval: float = 0.05,
) -> T:
    """Call ``probe`` until ``until(result)``; return that result (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        last = await probe()
        if until(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)


async def status_of(http: httpx.AsyncClient, path: str) -> int:
    """The HTTP status of ``GET path`` (a transport error counts as 0)."""
    try:
        return (await http.get(path)).status_code
    except httpx.TransportError:
        return 0


def body(r: httpx.Response) -> Any:
    """The JSON body of a response."""
    return r.json()


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB, from ``/proc/PID/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for {pid}")


# --- the events stream as JetStream holds it ---------------------------------------------


async def stream_info(nc: NatsClient, engine_id: str) -> StreamInfo:
    """The engine's events stream info (AssertionError when the bridge made none)."""
    name = events_stream(engine_id)
    try:
        return await nc.jetstream().stream_info(name)
    except NotFoundError:
        raise AssertionError(f"no JetStream stream {name}: events are not durable") from None


async def stream_events(nc: NatsClient, engine_id: str) -> dict[int, tuple[str, bytes]]:
    """Every message of ``WT_{engine}_EVENTS``: ``{seq: (subject, payload)}``."""
    js = nc.jetstream()
    name = events_stream(engine_id)
    info = await stream_info(nc, engine_id)
    out: dict[int, tuple[str, bytes]] = {}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(name, seq)
        except NotFoundError:
            continue  # deleted / purged
        out[seq] = (str(msg.subject), bytes(msg.data or b""))
    return out


async def stream_msg_ids(nc: NatsClient, engine_id: str) -> list[str]:
    """The ``Nats-Msg-Id`` of every message of the engine's events stream, in order."""
    js = nc.jetstream()
    name = events_stream(engine_id)
    info = await stream_info(nc, engine_id)
    ids: list[str] = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        with contextlib.suppress(NotFoundError):
            msg = await js.get_msg(name, seq)
            ids.append(str((msg.headers or {}).get("Nats-Msg-Id", "")))
    return ids


# --- /stream client --------------------------------------------------------------------


class StreamClient:
    """A ``/stream`` connection read in the background: every frame is kept in order.

    Answers heartbeats with a ping (so idle timeouts never end it) and records how it closed.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self._new = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.frames.append(frame)
                self._new.set()
                if frame.get("type") == "heartbeat":
                    with contextlib.suppress(ConnectionClosed):
                        await self.ws.send(json.dumps({"op": "ping"}))
        except ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason or ""
            else:
                self.close_code = -1
            self._new.set()

    @property
    def closed(self) -> bool:
        """True once the connection ended (see :attr:`close_code`)."""
        return self._reader.done()

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = WAIT
    ) -> dict[str, Any]:
        """The first frame (already seen or to come) satisfying ``predicate``."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for frame in self.frames[checked:]:
                if predicate(frame):
                    return frame
            checked = len(self.frames)
            if self.closed:
                raise AssertionError(f"stream closed ({self.close_code}) before {what}")
            left = deadline - time.monotonic()
            if left <= 0:
                tail = [_brief(f) for f in self.frames[-5:]]
                raise AssertionError(f"timed out waiting for {what}; last frames: {tail}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), min(left, 1.0))

    async def wait_closed(self, timeout: float = WAIT) -> None:
        """Until the connection has ended (see :attr:`close_code`)."""
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    async def request(self, rid: str, **op: Any) -> dict[str, Any]:
        """Send an op with id ``rid``; return its ack/error/pong."""
        await self.ws.send(json.dumps({"id": rid, **op}))
        return await self.wait_for(
            lambda f: f.get("id") == rid and f.get("type") in ("ack", "error", "pong"),
            f"reply to {rid}",
        )

    async def subscribe(self, rid: str, **fields: Any) -> dict[str, Any]:
        """Subscribe; fail the test on an error reply."""
        reply = await self.request(rid, op="subscribe", **fields)
        assert reply["type"] == "ack", reply
        return reply

    async def subscribe_durable(self, engine_id: str, **extra: Any) -> list[str]:
        """Subscribe to every durable kind of ``engine_id``; return the ``sub`` ids."""
        subs = []
        for n, topic in enumerate(DURABLE_TOPICS):
            ack = await self.subscribe(f"d{n}", engine=engine_id, topic=topic, **extra)
            subs.append(str(ack["sub"]))
        return subs

    def events(self) -> list[dict[str, Any]]:
        """Every event received so far, in order."""
        return [e for f in self.frames if f.get("type") == "events" for e in f["events"]]

    def seq_events(self) -> dict[int, list[dict[str, Any]]]:
        """Events that carry a stream ``seq``, grouped by it (a dup shows as 2+ entries)."""
        out: dict[int, list[dict[str, Any]]] = {}
        for e in self.events():
            if "seq" in e:
                out.setdefault(int(e["seq"]), []).append(e)
        return out

    def last_seq(self) -> int:
        """The highest stream ``seq`` received so far (0 for none)."""
        return max(self.seq_events(), default=0)

    async def wait_seq(self, seq: int, what: str, timeout: float = WAIT) -> None:
        """Until an event with stream ``seq`` >= ``seq`` has arrived."""
        await self.wait_for(lambda _: self.last_seq() >= seq, what, timeout)

    def typed(self, kind: str) -> list[dict[str, Any]]:
        """Frames of ``type`` ``kind`` (``engine``, ``nats``, ...)."""
        return [f for f in self.frames if f.get("type") == kind]

    async def close(self) -> None:
        """Close the connection and stop reading."""
        with contextlib.suppress(ConnectionClosed, OSError):
            await asyncio.wait_for(self.ws.close(), 10)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _brief(frame: dict[str, Any]) -> str:
    """A frame shortened for a failure message."""
    if frame.get("type") == "events":
        events = frame["events"]
        return (
            f"events x{len(events)} (first {events[0].get('subject')}, seq {events[0].get('seq')})"
        )
    return json.dumps(frame)[:200]


@asynccontextmanager
async def stream_client(gateway: Gateway, **kwargs: Any) -> AsyncIterator[StreamClient]:
    """A logged-in ``/stream`` connection whose welcome frame has arrived."""
    token = await login(gateway)
    async with open_ws(ws_url(gateway, "/stream", token), **kwargs) as ws:
        client = StreamClient(ws)
        try:
            await client.wait_for(lambda f: f.get("type") == "welcome", "welcome")
            yield client
        finally:
            await client.close()


def assert_no_gap_no_dup(
    got: dict[int, list[dict[str, Any]]],
    stream: dict[int, tuple[str, bytes]],
    after: int = 0,
    kind: str | None = None,
) -> None:
    """The client saw every stream message after ``after`` exactly once, as stored.

    ``kind`` (``order``...) limits the check to the messages of that kind.
    """
    if kind is not None:
        stream = {seq: m for seq, m in stream.items() if f".evt.{kind}." in m[0]}
    top = max(stream, default=0)  # the stream may have grown since it was read
    expected = {seq for seq in stream if seq > after}
    seen = {seq for seq in got if after < seq <= top}
    missing = sorted(expected - seen)
    extra = sorted(seen - expected)
    assert not missing, f"events missing (gap): seqs {missing[:20]}"
    assert not extra, f"seqs not in the stream: {extra[:20]}"
    dups = {seq: len(es) for seq, es in got.items() if after < seq <= top and len(es) > 1}
    assert not dups, f"events delivered twice: {dups}"
    for seq in sorted(expected):
        subject, payload = stream[seq]
        (event,) = got[seq]
        assert event["subject"] == subject, (seq, event["subject"], subject)
        assert event["data"] == json.loads(payload), seq


def order_ids(orders: Iterable[dict[str, Any]]) -> list[str]:
    """``vt_orderid`` of each order."""
    return [str(o["vt_orderid"]) for o in orders]


# --- orders flowing through a gateway -----------------------------------------------------


class OrderFlow:
    """Places resting orders one after another through a gateway, each with its own
    ``client_order_id``, retrying each (same id) until the engine answers.

    ``acked`` maps every id answered to its ``vt_orderid``; ``answers`` holds
    ``(monotonic time, id)`` of each answer and ``refusals`` ``(time, status)`` of each
    failed attempt (0 = transport error), for measurements.
    """

    def __init__(self, http: httpx.AsyncClient, engine_id: str, prefix: str = "flow") -> None:
        self.http = http
        self.path = f"/engines/{engine_id}/order"
        self.prefix = prefix
        self.acked: dict[str, str] = {}
        self.answers: list[tuple[float, str]] = []
        self.refusals: list[tuple[float, int]] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()

    async def __aenter__(self) -> OrderFlow:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Finish the order in progress (until answered) and stop."""
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 2 * WAIT)

    async def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            cid = f"{self.prefix}-{n}"
            n += 1
            self.acked[cid] = await self._place(cid)
            self.answers.append((time.monotonic(), cid))
            self._progress.set()

    async def _place(self, cid: str) -> str:
        deadline = time.monotonic() + 2 * WAIT
        while True:
            try:
                r = await self.http.post(self.path, json={**RESTING, "client_order_id": cid})
            except httpx.TransportError:
                status, text = 0, "transport error"
            else:
                if r.status_code in (200, 201):
                    return str(r.json()["vt_orderid"])
                status, text = r.status_code, r.text
            assert status in (0, 502, 503, 504), text
            self.refusals.append((time.monotonic(), status))
            assert time.monotonic() < deadline, f"order {cid} never answered"
            await asyncio.sleep(0.05)

    async def wait_acked(self, count: int, timeout: float = WAIT) -> None:
        """Until ``count`` orders in all have been answered."""
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert self._task is not None
            if self._task.done():
                self._task.result()  # raise what stopped it
            left = deadline - time.monotonic()
            assert left > 0, f"orders stopped flowing at {len(self.acked)}"
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), min(left, 1.0))


CUT_OFF = 50
"""Orders in flight when a process on their way is killed."""


async def post_order(http: httpx.AsyncClient, path: str, cid: str) -> str | None:
    """POST an order with ``client_order_id`` ``cid``; its vt_orderid, or None if cut off."""
    try:
        r = await http.post(path, json={**RESTING, "client_order_id": cid})
    except httpx.TransportError:
        return None
    if r.status_code in (200, 201):
        return str(r.json()["vt_orderid"])
    assert r.status_code in (502, 503, 504), r.text
    return None


async def first_order_event(nc: NatsClient, engine_id: str) -> asyncio.Future[None]:
    """A future done once the engine published its first order event."""
    seen: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def on_order(_: object) -> None:
        if not seen.done():
            seen.set_result(None)

    await nc.subscribe(events_pattern(engine_id, "order.>"), cb=on_order)
    await nc.flush()
    return seen
