# %% [markdown]
# # nats-webtrader from Python: a walkthrough
#
# Run it cell by cell (VS Code, Jupyter with jupytext, Spyder: cells are marked `# %%`) or as
# a script: `WEBTRADER_PASSWORD=vnpy python examples/walkthrough.py`. It needs a gateway
# (`webtrader demo` starts one with a simulated engine) and the client
# (`pip install 'nats-webtrader[client]'`).
#
# The client is async. So that the same cells work in a script and in a notebook (whose
# own event loop is already running), they hand coroutines to `run()`, which runs them on
# an event loop of its own in a background thread: between cells the stream keeps flowing.
"""A notebook-style tour of the Python client (cells marked ``# %%``; runs as a script).

Options come from the environment: ``WEBTRADER_URL`` (default ``http://127.0.0.1:8000``),
``WEBTRADER_USERNAME`` (``vnpy``), ``WEBTRADER_PASSWORD``, ``WEBTRADER_ENGINE`` (default:
the gateway's default engine).
"""

# %%
from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from schemas.enums import Direction, Exchange, Offset, OrderType, Status
from schemas.objects import OrderData
from schemas.requests import OrderRequest
from webtrader_client import ORDERS, ConflictError, Event, Stream, UnprocessableError, WebTrader

T = TypeVar("T")
LOOP = asyncio.new_event_loop()
threading.Thread(target=LOOP.run_forever, name="webtrader-loop", daemon=True).start()


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run ``coro`` on the background loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coro, LOOP).result(timeout)


async def make_client(url: str, engine: str | None) -> WebTrader:
    """A client whose HTTP connections belong to the background loop."""
    return WebTrader(url, engine=engine)


URL = os.environ.get("WEBTRADER_URL", "http://127.0.0.1:8000")
ENGINE = os.environ.get("WEBTRADER_ENGINE") or None
wt = run(make_client(URL, ENGINE))

# %% [markdown]
# ## Log in
# `POST /token`; the access token is refreshed on its own before it expires.

# %%
run(wt.login(os.environ.get("WEBTRADER_USERNAME", "vnpy"), os.environ["WEBTRADER_PASSWORD"]))
for engine in run(wt.engines()):
    print(f"engine {engine.engine_id}: {engine.status} ({engine.contracts} contracts)")

# %% [markdown]
# ## Contracts and market data
# Everything comes back as the project's own types (`schemas.objects`): `ContractData`,
# `TickData`, ... with enums (`Exchange.SHFE`) and aware datetimes.

# %%
contract = run(wt.contracts(vt_symbol="rb2601.SHFE"))[0]
print(f"{contract.vt_symbol} {contract.name}: pricetick {contract.pricetick}, size {contract.size}")
run(wt.subscribe(contract.vt_symbol))
tick = run(wt.ticks(vt_symbol=contract.vt_symbol))[0]
print(f"tick {tick.vt_symbol} at {tick.datetime:%H:%M:%S}: last {tick.last_price}")

# %% [markdown]
# ## Follow orders over the stream
# The state first over REST (`query` returns the data *and* the stream sequence it
# includes), then every change after it over `/stream`. After a reconnect the subscription
# resumes from the last `seq` it saw; if that point is gone (410) `resync` runs again.

# %%
orders: dict[str, OrderData] = {}
changes: list[Event] = []
updated = asyncio.Event()


async def resync(engine: str | None) -> int | None:
    """Load every order over REST; resume the stream after the answer's sequence."""
    snapshot = await wt.query(ORDERS, engine)
    orders.update({o.vt_orderid: o for o in snapshot.data})
    return snapshot.seq


def on_order(event: Event) -> None:
    """Keep the latest state of each order."""
    if isinstance(event.data, OrderData):
        orders[event.data.vt_orderid] = event.data
        changes.append(event)
        updated.set()


async def follow() -> Stream:
    """A stream following every order (from the REST state on)."""
    stream = wt.stream()
    stream.subscribe("order.>", engine=ENGINE, resync=resync, on_event=on_order)
    stream.start()
    await stream.wait_open()
    return stream


stream = run(follow())
print(f"stream {stream.state}; {len(orders)} orders loaded over REST")

# %% [markdown]
# ## Place and cancel an order
# `submit_order` adds a `client_order_id`, so retrying the same request after a timeout
# cannot place it twice. A buy at the lower price limit rests in the book.

# %%
resting = OrderRequest(
    symbol="rb2601",
    exchange=Exchange.SHFE,
    direction=Direction.LONG,
    type=OrderType.LIMIT,
    offset=Offset.OPEN,
    volume=1,
    price=tick.limit_down,
)
order = run(wt.submit_order(resting))
print(f"placed {order.vt_orderid}: {order.status.value}, client_order_id {order.client_order_id}")
cancelled = run(wt.cancel_order(order.vt_orderid))
print(f"cancelled {cancelled.vt_orderid}: {cancelled.status.value}")


async def seen(vt_orderid: str, status: Status) -> None:
    """Wait until the stream reported the order in ``status``."""
    while True:
        updated.clear()
        if (known := orders.get(vt_orderid)) is not None and known.status is status:
            return
        await updated.wait()


run(seen(order.vt_orderid, Status.CANCELLED))
print(f"the stream saw it too: {len(changes)} order events, last seq {changes[-1].seq}")

# %% [markdown]
# ## Errors say what is wrong
# Every error answer is an exception of its status with the server's `detail` and the
# `field` to blame.

# %%
try:
    off_grid = OrderRequest(
        symbol="rb2601",
        exchange=Exchange.SHFE,
        direction=Direction.LONG,
        type=OrderType.LIMIT,
        volume=1,
        price=tick.limit_down + contract.pricetick / 2,
    )
    run(wt.submit_order(off_grid))
except UnprocessableError as exc:
    print(f"refused ({exc.status}): {exc.detail} [field {exc.field}]")
try:
    run(wt.cancel_order(order.vt_orderid))
except ConflictError as exc:
    print(f"refused ({exc.status}): {exc.detail}")

# %% [markdown]
# ## Portfolio, and closing down

# %%
for account in run(wt.accounts()):
    print(f"account {account.vt_accountid}: balance {account.balance:,.2f}")
for position in run(wt.positions()):
    print(f"position {position.vt_symbol} {position.direction.value}: {position.volume}")
print(f"active orders: {len(run(wt.orders(active=True)))}")

run(stream.stop())
run(wt.aclose())
LOOP.call_soon_threadsafe(LOOP.stop)
print("done")
