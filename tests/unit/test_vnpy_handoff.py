"""The VeighNa-thread -> asyncio-loop handoff, with real threads producing into it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from engine_bridge.vnpy.threads import Handoff
from schemas.enums import Exchange
from schemas.objects import TickData


def tick(symbol: str, n: int) -> TickData:
    return TickData(
        symbol=symbol, exchange=Exchange.SSE, datetime=datetime.now(UTC), last_price=float(n)
    )


def in_thread(work: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


async def test_items_arrive_in_order_and_none_is_lost() -> None:
    got: list[object] = []

    async def process(item: object) -> None:
        got.append(item)

    handoff: Handoff[int] = Handoff(asyncio.get_running_loop(), process, capacity=16)
    consumer = asyncio.create_task(handoff.run())
    producer = in_thread(lambda: [handoff.put(i) for i in range(2000)])
    await asyncio.to_thread(producer.join, 10)
    handoff.close()
    await consumer
    assert got == list(range(2000))
    assert handoff.pending == 0


async def test_a_full_handoff_makes_the_producer_wait_not_drop() -> None:
    release = asyncio.Event()
    got: list[object] = []

    async def process(item: object) -> None:
        await release.wait()
        got.append(item)

    handoff: Handoff[int] = Handoff(asyncio.get_running_loop(), process, capacity=3)
    consumer = asyncio.create_task(handoff.run())
    queued = threading.Event()

    def produce() -> None:
        for i in range(10):
            handoff.put(i)
        queued.set()

    producer = in_thread(produce)
    # the consumer holds one item, the others fill the capacity: the producer must wait
    assert not await asyncio.to_thread(queued.wait, 0.5)
    assert handoff.waits == 1
    release.set()
    assert await asyncio.to_thread(queued.wait, 10)
    await asyncio.to_thread(producer.join, 10)
    handoff.close()
    await consumer
    assert got == list(range(10))


async def test_ticks_are_conflated_per_contract_and_counted() -> None:
    release = asyncio.Event()
    got: list[object] = []

    async def process(item: object) -> None:
        await release.wait()
        got.append(item)

    handoff: Handoff[str] = Handoff(asyncio.get_running_loop(), process)
    consumer = asyncio.create_task(handoff.run())
    handoff.put("before")  # the consumer waits on this one while the ticks pile up

    def produce() -> None:
        for n in range(100):
            handoff.put_tick(tick("600036", n))
            handoff.put_tick(tick("600000", n))
        handoff.put("after")

    await asyncio.to_thread(in_thread(produce).join, 10)
    release.set()
    handoff.close()
    await consumer
    assert got[0] == "before"
    ticks = [t for t in got if isinstance(t, TickData)]
    assert [(t.symbol, t.last_price) for t in ticks] == [("600036", 99.0), ("600000", 99.0)]
    assert got[-1] == "after"
    assert handoff.dropped_ticks == 2 * 99


async def test_closing_releases_a_waiting_producer() -> None:
    never = asyncio.Event()

    async def process(item: object) -> None:
        await never.wait()

    handoff: Handoff[int] = Handoff(asyncio.get_running_loop(), process, capacity=1)
    consumer = asyncio.create_task(handoff.run())
    results: list[bool] = []
    producer = in_thread(lambda: results.extend(handoff.put(i) for i in range(3)))
    await asyncio.sleep(0.2)
    handoff.close()
    await asyncio.to_thread(producer.join, 10)
    assert not producer.is_alive()
    assert results == [True, False, False]  # not delivered, and the producer was not left hanging
    consumer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consumer


async def test_a_failing_processor_does_not_stop_the_consumer() -> None:
    got: list[object] = []

    async def process(item: object) -> None:
        if item == 1:
            raise ValueError("boom")
        got.append(item)

    handoff: Handoff[int] = Handoff(asyncio.get_running_loop(), process)
    consumer = asyncio.create_task(handoff.run())
    await asyncio.to_thread(lambda: [handoff.put(i) for i in range(3)])
    handoff.close()
    await consumer
    assert got == [0, 2]
