"""The two bounded channels of one connection.

- ``inbox`` (receiver -> behaviour): received payloads, ``str`` for text frames and
  ``bytes`` for binary ones. The receiver closes it when the peer leaves, so
  buffered messages are still delivered and then ``EndOfChannel`` follows.
- ``outbox`` (behaviour -> sender): outgoing events. Only the sender hands them to
  the transport; it abandons the outbox when it ends, so later puts fail fast.
  ``None`` is the transport's wake-up (:meth:`BoundedQueue.nudge
  <wsactors.actors.queue.BoundedQueue.nudge>`, outside the bound): it has bytes of
  its own to write (a pong, a keepalive ping, a close echo, the rest of a direct
  write the socket took only in part, see :mod:`wsactors.actors.feed`).

Both are :class:`~wsactors.actors.queue.BoundedQueue`: memory-channel semantics at
an eighth of the memory (every idle connection holds two).

Memory bound per connection (docs/architecture.md)::

    (inbox_size + outbox_size) x max message size + fixed cost
"""

from __future__ import annotations

from ..codec.codec import Payload
from ..connection.events import Outgoing
from .queue import BoundedQueue

__all__ = ["Mailbox"]


class Mailbox:
    """The inbox and outbox of one connection.

    Args:
        inbox_size: Received messages buffered ahead of the behaviour.
        outbox_size: Events queued ahead of the sender.
    """

    __slots__ = ("has_read", "inbox", "outbox", "receiving")

    def __init__(self, inbox_size: int, outbox_size: int) -> None:
        self.inbox = BoundedQueue[Payload](inbox_size)
        self.outbox = BoundedQueue[Outgoing | None](outbox_size)
        #: How many receive calls of the behaviour are waiting on the inbox (written
        #: by the WebSocket handle, read by the watcher's disconnect policy).
        self.receiving = 0
        #: Whether the behaviour ever asked the inbox for a message (it reads, so it
        #: may be handling the last one when the peer leaves; see the watcher).
        self.has_read = False

    def inbox_depth(self) -> int:
        """Messages waiting in the inbox."""
        return len(self.inbox)

    def outbox_depth(self) -> int:
        """Events waiting in the outbox."""
        return len(self.outbox)
