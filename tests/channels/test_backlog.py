"""The backlog both kinds of subscription share, without I/O: bound, policies, Gaps, replay."""

from __future__ import annotations

import pytest

from wsactors import Gap, Message
from wsactors.channels.backlog import Backlog
from wsactors.channels.items import ChannelCounters


def make(
    max_backlog: int = 3, overflow: str = "drop_oldest", counters: ChannelCounters | None = None
) -> Backlog[object]:
    return Backlog(max_backlog, overflow, counters or ChannelCounters())  # type: ignore[arg-type]


def msg(n: int, topic: str = "a", with_id: bool = False) -> Message:
    return Message(topic, str(n), f"{n}-0" if with_id else None)


def taken(backlog: Backlog[object]) -> list[object]:
    """Everything, oldest first, through popleft (Messages as their text)."""
    out: list[object] = []
    while backlog.items:
        item = backlog.popleft()
        out.append(item.raw if isinstance(item, Message) else item)
    assert backlog.messages == 0
    return out


def test_under_the_bound_everything_is_kept_in_order() -> None:
    backlog = make()
    assert all(backlog.push(msg(n)) for n in range(3))
    assert (backlog.messages, backlog.dropped) == (3, 0)
    assert taken(backlog) == ["0", "1", "2"]


def test_drop_oldest_puts_one_merged_gap_where_the_oldest_were() -> None:
    counters = ChannelCounters()
    backlog = make(counters=counters)
    assert all(backlog.push(msg(n)) for n in range(6))
    assert (backlog.messages, backlog.dropped, counters.dropped) == (3, 3, 3)
    assert taken(backlog) == [Gap("a", "overflow", 3), "3", "4", "5"]


def test_drop_oldest_keeps_a_gap_per_topic_and_leaves_other_gaps_alone() -> None:
    backlog = make(max_backlog=2)
    backlog.add_gap(Gap("a", "reconnect", None))
    for item in (msg(1, "a"), msg(2, "b"), msg(3, "a"), msg(4, "b")):
        backlog.push(item)
    assert taken(backlog) == [
        Gap("a", "reconnect", None),
        Gap("a", "overflow", 1),
        Gap("b", "overflow", 1),
        "3",
        "4",
    ]


def test_drop_newest_puts_the_gap_after_what_was_kept() -> None:
    counters = ChannelCounters()
    backlog = make(overflow="drop_newest", counters=counters)
    assert all(backlog.push(msg(n)) for n in range(5))
    assert backlog.popleft() == msg(0)  # room for one more
    backlog.push(msg(5))
    assert (backlog.dropped, counters.dropped) == (2, 2)
    assert taken(backlog) == ["1", "2", Gap("a", "overflow", 2), "5"]


def test_close_policy_refuses_the_message_and_ends_with_an_uncounted_gap() -> None:
    counters = ChannelCounters()
    backlog = make(max_backlog=2, overflow="close", counters=counters)
    assert backlog.push(msg(1))
    assert backlog.push(msg(2))
    assert backlog.push(msg(3)) is False
    assert (backlog.messages, backlog.dropped, counters.dropped) == (2, 1, 1)
    assert taken(backlog) == ["1", "2", Gap("a", "overflow", None)]


def test_gaps_merge_with_the_last_one_of_their_topic_and_reason() -> None:
    backlog = make()
    backlog.add_gap(Gap("a", "history_trimmed", 2))
    backlog.add_gap(Gap("a", "history_trimmed", 3))
    backlog.add_gap(Gap("b", "history_trimmed", 1))
    backlog.add_gap(Gap("b", "reconnect", None))
    backlog.add_gap(Gap("b", "reconnect", 4))
    assert backlog.messages == 0
    assert backlog.dropped == 0
    assert taken(backlog) == [
        Gap("a", "history_trimmed", 5),
        Gap("b", "history_trimmed", 1),
        Gap("b", "reconnect", None),  # one unknown loss makes the sum unknown
    ]


def test_gaps_do_not_count_toward_the_bound() -> None:
    backlog = make(max_backlog=2)
    backlog.add_gap(Gap("a", "reconnect", None))
    backlog.push(msg(1))
    backlog.push(msg(2))
    assert backlog.dropped == 0
    assert taken(backlog) == [Gap("a", "reconnect", None), "1", "2"]


def test_owner_markers_stay_where_they_are_put_and_are_not_counted() -> None:
    marker = object()
    backlog: Backlog[object] = Backlog(1, "drop_oldest", ChannelCounters())
    backlog.push(msg(1))
    backlog.items.append(marker)
    assert backlog.messages == 1
    assert taken(backlog) == ["1", marker]


def test_replay_goes_first_and_drops_live_duplicates_of_its_topic() -> None:
    backlog = make(max_backlog=5)
    for item in (msg(2, with_id=True), msg(2, "b", with_id=True), msg(4, with_id=True)):
        backlog.push(item)
    newest = backlog.replay("a", [msg(n, with_id=True) for n in (1, 2, 3)])
    assert newest == (3, 0)
    assert backlog.messages == 5
    # Message 2 of topic "a" was live and in the history: it is kept once, in
    # the history's place; topic "b"'s message 2 is another message.
    items = [backlog.popleft() for _ in range(5)]
    assert items == [
        msg(1, with_id=True),
        msg(2, with_id=True),
        msg(3, with_id=True),
        msg(2, "b", with_id=True),
        msg(4, with_id=True),
    ]


def test_replay_is_cut_to_the_room_left_and_loses_nothing_counted() -> None:
    counters = ChannelCounters()
    backlog = make(max_backlog=3, counters=counters)
    backlog.push(msg(10, with_id=True))
    backlog.push(msg(11, with_id=True))
    backlog.replay("a", [msg(n, with_id=True) for n in range(1, 6)])
    assert (backlog.messages, backlog.dropped, counters.dropped) == (3, 0, 0)
    assert taken(backlog) == ["5", "10", "11"]


def test_replay_into_a_full_backlog_adds_nothing() -> None:
    backlog = make(max_backlog=1)
    backlog.push(msg(10, with_id=True))
    assert backlog.replay("a", [msg(1, with_id=True)]) == (1, 0)
    assert taken(backlog) == ["10"]


def test_replay_keeps_gaps_where_they_were() -> None:
    backlog = make(max_backlog=4)
    backlog.push(msg(1, with_id=True))
    backlog.add_gap(Gap("a", "reconnect", None))
    backlog.push(msg(5, with_id=True))
    backlog.replay("a", [msg(n, with_id=True) for n in (1, 2)])
    assert taken(backlog) == ["1", "2", Gap("a", "reconnect", None), "5"]


@pytest.mark.parametrize("overflow", ["drop_oldest", "drop_newest", "close"])
def test_each_policy_keeps_at_most_the_bound(overflow: str) -> None:
    backlog = make(max_backlog=4, overflow=overflow)
    for n in range(50):
        backlog.push(msg(n))
        assert backlog.messages <= 4
    assert sum(isinstance(item, Message) for item in backlog.items) == backlog.messages == 4
