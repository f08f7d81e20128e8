"""The bounded backlog of one subscription, without I/O: policies, Gaps, dedupe, replay."""

from __future__ import annotations

import pytest
import trio

from helpers import DEADLINE
from wsactors import Gap, Message
from wsactors.channels.items import ChannelCounters
from wsactors.channels.subscription import Subscription


def make(max_backlog: int = 3, overflow: str = "drop_oldest") -> Subscription:
    return Subscription(
        ("a", "b"),
        max_backlog=max_backlog,
        overflow=overflow,  # type: ignore[arg-type]
        owner=None,
        counters=ChannelCounters(),
    )


def drain(sub: Subscription) -> list[object]:
    out: list[object] = []
    while (item := sub.get_nowait()) is not None:
        out.append(item.raw if isinstance(item, Message) else item)
    return out


def msg(n: int, topic: str = "a", with_id: bool = False) -> Message:
    return Message(topic, str(n), f"{n}-0" if with_id else None)


def test_drop_oldest_puts_one_coalesced_gap_where_the_oldest_were() -> None:
    sub = make()
    for n in range(6):
        sub.offer(msg(n))
    assert drain(sub) == [Gap("a", "overflow", 3), "3", "4", "5"]
    stats = sub.statistics()
    assert (stats.delivered, stats.dropped, stats.gaps, stats.backlog) == (3, 3, 1, 0)


def test_drop_oldest_keeps_gaps_per_topic() -> None:
    sub = make(max_backlog=2)
    for item in (msg(1, "a"), msg(2, "b"), msg(3, "a"), msg(4, "b")):
        sub.offer(item)
    assert drain(sub) == [Gap("a", "overflow", 1), Gap("b", "overflow", 1), "3", "4"]


def test_drop_newest_puts_the_gap_after_what_was_kept() -> None:
    sub = make(overflow="drop_newest")
    for n in range(5):
        sub.offer(msg(n))
    sub.get_nowait()  # room for one more
    sub.offer(msg(5))
    assert drain(sub) == ["1", "2", Gap("a", "overflow", 2), "5"]


def test_close_policy_ends_the_subscription_with_a_gap() -> None:
    sub = make(overflow="close")
    for n in range(4):
        sub.offer(msg(n))
    sub.offer(msg(9))  # ignored: closed
    assert sub.closed
    assert sub.close_reason == "overflow"
    assert drain(sub) == ["0", "1", "2", Gap("a", "overflow", None)]
    assert sub.statistics().dropped == 1


def test_messages_not_newer_than_the_last_id_are_duplicates() -> None:
    sub = make(max_backlog=10)
    for n in (1, 2, 2, 1, 3):
        sub.offer(msg(n, with_id=True))
    assert drain(sub) == ["1", "2", "3"]


def test_replay_goes_first_and_drops_live_duplicates() -> None:
    sub = make(max_backlog=10)
    sub.offer(msg(4, with_id=True))  # live, already in the history
    sub.offer(msg(5, with_id=True))  # live, newer
    sub.offer(msg(7, "b"))
    sub.replay("a", [msg(n, with_id=True) for n in (2, 3, 4)])
    sub.offer(msg(4, with_id=True))  # late duplicate
    assert drain(sub) == ["2", "3", "4", "5", "7"]


def test_replay_never_overflows_the_backlog() -> None:
    sub = make(max_backlog=2)
    sub.replay("a", [msg(n, with_id=True) for n in (1, 2, 3, 4)])
    assert drain(sub) == ["3", "4"]


def test_gaps_from_the_backend_coalesce() -> None:
    sub = make()
    sub.offer(msg(1))
    sub.gap("a", "reconnect")
    sub.gap("a", "reconnect")
    assert drain(sub) == ["1", Gap("a", "reconnect", None)]


async def test_get_waits_for_an_item_and_stops_after_close() -> None:
    sub = make()
    got: list[object] = []

    async def consume() -> None:
        async for item in sub:
            got.append(item)

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await trio.sleep(0.01)
            sub.offer(msg(1))
            await trio.sleep(0.01)
            sub.close()
    assert got == [msg(1)]


@pytest.mark.parametrize("bad", [{"max_backlog": 0}, {"overflow": "block"}])
async def test_bad_options_are_refused(bad: dict[str, object]) -> None:
    from wsactors import Channels

    with pytest.raises(ValueError, match=r"max_backlog|overflow"):
        Channels(**bad)  # type: ignore[arg-type]
