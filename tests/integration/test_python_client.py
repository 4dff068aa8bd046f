"""The Python client (``webtrader_client``) against real gateways, bridges and nats-server.

REST answers decode into ``schemas`` objects, errors into the client's exception classes, and
the stream follows orders across a gateway restart (resume by ``seq``) and across a lost
events stream (410 -> resync over REST).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import nats
import pytest

from schemas.enums import Direction, Exchange, Offset, OrderType, Status
from schemas.objects import OrderData
from schemas.requests import OrderRequest
from tests.support.processes import Bridge, Gateway, NatsServer
from tests.support.users import add_user, new_secret, running_secure_gateway
from webtrader_client import (
    ORDERS,
    Backoff,
    BadRequestError,
    ConflictError,
    Event,
    ForbiddenError,
    NotFoundError,
    Notice,
    PayloadTooLargeError,
    SessionExpiredError,
    Stream,
    TooManyRequestsError,
    UnauthorizedError,
    UnavailableError,
    UnprocessableError,
    WebTrader,
)

WAIT = 20.0
"""Seconds a test waits for what it expects (a guard against hanging, not a measurement)."""
FAST = Backoff(initial=0.2, max=1.0)
"""Reconnect quickly: the tests restart gateways."""


def order(price: float, **extra: object) -> OrderRequest:
    """rb2601: a buy at 3255 (limit_down) rests, at 3745 (limit_up) fills (sim-engine.md)."""
    return OrderRequest(
        symbol="rb2601",
        exchange=Exchange.SHFE,
        direction=Direction.LONG,
        type=OrderType.LIMIT,
        offset=Offset.OPEN,
        volume=1,
        price=price,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def wt(gateway: Gateway) -> AsyncIterator[WebTrader]:
    """A client logged in to the session's demo gateway."""
    async with WebTrader(gateway.url, backoff=FAST) as client:
        await client.login("vnpy", "vnpy")
        yield client


@pytest.fixture(scope="module")
def keyed_gateway(nats_server: NatsServer, sim_bridge: Bridge) -> Iterator[Gateway]:
    """A demo gateway of this module with a fixed signing key, so a restart (same port)
    accepts the tokens of its previous run, as a real deployment does."""
    gw = Gateway(
        nats_server.url, "sim", "--demo", env={"WEBTRADER_JWT_SECRET": secrets.token_urlsafe(48)}
    )
    gw.start_gateway()
    yield gw
    gw.stop()


