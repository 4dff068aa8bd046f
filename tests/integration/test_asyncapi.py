"""The AsyncAPI document against the real system: served by the gateway, and describing the
messages a real bridge publishes and answers (read as the least-privilege ``observer``)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import nats
import referencing
from nats.aio.msg import Msg
from referencing.jsonschema import DRAFT202012

from schemas.asyncapi import build
from schemas.subjects import Op, request_subject
from tests.support.orders import FILLING
from tests.support.processes import Bridge, NatsServer

WAIT = 20.0
DOC_URI = "urn:webtrader:asyncapi"


class Document:
    """The generated document, with validators for message payloads and headers."""

    def __init__(self) -> None:
        self.doc = build()
        resource = referencing.Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            DOC_URI, resource
        )

    def validate(self, message: str, part: str, instance: Any) -> None:
        schema = {"$ref": f"{DOC_URI}#/components/messages/{message}/{part}"}
        jsonschema.Draft202012Validator(schema, registry=self.registry).validate(instance)

    def event_message(self, subject: str) -> tuple[str, dict[str, Any]]:
        """The event message whose channel address matches ``subject``."""
        for channel in self.doc["channels"].values():
            addr = channel["address"]
            if addr is None or ".evt." not in addr:
                continue
            regex = re.sub(r"\\\{\w+\\\}", "[^.]+", re.escape(addr))
            if re.fullmatch(regex, subject):
                (name,) = channel["messages"]
                return name, self.doc["components"]["messages"][name]
        raise AssertionError(f"no channel for {subject}")


async def test_gateway_serves_the_document_without_a_token(
    anon_client: httpx.AsyncClient,
) -> None:
    r = await anon_client.get("/asyncapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == build()
    openapi = (await anon_client.get("/schema/openapi.json")).json()
    assert "/asyncapi.json" not in openapi["paths"]


async def test_real_events_and_replies_match_the_document(
    nats_server: NatsServer,
    fresh_bridge: Bridge,
    client: httpx.AsyncClient,
    nc: nats.NATS,
) -> None:
    engine = fresh_bridge.engine_id
    spec = Document()
    observer = await nats.connect(nats_server.url_for("observer"), inbox_prefix="_INBOX.observer")
    seen: list[Msg] = []
    kinds: set[str] = set()

    async def collect(msg: Msg) -> None:
        seen.append(msg)
        kinds.add(msg.subject.split(".")[3])

    try:
        await observer.subscribe(f"wt.{engine}.evt.>", cb=collect)
        await observer.flush()
        r = await client.post(f"/engines/{engine}/order", json=FILLING)
        assert r.status_code == 201, r.text
        await until(lambda: {"order", "trade", "position", "account", "heartbeat"} <= kinds)
    finally:
        await observer.drain()
    for msg in seen:
        name, message = spec.event_message(msg.subject)
        spec.validate(name, "payload", json.loads(msg.data))
        if "headers" in message:
            spec.validate(name, "headers", dict(msg.headers or {}))

    replies = {
        Op.INFO: b"",
        Op.CONTRACTS: b'{"limit": 2}',
        Op.ORDERS: b"",
        Op.TRADES: b"",
        Op.POSITIONS: b"",
        Op.ACCOUNTS: b"",
        Op.TICKS: b"",
        Op.GATEWAYS: b"",
    }
    for op, body in replies.items():
        reply = await nc.request(request_subject(engine, op), body, timeout=WAIT)
        assert not (reply.headers or {}).get("Nats-Service-Error-Code"), reply.data
        spec.validate(f"{op.value}Reply", "payload", json.loads(reply.data))
        spec.validate(f"{op.value}Reply", "headers", dict(reply.headers or {}))
    failed = await nc.request(
        request_subject(engine, Op.ORDER), b'{"vt_orderid": "SIM.404"}', timeout=WAIT
    )
    assert failed.headers is not None
    spec.validate("serviceError", "headers", dict(failed.headers))
    spec.validate("serviceError", "payload", json.loads(failed.data))


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.05)
