"""The disconnect watcher: decides when the behaviour must stop.

It is the policy, not a task: the receiver, the sender and the App's drain report
events by calling :func:`react` (through ``Mailbox.watcher``), which cancels the
behaviour's scope or moves its deadline, both synchronous. Only the send timer
(:func:`watch_sends`, with a ``send_timeout``) runs as a task.

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

import functools

import trio

from ..exceptions import WebSocketException
from ..protocol import POLICY_VIOLATION
from .mailbox import ClientLeft, Mailbox, StopRequested, WatcherEvent

__all__ = ["install", "react", "watch_sends"]


def install(box: Mailbox) -> None:
    """Make :func:`react` the mailbox's watcher: events are handled as they happen."""
    box.watcher = functools.partial(react, box)


def react(box: Mailbox, event: WatcherEvent) -> None:
    """Apply the disconnect policy, or a stop request, to the behaviour's scope.

    Synchronous: cancelling a scope or moving its deadline never blocks, so the
    reporter (receiver, sender, the App's drain) calls this directly instead of
    queueing the event for a task (a task and a channel per connection cost ~3 KiB).
    """
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


async def watch_sends(
    box: Mailbox, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Time the sender's sends (started only with a ``send_timeout``).

    hypercorn shields its socket writes, so a stalled send cannot time itself out;
    this task looks at the send in progress a few times per period and stops the
    behaviour with 1008 "send timeout" when one has lasted ``send_timeout``.

    Cancellation:
        Cancelled by the supervisor when the connection is over.
    """
    task_status.started()
    send_timeout = box.config.send_timeout
    assert send_timeout is not None
    stalled = StopRequested(WebSocketException("send timeout", POLICY_VIOLATION))
    while True:
        await trio.sleep(send_timeout / 4)
        since = box.sending_since
        if since is not None and trio.current_time() - since >= send_timeout:
            react(box, stalled)
