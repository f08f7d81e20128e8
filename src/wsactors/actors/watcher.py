"""The disconnect watcher: decides when the behaviour must stop.

It reacts to a client disconnect, a stop request (an actor failed, a stream rule was
broken, a limit was hit, the server is shutting down) and, with a ``send_timeout``,
a send stalled that long, by cancelling the behaviour's cancel scope. Cancellation
is the only way an actor is ever stopped.

Policy on a client disconnect (decided by the receiver at the moment it arrives):

- a behaviour that is *not reading* (a push-only handler, a stream, a raw handler
  busy between receives with nothing queued) is cancelled at once: nothing it sends
  can arrive any more, and only its ``finally`` blocks run;
- a behaviour that is waiting in a receive, has messages still queued, or is a
  listener, is given ``disconnect_grace`` seconds: it drains what arrived before
  the disconnect and then receives ``WebSocketDisconnect`` (``iter_*`` end
  quietly), so ``except WebSocketDisconnect`` blocks run as Starlette users expect.
"""

from __future__ import annotations

import trio

from ..exceptions import WebSocketException
from ..protocol import POLICY_VIOLATION
from .mailbox import ClientLeft, Mailbox, StopRequested, WatcherEvent

__all__ = ["run_watcher"]


async def run_watcher(
    box: Mailbox, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Watch the connection's events and stop the behaviour when it must end.

    Cancellation:
        Cancelled by the supervisor when the connection is over.
    """
    task_status.started()
    send_timeout = box.config.send_timeout
    if send_timeout is None:
        async for event in box.events:
            _react(box, event)
        return
    # With a send_timeout, also look at the sender a few times per period: hypercorn
    # shields its socket writes, so a stalled send cannot time itself out.
    stalled = StopRequested(WebSocketException("send timeout", POLICY_VIOLATION))
    while True:
        with trio.move_on_after(send_timeout / 4):
            try:
                event = await box.events.receive()
            except trio.EndOfChannel:
                return
            _react(box, event)
            continue
        since = box.sending_since
        if since is not None and trio.current_time() - since >= send_timeout:
            _react(box, stalled)


def _react(box: Mailbox, event: WatcherEvent) -> None:
    """Apply the disconnect policy, or a stop request, to the behaviour's scope."""
    scope = box.behaviour_scope
    if isinstance(event, ClientLeft):
        if event.reading:
            scope.deadline = min(scope.deadline, trio.current_time() + box.config.disconnect_grace)
        else:
            scope.cancel()
        return
    if box.stop_error is None:
        box.stop_error = event.error
    scope.cancel()
