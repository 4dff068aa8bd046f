"""The Python client's pure parts: backoff, error mapping, token timing, frames, resume points."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import msgspec
import pytest

from schemas.codec import decode, encode
from schemas.enums import Direction, Exchange, Status
from schemas.messages import EngineInfo, Heartbeat
from schemas.objects import AccountData, LogData, OrderData, TickData
from schemas.requests import OrderRequest
from schemas.subjects import EventKind
from webtrader_client import (
    ApiError,
    Backoff,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    GatewayTimeoutError,
    GoneError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    ServerError,
    SessionExpiredError,
    TooManyRequestsError,
    UnauthorizedError,
    UnavailableError,
    UnprocessableError,
    WebTrader,
    new_client_order_id,
)
from webtrader_client.errors import api_error
from webtrader_client.frames import (
    Ack,
    EventsFrame,
    Welcome,
    decode_data,
    decode_frame,
    is_durable,
    subject_parts,
)
from webtrader_client.models import TokenReply
from webtrader_client.session import Tokens, jwt_expiry, tokens_from
from webtrader_client.subscription import Spec, Subscription

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)


def test_backoff_doubles_from_half_a_second_to_thirty_seconds_with_jitter() -> None:
    backoff = Backoff()
    middle = [backoff.delay(n, rand=lambda: 0.5) for n in range(8)]
    assert middle == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff.delay(0, rand=lambda: 0.0) == pytest.approx(0.4)
    assert backoff.delay(0, rand=lambda: 0.999999) == pytest.approx(0.6, rel=1e-4)
    assert backoff.delay(40, rand=lambda: 0.0) == pytest.approx(24.0)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (413, PayloadTooLargeError),
        (422, UnprocessableError),
        (429, TooManyRequestsError),
        (500, ServerError),
        (501, NotSupportedError),
        (502, ServerError),
        (503, UnavailableError),
        (504, GatewayTimeoutError),
        (599, ServerError),
        (418, ApiError),
    ],
)
def test_each_status_maps_to_its_exception_class(status: int, cls: type[ApiError]) -> None:
    error = api_error(status, b'{"detail": "nope", "field": "price"}')
    assert type(error) is cls
    assert (error.status, error.detail, error.field) == (status, "nope", "price")


def test_error_body_extras_and_headers_are_kept() -> None:
    timeout = api_error(504, b'{"detail": "unknown outcome", "client_order_id": "my-42"}')
    assert isinstance(timeout, GatewayTimeoutError)
    assert (timeout.client_order_id, timeout.field) == ("my-42", None)
    limited = api_error(429, b'{"detail": "too many"}', httpx.Headers({"Retry-After": "7"}))
    assert isinstance(limited, TooManyRequestsError)
    assert limited.retry_after == 7


def test_an_error_body_that_is_not_an_error_body_still_gives_a_detail() -> None:
    assert api_error(502, b"<html>bad gateway</html>").detail == "<html>bad gateway</html>"
    assert api_error(500, b"").detail == "HTTP 500"
    assert api_error(500, b"[1, 2]").detail == "HTTP 500"


def jwt_with(claims: dict[str, object]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"e30.{payload}.sig"


def test_jwt_expiry_reads_exp_and_tolerates_garbage() -> None:
    assert jwt_expiry(jwt_with({"exp": 1_700_000_000})) == 1_700_000_000
    assert jwt_expiry(jwt_with({"sub": "x"})) is None
    assert jwt_expiry("not-a-jwt") is None


def test_tokens_refresh_at_80_percent_of_their_life_and_5_s_before_expiry() -> None:
    long = Tokens("a", "r", issued_at=1000.0, expires_at=1900.0, username="u")
    assert long.refresh_delay(now=1000.0) == pytest.approx(720.0)
    assert long.refresh_delay(now=1800.0) == 0.0
    short = Tokens("a", "r", issued_at=1000.0, expires_at=1006.0, username="u")
    assert short.refresh_delay(now=1000.0) == pytest.approx(1.0)  # 5 s lead wins over 80 %
    assert Tokens("a", None, 1000.0, None, "u").refresh_delay(now=1000.0) is None


def test_a_refresh_answer_without_refresh_token_keeps_the_previous_one() -> None:
    first = tokens_from(
        TokenReply(access_token="a1", expires_in=900, refresh_token="r1"), "u", 0, None
    )
    assert (first.expires_at, first.refresh_token) == (900, "r1")
    second = tokens_from(TokenReply(access_token="a2", expires_in=900), "u", 100, first)
    assert (second.access_token, second.refresh_token, second.expires_at) == ("a2", "r1", 1000)
    vnpy = tokens_from(TokenReply(access_token=jwt_with({"exp": 5000})), "u", 0, None)
    assert (vnpy.expires_at, vnpy.refresh_token) == (5000, None)


def test_generated_client_order_ids_are_valid_and_distinct() -> None:
    ids = {new_client_order_id() for _ in range(100)}
    assert len(ids) == 100
    for cid in ids:
        body = {"symbol": "rb2601", "exchange": "SHFE", "direction": "LONG", "type": "LIMIT"}
        decode(json.dumps({**body, "volume": 1, "client_order_id": cid}), OrderRequest)


def test_stream_url_follows_the_scheme_and_path_of_the_base_url() -> None:
    assert WebTrader("http://h:8000").stream_url() == "ws://h:8000/stream"
    assert WebTrader("https://h/gw/").stream_url() == "wss://h/gw/stream"


def test_paths_address_the_default_engine_or_a_named_one_escaped() -> None:
    wt = WebTrader("http://h")
    assert wt.path("order") == "order"
    assert wt.path("order/SIM.1", "sim") == "engines/sim/order/SIM.1"
    assert WebTrader("http://h", engine="a b").path("tick") == "engines/a%20b/tick"


def test_server_frames_decode_by_type_and_unknown_types_are_ignored() -> None:
    welcome = decode_frame(
        b'{"type":"welcome","protocol":1,"session":"s","heartbeat":10.0,"idle_timeout":30.0,'
        b'"engines":{"sim":"up"},"later_field":1}'
    )
    assert isinstance(welcome, Welcome)
    assert (welcome.heartbeat, welcome.engines) == (10.0, {"sim": "up"})
    ack = decode_frame(
        b'{"type":"ack","id":"c1","op":"subscribe","sub":"s1","engine":"sim","seq":41}'
    )
    assert isinstance(ack, Ack)
    assert (ack.id, ack.sub, ack.seq) == ("c1", "s1", 41)
    assert decode_frame(b'{"type":"from-the-future"}') is None
    assert decode_frame(b"not json") is None


def test_event_payloads_stay_raw_until_decoded_as_their_kinds_type() -> None:
    order = OrderData(
        symbol="rb2601",
        exchange=Exchange.SHFE,
        orderid="7",
        direction=Direction.LONG,
        status=Status.ALLTRADED,
        gateway_name="SIM",
    )
    frame = decode_frame(
        b'{"type":"events","events":[{"sub":"s1","subject":"wt.sim.evt.order.SHFE.rb2601.7",'
        b'"seq":42,"data":' + encode(order) + b"}]}"
    )
    assert isinstance(frame, EventsFrame)
    (event,) = frame.events
    assert bytes(event.data) == encode(order)
    engine, kind = subject_parts(event.subject)
    assert (engine, kind) == ("sim", EventKind.ORDER)
    assert decode_data(kind, event.data) == order


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        (EventKind.TICK, TickData(symbol="x", exchange=Exchange.SSE, datetime=NOW)),
        (EventKind.ACCOUNT, AccountData(accountid="a", balance=10.0)),
        (EventKind.LOG, LogData(msg="hello")),
        (
            EventKind.HEARTBEAT,
            Heartbeat(
                engine_id="sim",
                time=NOW,
                seq=1,
                info=EngineInfo(engine_id="sim", engine="sim", version="1", gateway_name="SIM"),
            ),
        ),
    ],
)
def test_every_kind_decodes_into_its_schema_type(kind: EventKind, obj: object) -> None:
    assert decode_data(kind, encode(obj)) == obj


def test_a_payload_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_data(EventKind.ORDER, encode(LogData(msg="not an order")))


@pytest.mark.parametrize(
    ("kind", "topic", "durable"),
    [
        (None, "order.>", True),
        (None, "quote.SSE.*.*", True),
        (None, ">", True),
        (None, "*.SHFE.>", True),
        (None, "tick.SHFE.>", False),
        (None, "log", False),
        ("account", None, True),
        ("tick", None, False),
        (None, None, True),
    ],
)
def test_durable_subscriptions_are_those_that_may_cover_durable_kinds(
    kind: str | None, topic: str | None, durable: bool
) -> None:
    assert is_durable(kind, topic) is durable


def test_spec_sends_only_what_was_given() -> None:
    assert Spec(engine="sim", topic="order.>").op() == {
        "op": "subscribe",
        "engine": "sim",
        "topic": "order.>",
    }
    assert Spec(kind="tick", vt_symbol="BRK.B.SMART", snapshot=True).op() == {
        "op": "subscribe",
        "kind": "tick",
        "vt_symbol": "BRK.B.SMART",
    }


async def test_resume_points_are_the_last_seq_per_subscription_or_per_engine() -> None:
    one = Subscription(None, Spec(engine="sim", topic="order.>"))  # type: ignore[arg-type]
    assert one.resume_point() is None
    one.acked(Ack(id="c1", op="subscribe", sub="s1", engine="sim", seq=40))
    assert one.resume_point() == 40
    one.advance("sim", 43)
    one.advance("sim", 42)  # an older one (another consumer) never moves it back
    assert one.resume_point() == 43
    assert one.ready.done()
    one.forget()
    assert one.resume_point() is None

    every = Subscription(None, Spec(engine="*", topic="order.>"))  # type: ignore[arg-type]
    every.acked(Ack(id="c2", op="subscribe", sub="s2", engine="*"))
    assert every.resume_point() is None
    every.advance("sim", 7)
    every.advance("paper2", 3)
    every.advance("sim", 9)
    assert every.resume_point() == {"sim": 9, "paper2": 3}


async def test_a_refused_first_subscribe_fails_ready_with_the_error() -> None:
    sub = Subscription(None, Spec(engine="nope", topic="order.>"))  # type: ignore[arg-type]
    sub.refused(ForbiddenError(403, "user 'u' may not use engine 'nope'", "engine"))
    with pytest.raises(ForbiddenError):
        await sub.ready


async def test_a_stream_started_before_login_ends_and_its_subscriptions_fail() -> None:
    async with WebTrader("http://127.0.0.1:9") as wt:
        stream = wt.stream()
        orders = stream.subscribe("order.>", engine="sim")
        stream.start()
        with pytest.raises(SessionExpiredError):
            await orders.ready
        with pytest.raises(SessionExpiredError):
            await stream.wait_open()
        assert stream.state == "auth-required"
        await stream.stop()
