"""The per-client outbox: conflation, ordering, bounds and the overflow signal."""

from __future__ import annotations

import asyncio

import pytest

from gateway.streams.client_queue import Outbox, OutboxOverflowError


def test_latest_tick_per_key_wins_while_queued() -> None:
    box: Outbox[str] = Outbox(limit=10, conflate_after=0)
    box.put_latest("rb", "rb@1")
    box.put_latest("au", "au@1")
    box.put_latest("rb", "rb@2")
    box.put_latest("rb", "rb@3")
    assert box.conflated == 2
    assert len(box) == 2
    assert box.take_nowait(10) == ["au@1", "rb@3"]
    assert len(box) == 0


def test_items_come_out_in_arrival_order_of_the_versions_delivered() -> None:
    box: Outbox[str] = Outbox(limit=10, conflate_after=0)
    box.put_latest("rb", "tick rb@1")
    box.put("order 1")
    box.put_latest("au", "tick au@1")
    box.put("order 2")
    box.put_latest("rb", "tick rb@2")  # supersedes rb@1 and takes its own place
    assert box.take_nowait(10) == ["order 1", "tick au@1", "order 2", "tick rb@2"]


def test_take_respects_max_items_and_keeps_the_rest() -> None:
    box: Outbox[int] = Outbox(limit=100, conflate_after=0)
    for i in range(5):
        box.put(i)
        box.put_latest(i, 100 + i)
    assert box.take_nowait(3) == [0, 100, 1]
    assert box.take_nowait(100) == [101, 2, 102, 3, 103, 4, 104]
    assert box.take_nowait(100) == []


def test_fifo_past_its_limit_fails_the_outbox_instead_of_dropping() -> None:
    box: Outbox[int] = Outbox(limit=3, conflate_after=0)
    box.put_latest("tick", -1)
    assert all(box.put(i) for i in range(3))
    assert not box.failed.is_set()
    assert box.put(3) is False
    assert box.failed.is_set()
    assert box.overflow == 5  # 3 events + 1 tick queued, and the one that did not fit
    assert len(box) == 0  # the backlog is released at once
    assert box.put(4) is False
    assert box.put_latest("tick", -2) is False
    assert len(box) == 0


def test_distinct_tick_keys_are_bounded_too() -> None:
    box: Outbox[int] = Outbox(limit=100, conflate_limit=2, conflate_after=0)
    assert box.put_latest("a", 1)
    assert box.put_latest("b", 1)
    assert box.put_latest("a", 2)  # an existing key never overflows
    assert box.put_latest("c", 1) is False
    assert box.overflow == 3


def test_many_ticks_of_few_contracts_never_overflow() -> None:
    box: Outbox[int] = Outbox(limit=3, conflate_after=0)
    for i in range(100_000):
        assert box.put_latest(i % 3, i)
    assert box.take_nowait(10) == [99_997, 99_998, 99_999]
    assert box.overflow == 0


async def test_take_waits_for_an_item() -> None:
    box: Outbox[str] = Outbox(limit=10, conflate_after=0)
    taker = asyncio.ensure_future(box.take(10))
    await asyncio.sleep(0)
    assert not taker.done()
    box.put("hello")
    box.put_latest("k", "tick")
    assert await asyncio.wait_for(taker, 5) == ["hello", "tick"]


async def test_a_waiting_taker_is_woken_by_overflow() -> None:
    box: Outbox[int] = Outbox(limit=1, conflate_after=0)
    box.put(0)
    assert await box.take(10) == [0]
    taker = asyncio.ensure_future(box.take(10))
    await asyncio.sleep(0)
    box.put(1)
    box.put(2)  # before the taker ran: one too many
    with pytest.raises(OutboxOverflowError) as overflow:
        await asyncio.wait_for(taker, 5)
    assert overflow.value.backlog == 2
    assert str(overflow.value) == "too slow: 2 events backlog"


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Outbox(limit=0)


async def test_wait_room_returns_once_the_writer_took_enough() -> None:
    box: Outbox[int] = Outbox(limit=10, conflate_after=0)
    for i in range(6):
        box.put(i)
    waiter = asyncio.ensure_future(box.wait_room(4))
    await asyncio.sleep(0)
    assert not waiter.done()  # 6 waiting, room below 4 wanted
    box.take_nowait(2)
    await asyncio.sleep(0)
    assert not waiter.done()  # 4 still waiting
    box.take_nowait(1)
    assert await asyncio.wait_for(waiter, 1) is True
    assert box.backlog == 3


async def test_wait_room_is_released_with_false_when_the_outbox_fails() -> None:
    box: Outbox[int] = Outbox(limit=3, conflate_after=0)
    for i in range(3):
        box.put(i)
    waiter = asyncio.ensure_future(box.wait_room(2))
    await asyncio.sleep(0)
    box.fail()
    assert await asyncio.wait_for(waiter, 1) is False
    assert box.failed.is_set()
    assert box.overflow == 4  # reported like an overrun: the backlog plus one
    with pytest.raises(OutboxOverflowError):
        await box.take(10)


def test_a_client_keeping_up_gets_every_tick_not_only_the_latest() -> None:
    box: Outbox[str] = Outbox(limit=10, conflate_after=4)
    for i in range(3):
        box.put_latest("rb", f"rb@{i}")
    box.put("order 1")
    assert box.conflated == 0
    assert box.backlog == 1  # ticks never count against the event limit
    assert box.take_nowait(10) == ["rb@0", "rb@1", "rb@2", "order 1"]


def test_ticks_conflate_only_once_the_client_is_behind() -> None:
    box: Outbox[str] = Outbox(limit=10, conflate_after=2)
    box.put_latest("rb", "rb@1")
    box.put_latest("rb", "rb@2")  # two ticks queued: the client is behind from here on
    box.put_latest("rb", "rb@3")
    box.put_latest("rb", "rb@4")  # supersedes rb@3, which was never sent
    box.put_latest("au", "au@1")
    assert box.conflated == 1
    assert box.take_nowait(10) == ["rb@1", "rb@2", "rb@4", "au@1"]
    box.put_latest("rb", "rb@5")  # caught up: queued as it comes again
    box.put_latest("rb", "rb@6")
    assert box.take_nowait(10) == ["rb@5", "rb@6"]
    assert box.conflated == 1


def test_ticks_below_the_conflation_point_never_fail_the_outbox() -> None:
    box: Outbox[int] = Outbox(limit=2, conflate_limit=2, conflate_after=100)
    for i in range(100):
        assert box.put_latest(i, i)  # 100 distinct keys, but under conflate_after
    assert box.put(-1)
    assert box.put(-2)
    assert not box.failed.is_set()
    assert len(box.take_nowait(1000)) == 102