class Recorder:
    """Collects a stream's events and notices; waits for conditions on them."""

    def __init__(self, stream: Stream) -> None:
        self.events: list[Event] = []
        self.notices: list[Notice] = []
        stream.on_notice(self.notices.append)

    async def event(self, event: Event) -> None:
        self.events.append(event)

    @staticmethod
    async def until(predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (checked every 50 ms, at most WAIT s)."""
        async with asyncio.timeout(WAIT):
            while not predicate():
                await asyncio.sleep(0.05)

    def orders(self) -> dict[str, OrderData]:
        """The last state of each order seen."""
        return {e.data.vt_orderid: e.data for e in self.events if isinstance(e.data, OrderData)}

    def kinds(self, kind: str) -> list[Notice]:
        return [n for n in self.notices if n.kind == kind]


# --- REST -------------------------------------------------------------------------------


async def test_login_by_form_and_by_json_and_refresh_give_working_tokens(gateway: Gateway) -> None:
    async with WebTrader(gateway.url) as wt:
        await wt.login("vnpy", "vnpy")
        first = wt.session.access_token
        await wt.login("vnpy", "vnpy", as_json=True)
        assert wt.session.tokens is not None
        assert wt.session.tokens.refresh_token
        refreshed = await wt.refresh()
        assert refreshed not in (first, None)
        engines = await wt.engines()
        assert "sim" in {e.engine_id for e in engines}
        assert {e.status for e in engines} <= {"up", "down"}
        wt.logout()
        with pytest.raises(UnauthorizedError):
            await wt.engines()


async def test_wrong_login_is_unauthorized_with_the_servers_detail(gateway: Gateway) -> None:
    async with WebTrader(gateway.url) as wt:
        with pytest.raises(UnauthorizedError) as caught:
            await wt.login("vnpy", "not-the-password")
        assert caught.value.status == 401
        assert caught.value.detail


async def test_state_queries_decode_into_schema_objects_with_their_stream_seq(
    wt: WebTrader, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    contracts = await wt.contracts(engine)
    assert "rb2601.SHFE" in {c.vt_symbol for c in contracts}
    assert await wt.subscribe("rb2601.SHFE", engine) == "rb2601.SHFE"
    ticks = await wt.ticks(engine, vt_symbol="rb2601.SHFE")
    assert [t.vt_symbol for t in ticks] == ["rb2601.SHFE"]
    assert ticks[0].datetime.tzinfo is not None
    snapshot = await wt.query(ORDERS, engine)
    assert snapshot.data == []
    assert isinstance(snapshot.seq, int)
    assert [a.accountid for a in await wt.accounts(engine)]


async def test_submit_is_idempotent_by_client_order_id_then_cancel_and_cancel_all(
    wt: WebTrader, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    request = order(3255, client_order_id="py-test-" + secrets.token_hex(4))
    placed = await wt.submit_order(request, engine)
    assert (placed.status, placed.client_order_id) == (Status.NOTTRADED, request.client_order_id)
    again = await wt.submit_order(request, engine)  # a retry: the same order, nothing new
    assert again.vt_orderid == placed.vt_orderid
    assert [o.vt_orderid for o in await wt.orders(engine)] == [placed.vt_orderid]

    generated = await wt.submit_order(order(3256), engine)  # the client adds an id
    assert generated.client_order_id.startswith("py-")

    cancelled = await wt.cancel_order(placed.vt_orderid, engine)
    assert cancelled.status is Status.CANCELLED
    with pytest.raises(ConflictError) as caught:
        await wt.cancel_order(placed.vt_orderid, engine)
    assert caught.value.status == 409
    rest = await wt.cancel_all(engine)
    assert [(o.vt_orderid, o.status) for o in rest] == [(generated.vt_orderid, Status.CANCELLED)]
    assert await wt.orders(engine, active=True) == []


async def test_filled_order_shows_in_trades_and_positions(
    wt: WebTrader, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    filled = await wt.submit_order(order(3745), engine)
    assert filled.status is Status.ALLTRADED
    trades = await wt.trades(engine)
    assert [t.vt_orderid for t in trades] == [filled.vt_orderid]
    positions = {(p.vt_symbol, p.direction): p.volume for p in await wt.positions(engine)}
    assert positions[("rb2601.SHFE", Direction.LONG)] == 1


async def test_default_engine_routes_submit_and_cancel(gateway: Gateway) -> None:
    async with WebTrader(gateway.url) as wt:  # no engine: vnpy_webtrader's routes (sim)
        await wt.login("vnpy", "vnpy")
        placed = await wt.submit_order(order(3255))
        assert placed.vt_orderid.startswith("SIM.")
        assert (await wt.order(placed.vt_orderid)).status is Status.NOTTRADED
        assert (await wt.cancel_order(placed.vt_orderid)).status is Status.CANCELLED


async def test_error_answers_map_to_exception_classes_with_detail_and_field(
    wt: WebTrader, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    with pytest.raises(UnprocessableError) as off_grid:
        await wt.submit_order(order(3500.5), engine)
    assert (off_grid.value.status, off_grid.value.field) == (422, "price")
    assert "price" in off_grid.value.detail
    with pytest.raises(NotFoundError) as unknown:
        await wt.order("SIM.999999", engine)
    assert unknown.value.status == 404
    with pytest.raises(NotFoundError):
        await wt.positions("no-such-engine")
    with pytest.raises(BadRequestError) as bad:
        await wt.orders(engine, limit=0)
    assert bad.value.field == "limit"
    with pytest.raises(PayloadTooLargeError):
        await wt.submit_order(order(3255, reference="x" * 70_000), engine)


async def test_a_stopped_engine_is_unavailable(
    wt: WebTrader, bridge_factory: Callable[..., Bridge], engine_id: str
) -> None:
    bridge = await asyncio.to_thread(bridge_factory, engine_id)
    assert await wt.accounts(engine_id)
    await asyncio.to_thread(bridge.stop)
    with pytest.raises(UnavailableError) as caught:
        await wt.accounts(engine_id)
    assert caught.value.status == 503


@pytest.fixture(scope="module")
def users_gateway(
    nats_server: NatsServer, sim_bridge: Bridge, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """A production-mode gateway with a viewer and a trader limited to ``sim``."""
    users: Path = tmp_path_factory.mktemp("client-users") / "users.json"
    add_user(users, "viewer1", "viewer-pass-1", role="viewer", engines="sim")
    add_user(users, "trader1", "trader-pass-1", role="trader", engines="sim")
    with running_secure_gateway(
        nats_server.url, users, new_secret(), "--login-user-limit", "2"
    ) as gw:
        yield gw


async def test_viewer_trading_and_foreign_engine_are_forbidden_naming_the_field(
    users_gateway: Gateway,
) -> None:
    async with WebTrader(users_gateway.url) as viewer:
        await viewer.login("viewer1", "viewer-pass-1")
        assert isinstance(await viewer.orders("sim", limit=1), list)  # reading is allowed
        with pytest.raises(ForbiddenError) as trading:
            await viewer.submit_order(order(3255), "sim")
        assert trading.value.status == 403
        with pytest.raises(ForbiddenError) as foreign:
            await viewer.accounts("other-engine")
        assert foreign.value.field == "engine_id"


async def test_repeated_wrong_logins_are_too_many_requests_with_retry_after(
    users_gateway: Gateway,
) -> None:
    async with WebTrader(users_gateway.url) as wt:
        for _ in range(2):
            with pytest.raises(UnauthorizedError):
                await wt.login("trader1", "wrong")
        with pytest.raises(TooManyRequestsError) as caught:
            await wt.login("trader1", "wrong")
        assert caught.value.retry_after is not None
        assert caught.value.retry_after >= 1


# --- stream ---------------------------------------------------------------------------------


async def test_stream_delivers_typed_order_events_after_the_rest_state(
    wt: WebTrader, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    before = await wt.submit_order(order(3255), engine)
    loaded: dict[str, OrderData] = {}

    async def resync(engine_id: str | None) -> int | None:
        snapshot = await wt.query(ORDERS, engine_id)
        loaded.update({o.vt_orderid: o for o in snapshot.data})
        return snapshot.seq

    async with wt.stream() as stream:
        subscription = stream.subscribe("order.>", engine=engine, resync=resync)
        await asyncio.wait_for(subscription.ready, WAIT)
        assert set(loaded) == {before.vt_orderid}
        filled = await wt.submit_order(order(3745), engine)
        async with asyncio.timeout(WAIT):
            async for event in stream:
                assert event.subscription is subscription
                assert (event.engine, event.kind) == (engine, "order")
                assert isinstance(event.data, OrderData)
                assert isinstance(event.seq, int)
                if (
                    event.data.vt_orderid == filled.vt_orderid
                    and event.data.status is Status.ALLTRADED
                ):
                    break
                assert event.data.vt_orderid == filled.vt_orderid  # nothing of before: no replay
    assert stream.state == "closed"


async def drain(stream: Stream) -> None:
    """Read the stream's events until its iteration ends."""
    async for _ in stream:
        pass


async def test_logout_ends_the_streams_iteration_with_session_expired(gateway: Gateway) -> None:
    async with WebTrader(gateway.url) as wt:
        await wt.login("vnpy", "vnpy")
        stream = wt.stream()
        stream.subscribe(kind="log")
        stream.start()
        await asyncio.wait_for(stream.wait_open(), WAIT)
        wt.logout()
        with pytest.raises(SessionExpiredError):
            await asyncio.wait_for(drain(stream), WAIT)
        assert stream.state == "auth-required"
        await stream.stop()


async def test_stream_resumes_after_a_gateway_restart_without_losing_order_events(
    keyed_gateway: Gateway, wt: WebTrader, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    async with WebTrader(keyed_gateway.url, backoff=FAST) as mine:
        await mine.login("vnpy", "vnpy")
        stream = mine.stream()
        seen = Recorder(stream)
        stream.subscribe("order.>", engine=engine, on_event=seen.event)
        async with stream:
            await asyncio.wait_for(stream.wait_open(), WAIT)
            first = await mine.submit_order(order(3255), engine)
            await seen.until(lambda: first.vt_orderid in seen.orders())

            await asyncio.to_thread(keyed_gateway.stop)
            # meanwhile, through another gateway: a fill, a resting order, a cancel
            filled = await wt.submit_order(order(3745), engine)
            resting = await wt.submit_order(order(3256), engine)
            await wt.cancel_order(first.vt_orderid, engine)
            await asyncio.to_thread(keyed_gateway.start_gateway)  # same port, same key

            def caught_up() -> bool:
                orders = seen.orders()
                return (
                    orders.get(filled.vt_orderid, first).status is Status.ALLTRADED
                    and resting.vt_orderid in orders
                    and orders[first.vt_orderid].status is Status.CANCELLED
                )

            await seen.until(caught_up)
            assert stream.connections == 2
            assert seen.kinds("resumed"), seen.notices
            assert not seen.kinds("gap")
            seqs = [e.seq for e in seen.events]
            assert seqs == sorted(set(seqs)), "an event was delivered twice or out of order"
            states = [n.state for n in seen.kinds("state")]
            assert "reconnecting" in states


async def delete_stream(nats_server: NatsServer, name: str) -> None:
    """Delete a JetStream stream as an operator would."""
    nc = await nats.connect(nats_server.url)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.drain()


async def test_a_resume_point_gone_from_the_stream_resyncs_over_rest(
    keyed_gateway: Gateway, wt: WebTrader, fresh_bridge: Bridge, nats_server: NatsServer
) -> None:
    engine = fresh_bridge.engine_id
    async with WebTrader(keyed_gateway.url, backoff=FAST) as mine:
        await mine.login("vnpy", "vnpy")
        for price in (3255, 3256, 3257):  # history: the resume point moves into the log
            await mine.submit_order(order(price), engine)
        state: dict[str, OrderData] = {}
        resyncs: list[int | None] = []

        async def resync(engine_id: str | None) -> int | None:
            snapshot = await mine.query(ORDERS, engine_id)
            state.update({o.vt_orderid: o for o in snapshot.data})
            resyncs.append(snapshot.seq)
            return snapshot.seq

        async def apply(event: Event) -> None:
            assert isinstance(event.data, OrderData)
            state[event.data.vt_orderid] = event.data
            await seen.event(event)

        stream = mine.stream()
        seen = Recorder(stream)
        stream.subscribe("order.>", engine=engine, resync=resync, on_event=apply)
        async with stream:
            await asyncio.wait_for(stream.wait_open(), WAIT)
            await seen.until(lambda: len(resyncs) == 1)
            assert len(state) == 3

            await asyncio.to_thread(keyed_gateway.stop)
            await delete_stream(nats_server, f"WT_{engine}_EVENTS")
            added = await wt.submit_order(order(3258), engine)  # the bridge starts a new log
            await asyncio.to_thread(keyed_gateway.start_gateway)

            await seen.until(lambda: len(resyncs) == 2 and stream.state == "open")
            assert seen.kinds("gap"), seen.notices
            assert added.vt_orderid in state  # from the REST state, not the (lost) stream
            after = await mine.submit_order(order(3745), engine)
            await seen.until(lambda: state.get(after.vt_orderid, added).status is Status.ALLTRADED)


@pytest.fixture(scope="module")
def short_gateway(nats_server: NatsServer, sim_bridge: Bridge) -> Iterator[Gateway]:
    """A demo gateway whose access tokens live 6 s."""
    gw = Gateway(nats_server.url, "sim", "--demo", "--token-ttl", "6")
    gw.start_gateway()
    yield gw
    gw.stop()


async def test_session_outlives_its_access_token_refreshing_rest_and_the_socket(
    short_gateway: Gateway, fresh_bridge: Bridge
) -> None:
    engine = fresh_bridge.engine_id
    async with WebTrader(short_gateway.url, backoff=FAST) as wt:
        await wt.login("vnpy", "vnpy")
        assert wt.session.tokens is not None
        first = wt.session.tokens
        stream = wt.stream()
        seen = Recorder(stream)
        stream.subscribe("order.>", engine=engine, on_event=seen.event)
        async with stream:
            await asyncio.wait_for(stream.wait_open(), WAIT)
            assert first.expires_at is not None
            # refreshed on its own, and the first token has expired since
            await seen.until(lambda: time.time() > first.expires_at + 1)  # type: ignore[operator]
            assert wt.session.access_token != first.access_token
            placed = await wt.submit_order(order(3255), engine)
            await seen.until(lambda: placed.vt_orderid in seen.orders())
            assert stream.connections == 1  # the new tokens went over the socket
            assert not seen.kinds("gap")
