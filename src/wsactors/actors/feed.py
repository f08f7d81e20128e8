"""A connection's topic subscriptions: deliveries at the cost of a write, no task.

``socket.subscribe(*topics)`` makes the connection a subscriber of the App's
Channels without any task of its own. The Channels (a higher layer, which
implements :class:`TopicHub`) give the connection one *lane* per topic: a bounded
backlog with an overflow policy (:class:`Lane`). Publishing offers each message to
the lanes of its topic synchronously; a lane hands it to this connection's
:class:`Feed`, which does the cheapest thing the moment allows:

1. the sender is idle (parked on an empty outbox) and the transport has direct
   writes (:class:`~wsactors.transport.base.DirectWrites`, the native engine):
   the message's shared frame is written to the socket at once, under the
   sender's ownership: no task wakes up. If the socket takes only part of it, the
   rest is the transport's own bytes to write: it wakes the sender as it does for
   a pong (``None`` in the outbox, see :meth:`Transport.attach_sender
   <wsactors.transport.base.Transport.attach_sender>`), and the rest goes out
   before anything else;
2. else, while the outbox has room: it is queued there as a ``Send`` of the
   shared message (handed straight to a parked sender: one wake-up), so a
   transport that frames it writes the frame shared by every subscriber;
3. else the lane keeps it in its backlog, and the sender pulls from the waiting
   lanes (:meth:`Feed.refill`) whenever it has made room.

So a subscriber that stops reading costs its kernel buffers, the outbox and its
lanes' backlogs, never the publisher's time or another subscriber's. Nothing is
delivered once this side's close was queued or the peer left (the state machine's
rule: nothing after a close), and the lanes end with the connection
(:meth:`Feed.end`, run by the supervisor when the behaviour has stopped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import trio

from ..connection.closes import Why
from ..connection.events import Outgoing, Send, SharedText
from ..connection.state import ConnectionState, ProtocolError, State
from .counters import Counters
from .queue import BoundedQueue

__all__ = ["Feed", "Lane", "TopicHub"]

#: Seconds ending a connection's subscriptions may take (a broker unsubscribe).
END_TIMEOUT = 2.0


class Lane(Protocol):
    """One topic subscription of a connection: a bounded backlog in front of a Feed."""

    def drain(self) -> bool:
        """Hand backlogged items to the feed while it takes them.

        Returns:
            True when the backlog is empty (or the lane closed), False when the feed
            is full again.
        """
        ...

    def close(self) -> None:
        """Stop taking messages; drop the backlog."""
        ...

    @property
    def backlog(self) -> int:
        """Messages waiting in the backlog now."""
        ...


class TopicHub(Protocol):
    """What the App's Channels offer a connection (:class:`wsactors.Channels`)."""

    async def attach(
        self,
        feed: Feed,
        topics: tuple[str, ...],
        *,
        history: int,
        max_backlog: int | None,
        overflow: str | None,
        on_gap: str,
    ) -> None:
        """Add a lane to ``feed.lanes`` for each topic it has none of, registered
        before this returns (history replayed first). Undone if it fails or is
        cancelled."""
        ...

    async def detach(self, feed: Feed, topics: tuple[str, ...]) -> None:
        """Close and remove ``feed``'s lanes of ``topics`` (others are ignored)."""
        ...


