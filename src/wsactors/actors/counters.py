"""Per-connection statistics: one counters object, each counter with one writer."""

from __future__ import annotations

from dataclasses import dataclass

from ..codec.codec import Payload
from .mailbox import Mailbox

__all__ = ["ConnectionStatistics", "Counters", "payload_size"]


@dataclass(frozen=True, slots=True)
class ConnectionStatistics:
    """A snapshot of one connection's counters (``WebSocket.statistics()``).

    Byte counts are payload bytes (UTF-8 for text frames), not wire bytes.
    ``channel_messages`` counts the messages of the connection's own subscriptions
    (``socket.subscribe``) handed to it, also counted in ``messages_out`` and
    ``bytes_out``; ``channel_backlog`` is how many wait in their backlogs now.
    ``channel_gaps`` counts the ``Gap`` items ``Channels.send_to`` and those
    subscriptions met for this connection, ``channel_lost`` the messages they
    reported lost (a Gap of unknown count, a broker reconnect, adds none).
    ``send_waits`` counts the sends that found the outbox full and waited for room
    (backpressure from a slow client).
    """

    messages_in: int
    messages_out: int
    bytes_in: int
    bytes_out: int
    dropped_frames: int
    discarded_messages: int
    rate_limited_messages: int
    unsent_messages: int
    send_waits: int
    channel_gaps: int
    channel_lost: int
    channel_messages: int
    channel_backlog: int
    inbox_depth: int
    outbox_depth: int
    inbox_size: int
    outbox_size: int


def payload_size(data: Payload) -> int:
    """Payload bytes of a frame; ASCII text is counted without encoding it."""
    if type(data) is str and not data.isascii():
        return len(data.encode("utf-8"))
    return len(data)


class Counters:
    """Mutable counters; the comment on each names its only writer."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "channel_gaps",
        "channel_lost",
        "channel_messages",
        "discarded_messages",
        "dropped_frames",
        "messages_in",
        "messages_out",
        "rate_limited_messages",
        "send_waits",
        "unsent_messages",
    )

    def __init__(self) -> None:
        self.messages_in = 0  # receiver
        self.bytes_in = 0  # receiver
        # The WebSocket handle once the message is queued, and the Feed (the
        # connection's subscriptions) once it is queued or written.
        self.messages_out = 0
        self.bytes_out = 0
        self.dropped_frames = 0  # WebSocket handle: frames of the other transport mode
        self.discarded_messages = 0  # the data-discard rule (in the receiver)
        self.rate_limited_messages = 0  # receiver: rate_limit_policy="drop"
        self.unsent_messages = 0  # sender: queued, but the peer had left
        self.send_waits = 0  # ConnectionRuntime.put: the outbox was full
        # Channels.send_to (through HandlerContext.count_gap) and the Feed.
        self.channel_gaps = 0
        self.channel_lost = 0
        self.channel_messages = 0  # the Feed

    def snapshot(self, mailbox: Mailbox, backlog: int = 0) -> ConnectionStatistics:
        """The counters, the mailbox's queue depths and the subscriptions' ``backlog``,
        as one immutable value."""
        return ConnectionStatistics(
            messages_in=self.messages_in,
            messages_out=self.messages_out,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            dropped_frames=self.dropped_frames,
            discarded_messages=self.discarded_messages,
            rate_limited_messages=self.rate_limited_messages,
            unsent_messages=self.unsent_messages,
            send_waits=self.send_waits,
            channel_gaps=self.channel_gaps,
            channel_lost=self.channel_lost,
            channel_messages=self.channel_messages,
            channel_backlog=backlog,
            inbox_depth=mailbox.inbox_depth(),
            outbox_depth=mailbox.outbox_depth(),
            inbox_size=mailbox.inbox.size,
            outbox_size=mailbox.outbox.size,
        )
