"""``deploy/leaf``: an engine at another site, behind a NATS leaf node, traded through the hub.

The hub runs ``deploy/leaf/hub.conf`` (the repository's ``nats.conf`` and ``nats-auth.conf``
plus a leaf node listener), the site runs ``deploy/leaf/site.conf``; only the leaf port is
moved to a free one.  The site's bridge (engine ``remote1``) connects to the site's server,
the gateway to the hub's: an order placed through the gateway is served across the leaf
connection, with the engine's streams in the hub's JetStream, and the hub applies
``leaf-remote1``'s permissions to what the site sends.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.msg import Msg

from tests.support.processes import REPO, Bridge, Gateway, NatsServer, free_port

ENGINE = "remote1"
LEAF_LISTEN = "listen: 127.0.0.1:7422"


@dataclass
class Sites:
    hub: NatsServer
    site: NatsServer
    bridge: Bridge
    gateway: Gateway


def adapted(tmp: Path, leaf_port: int) -> tuple[Path, Path]:
    """The example files under ``tmp`` in the repository's layout, the leaf port moved."""
    for name in ("nats.conf", "nats-auth.conf"):
        shutil.copy(REPO / name, tmp / name)
    leaf_dir = tmp / "deploy" / "leaf"
    leaf_dir.mkdir(parents=True)
    hub_text = (REPO / "deploy" / "leaf" / "hub.conf").read_text()
    assert hub_text.count(LEAF_LISTEN) == 1
    hub = leaf_dir / "hub.conf"
    hub.write_text(hub_text.replace(LEAF_LISTEN, f"listen: 127.0.0.1:{leaf_port}"))
    site = leaf_dir / "site.conf"
    shutil.copy(REPO / "deploy" / "leaf" / "site.conf", site)
    return hub, site


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    tmp = tmp_path_factory.mktemp("leaf")
    leaf_port = free_port()
    hub_conf, site_conf = adapted(tmp, leaf_port)
    hub = NatsServer(tmp / "hub-js", config=hub_conf)
    site = NatsServer(tmp / "site-js", config=site_conf)
    site.env["WEBTRADER_NATS_LEAF_URL"] = (
        f"nats-leaf://leaf-remote1:{hub.passwords['leaf-remote1']}@127.0.0.1:{leaf_port}"
    )
    hub.start_server()
    site.start_server()
    bridge = Bridge(site.plain_url, ENGINE, tick_rate=5, env=site.env_for("bridge-remote1"))
    gateway = Gateway(hub.plain_url, ENGINE, "--demo", env=hub.env_for("gateway"))
    try:
        site.wait_for(r"Leafnode connection created")
        bridge.start_bridge()
        gateway.start_gateway()
        yield Sites(hub, site, bridge, gateway)
    finally:
        gateway.stop()
        bridge.stop()
        site.stop()
        hub.stop()
    assert hub.violations() == [], "the site overstepped leaf-remote1's permissions"


async def test_an_order_through_the_hub_is_served_by_the_bridge_at_the_site(
    sites: Sites,
) -> None:
    async with httpx.AsyncClient(base_url=sites.gateway.url, timeout=10) as client:
        login = await client.post("/token", data={"username": "vnpy", "password": "vnpy"})
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        order = {
            "symbol": "rb2601",
            "exchange": "SHFE",
            "direction": "LONG",
            "type": "LIMIT",
            "volume": 1,
            "price": 3255,
            "client_order_id": "leaf-1",
        }
        r = await client.post(f"/engines/{ENGINE}/order", json=order)
        assert r.status_code == 201, r.text
        again = await client.post(f"/engines/{ENGINE}/order", json=order)
        assert again.status_code == 200  # the client-order bucket in the hub's JetStream
        assert again.json()["vt_orderid"] == r.json()["vt_orderid"]
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["engines"] == {ENGINE: "up"}
    # the events stream lives in the hub's JetStream
    nc = await nats.connect(sites.hub.url)
    try:
        info = await nc.jetstream().stream_info(f"WT_{ENGINE}_EVENTS")
        assert info.state.messages >= 1
    finally:
        await nc.close()


async def test_nothing_of_another_engine_crosses_from_the_site(sites: Sites) -> None:
    """A client at the site (as its bridge) sends another engine's order: it never arrives.

    The site refuses it (its bridge user's permissions) and the hub would too (leaf-remote1's);
    a control message on the site's own subjects, sent after it, does arrive.
    """
    hub = await nats.connect(sites.hub.url)
    site = await nats.connect(
        sites.site.plain_url,
        user="bridge-remote1",
        password=sites.site.passwords["bridge-remote1"],
        inbox_prefix="_INBOX.bridge-remote1",
        error_cb=_ignore,
    )
    received: asyncio.Queue[str] = asyncio.Queue()

    async def on_msg(msg: Msg) -> None:
        await received.put(msg.subject)

    try:
        await hub.subscribe("wt.>", cb=on_msg)
        await hub.flush()
        control = f"wt.{ENGINE}.evt.log"
        async with asyncio.timeout(10):
            while True:  # until the hub's interest has reached the site
                await site.publish(control, b"{}")
                await site.flush()
                try:
                    async with asyncio.timeout(0.5):
                        if await received.get() == control:
                            break
                except TimeoutError:
                    continue
        while not received.empty():
            received.get_nowait()
        await site.publish("wt.sim.req.submit", b"{}")
        await site.publish("wt.sim.evt.order.x", b"{}")
        await site.publish(control, b"{}")
        await site.flush()
        async with asyncio.timeout(10):
            first = await received.get()
        assert first == control
        assert received.empty()
        assert sites.site.violations(), "the site did not refuse another engine's subjects"
    finally:
        await site.close()
        await hub.close()


async def _ignore(exc: Exception) -> None:
    """The site's permission errors are expected here."""