class Feed:
    """The subscriptions of one connection, and how their deliveries reach the sender.

    Made on the first ``socket.subscribe`` (an unsubscribed connection has none).

    Args:
        hub: The App's Channels.
        owner: The ``WebSocket`` handle: what ``publish(..., exclude=)`` names.
        state: The connection's state machine.
        outbox: The connection's outbox.
        counters: The connection's counters.
        direct: The transport's :meth:`~wsactors.transport.base.DirectWrites.send_now`,
            or None when it has no direct writes.
    """

    __slots__ = (
        "_counters",
        "_direct",
        "_outbox",
        "_state",
        "ended",
        "hub",
        "lanes",
        "owner",
        "waiting",
    )

    def __init__(
        self,
        hub: TopicHub,
        owner: object,
        state: ConnectionState,
        outbox: BoundedQueue[Outgoing | None],
        counters: Counters,
        direct: Callable[[SharedText], int] | None,
    ) -> None:
        self.hub = hub
        self.owner = owner
        self._state = state
        self._outbox = outbox
        self._counters = counters
        self._direct = direct
        #: The lanes, by topic (written by the hub's attach and detach).
        self.lanes: dict[str, Lane] = {}
        #: Lanes with a backlog, waiting for room in the outbox (see refill).
        self.waiting: list[Lane] = []
        #: The connection's subscriptions are over: subscribing raises.
        self.ended = False

    # ------------------------------------------------------------------ the handle's side
    async def subscribe(
        self,
        topics: tuple[str, ...],
        *,
        history: int,
        max_backlog: int | None,
        overflow: str | None,
        on_gap: str,
    ) -> None:
        """See ``WebSocket.subscribe``."""
        state = self._state
        if state.current is State.CONNECTING:
            raise ProtocolError("accept the connection before subscribing")
        if self.ended or not state.sendable:
            raise state.disconnect_error()
        if not topics:
            raise ValueError("subscribe needs at least one topic")
        if on_gap not in ("notify", "close"):
            raise ValueError(f"on_gap must be 'notify' or 'close', got {on_gap!r}")
        await self.hub.attach(
            self,
            topics,
            history=history,
            max_backlog=max_backlog,
            overflow=overflow,
            on_gap=on_gap,
        )

    async def unsubscribe(self, topics: tuple[str, ...]) -> None:
        """See ``WebSocket.unsubscribe``."""
        await self.hub.detach(self, topics)

    async def end(self) -> None:
        """End every subscription (the connection is over). Idempotent.

        Cancellation:
            Shielded and bounded by ``END_TIMEOUT``: it runs while the connection
            ends, whatever cancelled it.
        """
        self.ended = True
        with trio.CancelScope(shield=True), trio.move_on_after(END_TIMEOUT):
            await self.hub.detach(self, tuple(self.lanes))

    # ------------------------------------------------------------------ the lanes' side
    def deliver(self, message: SharedText, *, notice: bool = False) -> bool:
        """Hand ``message`` to the connection now (written, or queued); never blocks.

        ``notice``: a Gap notice, not a published message (not in ``channel_messages``).

        Returns:
            False when the outbox is full: the lane keeps it (and waits, see
            :meth:`wait`). True otherwise, including a message dropped because the
            connection is closing (counted in ``unsent_messages``).
        """
        state = self._state
        counters = self._counters
        if not state.sendable:
            counters.unsent_messages += 1
            return True
        outbox = self._outbox
        direct = self._direct
        # The sender parked on an empty outbox: write under its ownership. Not
        # REFUSED: written, or the transport kept the rest and woke the sender to
        # write it before anything else (PENDING).
        if direct is not None and state.wire_open and outbox.consumer_waiting() and direct(message):
            self._count(message, notice)
            return True
        try:
            outbox.put_nowait(Send(message))
        except trio.WouldBlock:
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            counters.unsent_messages += 1
            return True
        self._count(message, notice)
        return True

    def deliver_close(self) -> bool:
        """Queue close 1013 "Try Again Later" (a lane's ``on_gap="close"``).

        Returns:
            False when the outbox is full (the lane keeps it and waits).
        """
        state = self._state
        event = state.close_event(Why.TRY_AGAIN.code, Why.TRY_AGAIN.reason)
        if event is None:
            return True  # closing already
        try:
            self._outbox.put_nowait(event)
        except trio.WouldBlock:
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return True
        state.queued(event)
        return True

    def wait(self, lane: Lane) -> None:
        """``lane`` has a backlog: the sender pulls from it once it has room."""
        self.waiting.append(lane)

    def count_gap(self, lost: int | None) -> None:
        """A Gap reached this connection (``channel_gaps``, ``channel_lost``)."""
        counters = self._counters
        counters.channel_gaps += 1
        if lost:
            counters.channel_lost += lost

    def _count(self, message: SharedText, notice: bool) -> None:
        counters = self._counters
        counters.messages_out += 1
        counters.bytes_out += len(message.data)
        if not notice:
            counters.channel_messages += 1

    # ------------------------------------------------------------------ the sender's side
    def refill(self) -> None:
        """Move backlogged messages into the outbox while it has room (the sender)."""
        waiting = self.waiting
        while waiting:
            if not waiting[0].drain():
                return
            del waiting[0]

    def backlog(self) -> int:
        """Messages waiting in this connection's lanes now."""
        return sum(lane.backlog for lane in self.lanes.values())
