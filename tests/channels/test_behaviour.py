"""What a subscriber sees, the same on both backends (``memory`` and a real ``redis``).

Each test is parametrized by ``make_channels`` (conftest.py); the ``redis`` case
runs in ``nox -s redis`` against a redis-server of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
from channel_helpers import until

from helpers import DEADLINE
from wsactors import Channels, Gap, Message
from wsactors.channels import Subscription

MakeChannels = Callable[..., Channels]


async def take(sub: Subscription, count: int) -> list[Message | Gap]:
    return [await sub.get() for _ in range(count)]


async def take_messages(sub: Subscription, count: int) -> list[Message]:
    """The next ``count`` items, which must all be messages (a Gap fails the test)."""
    items = await take(sub, count)
    messages = [item for item in items if isinstance(item, Message)]
    assert messages == items, items
    return messages


async def test_publish_reaches_each_subscriber_of_the_topic_in_order(
    make_channels: MakeChannels,
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            make_channels() as channels,
            channels.subscribe("room") as first,
            channels.subscribe("room", "other") as second,
            channels.subscribe("other") as elsewhere,
        ):
            for n in range(5):
                assert await channels.publish("room", {"n": n}) is None
            await channels.publish("other", "x")
            got = [[item.data for item in await take_messages(sub, 5)] for sub in (first, second)]
            assert got == [[{"n": n} for n in range(5)]] * 2
            assert [m.data for m in await take_messages(second, 1)] == ["x"]
            assert [m.data for m in await take_messages(elsewhere, 1)] == ["x"]
            assert first.get_nowait() is None


async def test_exclude_skips_the_owner(make_channels: MakeChannels) -> None:
    with trio.fail_after(DEADLINE):
        async with make_channels() as channels:
            sender = object()
            async with (
                channels.subscribe("room", owner=sender) as own,
                channels.subscribe("room") as other,
            ):
                await channels.publish("room", "from the sender", exclude=sender)
                await channels.publish("room", "for all")
                assert [m.data for m in await take_messages(other, 2)] == [
                    "from the sender",
                    "for all",
                ]
                assert [m.data for m in await take_messages(own, 1)] == ["for all"]


async def test_a_stalled_subscriber_overflows_while_100_others_get_everything(
    make_channels: MakeChannels,
) -> None:
    total = 300
    received = [0] * 100

    async def consume(index: int, task_status: trio.TaskStatus[None]) -> None:
        async with channels.subscribe("t", max_backlog=1000) as sub:
            task_status.started()
            async for item in sub:
                assert isinstance(item, Message), item
                assert item.data == received[index]  # in order, none missing
                received[index] += 1
                if received[index] == total:
                    return

    with trio.fail_after(DEADLINE):
        async with make_channels() as channels:
            async with channels.subscribe("t", max_backlog=16) as stalled:
                async with trio.open_nursery() as nursery:
                    for index in range(100):
                        await nursery.start(consume, index)
                    for n in range(total):
                        await channels.publish("t", n)
                items = await take(stalled, 17)
            stats = channels.statistics()
    assert received == [total] * 100
    assert items[0] == Gap("t", "overflow", total - 16)
    assert [m.data for m in items[1:] if isinstance(m, Message)] == list(range(total - 16, total))
    assert stats.dropped == total - 16
    assert stats.delivered == 100 * total + 16
    assert stats.published == total


async def test_the_close_policy_ends_the_iteration_with_a_gap(make_channels: MakeChannels) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            make_channels() as channels,
            channels.subscribe("t", max_backlog=2, overflow="close") as sub,
        ):
            for n in range(4):
                await channels.publish("t", n)
            await until(lambda: sub.closed)
            items = [item async for item in sub]
    assert items[-1] == Gap("t", "overflow", None)
    assert [m.data for m in items[:-1] if isinstance(m, Message)] == [0, 1]


async def test_history_replays_then_continues_live_without_duplicates(
    make_channels: MakeChannels,
) -> None:
    with trio.fail_after(DEADLINE):
        async with make_channels(history=10) as channels:
            ids = [await channels.publish("h", n) for n in range(5)]
            assert all(isinstance(i, str) for i in ids)
            assert ids == sorted(ids, key=lambda i: tuple(map(int, str(i).split("-"))))
            async with channels.subscribe("h", history=3) as sub:
                await channels.publish("h", 5)
                items = await take_messages(sub, 4)
                assert [m.data for m in items] == [2, 3, 4, 5]
                assert [m.id for m in items[:3] if isinstance(m, Message)] == ids[2:]
                assert sub.get_nowait() is None


async def test_statistics_count_topics_and_subscribers(make_channels: MakeChannels) -> None:
    with trio.fail_after(DEADLINE):
        async with make_channels() as channels:
            async with channels.subscribe("a", "b"), channels.subscribe("b") as sub:
                await channels.publish("b", 1)
                await take(sub, 1)
                stats = channels.statistics()
                assert (stats.topics, stats.subscribers, stats.published) == (2, 2, 1)
                assert stats.connected
            assert channels.statistics().topics == 0


async def test_using_channels_that_are_not_running_fails_clearly() -> None:
    channels = Channels()
    with pytest.raises(RuntimeError, match="not running"):
        await channels.publish("t", 1)
    with pytest.raises(RuntimeError, match="not running"):
        async with channels.subscribe("t"):
            pass
