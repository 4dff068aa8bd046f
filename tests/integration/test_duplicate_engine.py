"""Two bridges never share one engine id on one NATS: the second refuses to start."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from engine_bridge.__main__ import EXIT_DUPLICATE
from schemas.messages import SERVICE_NAME
from schemas.subjects import Op, request_subject
from tests.support.processes import Bridge, NatsServer


async def instances(nc: NatsClient, engine_id: str) -> list[str]:
    """Service ids of the ``webtrader-engine`` instances serving ``engine_id`` ($SRV.PING)."""
    pongs: list[Msg] = []

    async def on_pong(msg: Msg) -> None:
        pongs.append(msg)

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=on_pong)
    await nc.publish(f"$SRV.PING.{SERVICE_NAME}", b"", reply=inbox)
    await asyncio.sleep(0.5)  # gather the answers of every instance
    await sub.unsubscribe()
    answers = [json.loads(m.data) for m in pongs]
    return [a["id"] for a in answers if a["metadata"].get("engine_id") == engine_id]


async def test_a_second_bridge_with_a_live_engine_id_exits_non_zero_saying_why(
    bridge_factory: Callable[..., Bridge], nats_server: NatsServer, nc: NatsClient, engine_id: str
) -> None:
    first = bridge_factory(engine_id)
    [serving] = await instances(nc, engine_id)

    second = Bridge(nats_server.url, engine_id)
    try:
        with pytest.raises(RuntimeError, match="exited"):
            second.start_bridge()
    finally:
        code = second.stop()
    assert code == EXIT_DUPLICATE
    assert f"engine id '{engine_id}' is already served by a live bridge" in second.output
    assert "bridge ready" not in second.output

    assert await instances(nc, engine_id) == [serving]  # the first one, alone
    reply = await nc.request(request_subject(engine_id, Op.INFO), b"", timeout=5)
    assert json.loads(reply.data)["engine_id"] == engine_id
    assert first.alive()


async def test_once_the_bridge_stopped_its_engine_id_can_be_served_again(
    bridge_factory: Callable[..., Bridge], nc: NatsClient, engine_id: str
) -> None:
    first = bridge_factory(engine_id)
    assert first.stop() == 0
    second = bridge_factory(engine_id)  # SIGTERM drained the first: nobody answers any more
    assert second.alive()
    assert len(await instances(nc, engine_id)) == 1
