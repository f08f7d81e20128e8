"""The disconnect watcher: decides when the behaviour must stop.

It reacts to a client disconnect, a stop request (an actor failed, a stream rule was
broken, the server is shutting down) by cancelling the behaviour's cancel scope.
Cancellation is the only way an actor is ever stopped.

Policy on a client disconnect:

- a behaviour that is *not reading* (a push-only handler, a stream, a listener in
  the middle of its function with nothing queued) is cancelled at once: nothing it
  sends can arrive any more;
- a behaviour that is reading, or has messages still queued, or is a listener, is
  given ``disconnect_grace`` seconds: it drains what arrived before the disconnect
  and then receives ``WebSocketDisconnect`` (``iter_*`` end quietly), so
  ``except WebSocketDisconnect`` blocks run as Starlette users expect.
"""

from __future__ import annotations

import trio

from .mailbox import ClientLeft, Mailbox

__all__ = ["run_watcher"]


async def run_watcher(
    box: Mailbox, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Watch the connection's events and stop the behaviour when it must end.

    Cancellation:
        Cancelled by the supervisor when the connection is over.
    """
    task_status.started()
    scope = box.behaviour_scope
    async for event in box.events:
        if isinstance(event, ClientLeft):
            if event.reading:
                scope.deadline = min(
                    scope.deadline, trio.current_time() + box.config.disconnect_grace
                )
            else:
                scope.cancel()
        else:
            if box.stop_error is None:
                box.stop_error = event.error
            scope.cancel()
