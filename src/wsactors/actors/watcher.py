"""The disconnect watcher: decides when the behaviour must stop, and why.

It is owned by the supervisor and holds the stop reason and the disconnect-grace
policy. It is not a task: the receiver, the sender and the App's drain call its
methods as events happen, and each reaction (cancelling a scope or moving its
deadline) is synchronous. Only :meth:`Watcher.time_sends` runs as a task, and only
when writes must be timed from outside the transport.

Policy on a peer leaving (decided at the moment it arrives):

- a behaviour that *never read* (a push-only handler) is cancelled at once:
  nothing it sends can arrive any more, and only its ``finally`` blocks run;
- a behaviour that has received before (it may be handling the last message the
  peer sent: cancelling it would lose that work), is waiting in a receive, has
  messages still queued, is a listener, or is streaming under the data-discard
  rule (the stream ends, the code after it runs) gets ``disconnect_grace``
  seconds: it drains what arrived before the disconnect and then receives
  ``WebSocketDisconnect`` (``iter_*`` end quietly), so ``except
  WebSocketDisconnect`` blocks run as Starlette users expect.
"""

from __future__ import annotations

import trio

from ..connection.closes import Why, stop_error
from .discard import DiscardRule
from .mailbox import Mailbox

__all__ = ["Watcher"]


class Watcher:
    """Stops the behaviour of one connection.

    Args:
        disconnect_grace: Seconds a reading behaviour may run after the peer left.
        reader: The handler kind always reads (listeners): grace, never instant
            cancellation.
    """

    __slots__ = ("_grace", "_reader", "listening", "scope", "send_started", "stop_reason")

    def __init__(self, disconnect_grace: float, *, reader: bool) -> None:
        #: The behaviour's cancel scope: cancelling it is the only way to stop it.
        self.scope = trio.CancelScope()
        #: Why the watcher stopped the behaviour, when it did for a reason of its own.
        self.stop_reason: BaseException | None = None
        #: The data-discard rule in force (a stream listening for disconnects).
        self.listening: DiscardRule | None = None
        #: When the write in progress started (written by the sender when timed).
        self.send_started: float | None = None
        self._grace = disconnect_grace
        self._reader = reader

    def peer_left(self, mailbox: Mailbox) -> None:
        """Apply the disconnect policy. Call before the inbox is closed: closing it
        wakes a pending receive, which would then look "not reading"."""
        listening = self.listening
        if listening is not None:
            listening.peer_left()
        if (
            self._reader
            or listening is not None
            or mailbox.has_read
            or mailbox.receiving > 0
            or mailbox.inbox_depth() > 0
        ):
            scope = self.scope
            scope.deadline = min(scope.deadline, trio.current_time() + self._grace)
        else:
            self.scope.cancel()

    def stop(self, error: BaseException) -> None:
        """Stop the behaviour and close with ``error``'s code; the first reason wins."""
        if self.stop_reason is None:
            self.stop_reason = error
        self.scope.cancel()

    async def time_sends(self, send_timeout: float) -> None:
        """Stop the behaviour with 1008 "send timeout" when one write lasts ``send_timeout``.

        For transports whose writes cannot be aborted (hypercorn shields them): the
        write cannot time itself out, so this looks at it a few times per period.

        Cancellation:
            Cancelled by the supervisor when the connection is over.
        """
        while True:
            await trio.sleep(send_timeout / 4)
            since = self.send_started
            if since is not None and trio.current_time() - since >= send_timeout:
                self.stop(stop_error(Why.SEND_TIMEOUT))
