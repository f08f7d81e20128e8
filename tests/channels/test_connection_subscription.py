"""A connection's subscriptions without sockets: the lanes, their backlogs, the Feed.

The "sender" here is the test: it takes events from the outbox and calls
``feed.refill()`` as the real sender does once it has made room. The direct path
(the sender parked on an empty outbox) uses a parked task and a fake
``send_now`` that records frames.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from helpers import DEADLINE
from wsactors.actors.counters import Counters
from wsactors.actors.feed import Feed
from wsactors.actors.queue import BoundedQueue
from wsactors.channels.connection import ConnectionSubscription
from wsactors.channels.hub import Hub
from wsactors.channels.items import Message
from wsactors.codec.codec import Codec
from wsactors.connection.events import Close, Outgoing, Send
from wsactors.connection.state import ConnectionState
from wsactors.transport.base import SharedText, WriteNow
from wsactors.transport.native.rfc6455 import text_frame


class FakeHub:
    """Feed's TopicHub; never called here (lanes are made directly)."""

    async def attach(self, feed: Feed, topics: tuple[str, ...], **options: Any) -> None:
        raise AssertionError("not used")

    async def detach(self, feed: Feed, topics: tuple[str, ...]) -> None:
        raise AssertionError("not used")


class Writer:
    """A fake DirectWrites.send_now: answers as scripted, records what it wrote."""

    def __init__(self, answer: int = WriteNow.WRITTEN) -> None:
        self.answer = answer
        self.written: list[SharedText] = []

    def __call__(self, message: SharedText) -> int:
        if self.answer != WriteNow.REFUSED:
            self.written.append(message)
        return self.answer


def open_state() -> ConnectionState:
    state = ConnectionState((), http_denials=True)
    accept = state.accept_event(None, None)
    state.queued(accept)
    state.hand_over(accept)
    return state


class Connection:
    """One connection's Feed, outbox and counters, with one lane per topic."""

    def __init__(self, outbox_size: int = 2, writer: Writer | None = None) -> None:
        self.state = open_state()
        self.outbox = BoundedQueue[Outgoing | None](outbox_size)
        self.counters = Counters()
        self.feed = Feed(FakeHub(), self, self.state, self.outbox, self.counters, writer)
        self.hub = Hub()

    def lane(self, topic: str = "t", **options: Any) -> ConnectionSubscription:
        options.setdefault("max_backlog", 3)
        options.setdefault("overflow", "drop_oldest")
        options.setdefault("on_gap", "notify")
        sub = ConnectionSubscription(
            topic,
            self.feed,
            counters=self.hub.counters,
            dumps=Codec().dumps,
            **options,
        )
        self.feed.lanes[topic] = sub
        self.hub.add(sub)
        return sub

    def send(self) -> list[Any]:
        """Be the sender until the outbox and the lanes are empty: what went out."""
        out: list[Any] = []
        while True:
            self.feed.refill()
            try:
                event = self.outbox.get_nowait()
            except trio.WouldBlock:
                return out
            if isinstance(event, Send):
                # Queued as the shared message: one encoding, one frame for all.
                assert isinstance(event.data, SharedText)
                out.append(json.loads(event.data.text))
            else:
                out.append(event)


def publish(hub: Hub, *numbers: int, topic: str = "t", exclude: str | None = None) -> None:
    for n in numbers:
        hub.dispatch(Message(topic, json.dumps(n)), exclude)


def gap(count: int | None, reason: str = "overflow") -> dict[str, Any]:
    return {"type": "gap", "topic": "t", "reason": reason, "count": count}


def test_drop_oldest_keeps_the_newest_and_puts_a_gap_where_the_oldest_were() -> None:
    conn = Connection()
    sub = conn.lane()
    publish(conn.hub, *range(7))
    # Two fit in the outbox; three wait in the backlog, the bound.
    assert (len(conn.outbox), sub.backlog, conn.feed.backlog()) == (2, 3, 3)
    assert conn.send() == [0, 1, gap(2), 4, 5, 6]
    stats = conn.hub.counters
    assert (stats.delivered, stats.dropped, stats.gaps) == (5, 2, {"overflow": 1})
    counters = conn.counters
    assert (counters.channel_messages, counters.channel_gaps, counters.channel_lost) == (5, 1, 2)
    assert counters.messages_out == 6  # the Gap notice is a message out too
    assert conn.feed.waiting == []


def test_drop_newest_keeps_the_oldest_and_puts_a_gap_after_them() -> None:
    conn = Connection()
    conn.lane(overflow="drop_newest")
    publish(conn.hub, *range(8))
    assert conn.send() == [0, 1, 2, 3, 4, gap(3)]


def test_on_gap_close_queues_1013_after_what_was_delivered_and_takes_nothing_more() -> None:
    conn = Connection()
    sub = conn.lane(on_gap="close")
    publish(conn.hub, *range(6))
    assert conn.send() == [0, 1, Close(1013, "Try Again Later")]
    assert sub.closed
    assert conn.state.close_code == 1013
    publish(conn.hub, 7)
    assert conn.send() == []


