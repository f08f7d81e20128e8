"""BoundedQueue: memory-channel semantics for one producer side and one consumer side."""

from __future__ import annotations

import sys

import pytest
import trio
import trio.testing

from helpers import DEADLINE
from wsactors.actors.queue import BoundedQueue


def test_buffers_up_to_size_then_would_block() -> None:
    queue = BoundedQueue[int](2)
    queue.put_nowait(1)
    queue.put_nowait(2)
    with pytest.raises(trio.WouldBlock):
        queue.put_nowait(3)
    assert len(queue) == 2
    assert [queue.get_nowait(), queue.get_nowait()] == [1, 2]
    with pytest.raises(trio.WouldBlock):
        queue.get_nowait()
    assert len(queue) == 0


def test_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        BoundedQueue[int](-1)


def test_order_survives_a_long_backlog() -> None:
    # The consumer stays behind by a few items for many rounds: the taken prefix
    # of the list is compacted, and nothing is reordered or lost.
    queue = BoundedQueue[int](5)
    for item in range(3):
        queue.put_nowait(item)
    got: list[int] = []
    for start in range(3, 1000, 2):
        queue.put_nowait(start)
        queue.put_nowait(start + 1)
        got.append(queue.get_nowait())
        got.append(queue.get_nowait())
        assert len(queue) == 3
    while len(queue):
        got.append(queue.get_nowait())
    assert got == list(range(1001))
    assert len(queue._items) <= 5 + 32  # compacted


async def test_get_waits_and_the_put_hands_over_directly() -> None:
    queue = BoundedQueue[str](1)
    got: list[str] = []

    async def getter() -> None:
        got.append(await queue.get())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(getter)
        await trio.testing.wait_all_tasks_blocked()
        queue.put_nowait("a")
        assert len(queue) == 0  # handed to the waiting getter, not buffered
    assert got == ["a"]


async def test_put_waits_for_room_in_order() -> None:
    queue = BoundedQueue[int](1)
    queue.put_nowait(0)

    async def putter(item: int) -> None:
        await queue.put(item)

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            for item in (1, 2, 3):
                nursery.start_soon(putter, item)
                await trio.testing.wait_all_tasks_blocked()
            got = [await queue.get() for _ in range(4)]
    assert got == [0, 1, 2, 3]


async def test_unbuffered_queue_is_a_rendezvous() -> None:
    queue = BoundedQueue[int](0)
    with pytest.raises(trio.WouldBlock):
        queue.put_nowait(1)
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(queue.put, 7)
            await trio.testing.wait_all_tasks_blocked()
            assert await queue.get() == 7


async def test_a_cancelled_put_queues_nothing() -> None:
    queue = BoundedQueue[int](1)
    queue.put_nowait(1)
    with trio.move_on_after(0.01) as scope:
        await queue.put(2)
    assert scope.cancelled_caught
    assert queue.get_nowait() == 1
    with pytest.raises(trio.WouldBlock):
        queue.get_nowait()


async def test_a_cancelled_get_takes_nothing() -> None:
    queue = BoundedQueue[int](1)
    with trio.move_on_after(0.01) as scope:
        await queue.get()
    assert scope.cancelled_caught
    queue.put_nowait(5)  # buffered, not handed to the cancelled getter
    assert len(queue) == 1
    assert await queue.get() == 5


async def test_get_and_put_are_checkpoints() -> None:
    queue = BoundedQueue[int](1)
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await queue.put(1)
    assert len(queue) == 0
    queue.put_nowait(1)
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await queue.get()
    assert len(queue) == 1


async def test_close_drains_then_ends() -> None:
    queue = BoundedQueue[int](2)
    queue.put_nowait(1)
    queue.close()
    queue.close()  # idempotent
    with pytest.raises(trio.ClosedResourceError):
        queue.put_nowait(2)
    with pytest.raises(trio.ClosedResourceError):
        await queue.put(2)
    assert await queue.get() == 1
    with pytest.raises(trio.EndOfChannel):
        await queue.get()


async def test_close_wakes_waiters() -> None:
    queue = BoundedQueue[int](0)
    blocked = BoundedQueue[int](0)
    outcomes: list[str] = []

    async def getter() -> None:
        try:
            await queue.get()
        except trio.EndOfChannel:
            outcomes.append("end")

    async def putter() -> None:
        try:
            await blocked.put(1)
        except trio.ClosedResourceError:
            outcomes.append("closed")

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(getter)
            nursery.start_soon(putter)
            await trio.testing.wait_all_tasks_blocked()
            queue.close()
            blocked.close()
    assert sorted(outcomes) == ["closed", "end"]


async def test_abandon_breaks_puts_and_drops_the_buffer() -> None:
    queue = BoundedQueue[int](1)
    queue.put_nowait(1)
    broken: list[bool] = []

    async def putter() -> None:
        try:
            await queue.put(2)
        except trio.BrokenResourceError:
            broken.append(True)

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(putter)
            await trio.testing.wait_all_tasks_blocked()
            queue.abandon()
    assert broken == [True]
    assert len(queue) == 0
    with pytest.raises(trio.BrokenResourceError):
        queue.put_nowait(3)


async def test_abandon_wakes_a_waiting_getter_as_closed() -> None:
    queue = BoundedQueue[int](1)
    closed: list[bool] = []

    async def getter() -> None:
        try:
            await queue.get()
        except trio.ClosedResourceError:
            closed.append(True)

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(getter)
            await trio.testing.wait_all_tasks_blocked()
            queue.abandon()
    assert closed == [True]


def test_an_empty_queue_is_small() -> None:
    # Every idle connection holds two (its inbox and outbox).
    queue = BoundedQueue[int](16)
    assert sys.getsizeof(queue) + sys.getsizeof(queue._items) < 200
