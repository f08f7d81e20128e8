"""The sender: the only caller of ASGI ``send``.

It drains the outbox in order. Because every outgoing event passes through this one
task, the close frame is sent exactly once and never after the client left, and no
lock is needed around ``send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from .mailbox import Mailbox

__all__ = ["run_sender"]

ASGISend = Callable[[dict[str, Any]], Awaitable[None]]


async def run_sender(
    box: Mailbox,
    send: ASGISend,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Send queued ASGI events until the outbox is closed and empty.

    Events queued after the client left are not sent (the server would drop them);
    they are counted in ``unsent_messages``. A failing ``send`` asks the watcher to
    stop the behaviour.

    Cancellation:
        Cancelled by the supervisor only after the close-flush deadline; sets
        ``box.sender_done`` however it ends.
    """
    task_status.started()
    protocol = box.protocol
    try:
        async for message in box.outbox_recv:
            if protocol.client_gone:
                if message["type"] == "websocket.send":
                    box.counters.unsent_messages += 1
                continue
            await send(message)
    except Exception as exc:
        box.request_stop(exc)
    finally:
        # Later sends fail fast (BrokenResourceError -> WebSocketDisconnect) instead
        # of blocking on a queue nobody drains.
        box.outbox_recv.close()
        box.sender_done.set()