def test_the_close_policy_delivers_what_was_kept_then_the_gap_then_1013() -> None:
    conn = Connection()
    conn.lane(overflow="close")
    publish(conn.hub, *range(7))
    assert conn.send() == [0, 1, 2, 3, 4, gap(None), Close(1013, "Try Again Later")]


def test_a_lane_never_holds_more_than_its_bound_whatever_is_published() -> None:
    conn = Connection(outbox_size=1)
    sub = conn.lane(max_backlog=5)
    for n in range(1000):
        publish(conn.hub, n)
        assert sub.backlog <= 5
    assert len(conn.outbox) == 1
    assert conn.hub.counters.dropped == 1000 - 6


def test_nothing_is_delivered_once_this_side_queued_its_close() -> None:
    conn = Connection()
    conn.lane()
    close = conn.state.close_event(1000, "")
    assert close is not None
    conn.state.queued(close)
    publish(conn.hub, 1, 2)
    assert conn.send() == []
    assert conn.counters.unsent_messages == 2
    assert conn.counters.channel_messages == 0


def test_publishing_with_exclude_skips_the_connection() -> None:
    conn = Connection()
    conn.lane()
    other = Connection()
    other.hub = conn.hub
    other.lane()
    publish(conn.hub, 1, exclude=conn.feed.lanes["t"].exclude_key)  # type: ignore[attr-defined]
    assert (conn.send(), other.send()) == ([], [1])


def test_a_history_replay_goes_before_live_messages_and_duplicates_are_dropped() -> None:
    conn = Connection(outbox_size=10)
    sub = conn.lane(max_backlog=10, holding=True)
    live = [Message("t", json.dumps(n), f"{n}-0") for n in (3, 4)]
    for message in live:
        conn.hub.dispatch(message)
    assert conn.send() == []  # held until the replay is in
    sub.replay([Message("t", json.dumps(n), f"{n}-0") for n in (1, 2, 3)])
    sub.release()
    assert conn.send() == [1, 2, 3, 4]
    conn.hub.dispatch(Message("t", "4", "4-0"))  # seen already
    assert conn.send() == []


def test_a_backend_gap_reaches_the_client_where_it_happened() -> None:
    conn = Connection()
    conn.lane()
    publish(conn.hub, 1)
    conn.hub.gap("t", "reconnect")
    publish(conn.hub, 2)
    assert conn.send() == [1, gap(None, "reconnect"), 2]
    assert conn.hub.counters.gaps == {"reconnect": 1}


async def test_an_idle_sender_lets_deliveries_be_written_directly() -> None:
    writer = Writer()
    conn = Connection(writer=writer)
    second = Connection(writer=writer)
    second.hub = conn.hub
    conn.lane()
    second.lane()
    got: list[Any] = []
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:

            async def sender(outbox: BoundedQueue[Outgoing | None]) -> None:
                got.append(await outbox.get())

            nursery.start_soon(sender, conn.outbox)
            nursery.start_soon(sender, second.outbox)
            await trio.testing.wait_all_tasks_blocked()
            publish(conn.hub, 1)
            # Written for both, one shared message: nothing went through the
            # outboxes of the parked senders, and nothing woke them.
            assert [m.text for m in writer.written] == ["1", "1"]
            assert writer.written[0] is writer.written[1]
            assert conn.counters.channel_messages == second.counters.channel_messages == 1
            assert conn.outbox.consumer_waiting()
            assert second.outbox.consumer_waiting()
            # The socket took part of it: delivered. The transport keeps the rest
            # and wakes the sender itself (its attach_sender wake, tested with the
            # native transport): nothing goes through the outbox.
            writer.answer = WriteNow.PENDING
            publish(conn.hub, 2)
            assert [m.text for m in writer.written] == ["1", "1", "2", "2"]
            assert conn.counters.channel_messages == second.counters.channel_messages == 2
            assert conn.outbox.consumer_waiting()
            assert second.outbox.consumer_waiting()
            nursery.cancel_scope.cancel()
    assert got == []


async def test_a_refused_direct_write_goes_through_the_outbox() -> None:
    conn = Connection(writer=Writer(WriteNow.REFUSED))
    conn.lane()
    got: list[Any] = []
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:

            async def sender() -> None:
                got.append(await conn.outbox.get())

            nursery.start_soon(sender)
            await trio.testing.wait_all_tasks_blocked()
            publish(conn.hub, 1)
    [event] = got
    assert isinstance(event, Send)
    assert isinstance(event.data, SharedText)
    assert event.data.text == "1"


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_the_shared_frame_is_the_frame_websockets_would_write(size: int) -> None:
    from websockets.frames import Frame, Opcode

    data = b"x" * size
    assert text_frame(data) == Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
