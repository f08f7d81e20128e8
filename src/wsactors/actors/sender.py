"""The sender: the only caller of ASGI ``send``.

It drains the outbox in order. Because every outgoing event passes through this one
task, the close frame is sent exactly once and never after the client left, and no
lock is needed around ``send``.

It runs in a *shielded* cancel scope owned by the supervisor: when the server
cancels the connection (shutdown), the sender survives long enough to send the
final close frame; the supervisor bounds that with ``close_timeout``.
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
    stop the behaviour. With ``send_timeout``, the start of each send is recorded
    for the watcher, which stops the behaviour with 1008 when one stalls.

    Cancellation:
        Shielded from outer cancellation; ended by the supervisor through
        ``box.sender_scope``. Sets ``box.sender_done`` however it ends.
    """
    task_status.started()
    protocol = box.protocol
    outbox = box.outbox_recv
    timeout = box.config.send_timeout
    try:
        with box.sender_scope:
            while True:
                try:
                    # Drain what is queued without a scheduler round trip per item;
                    # park only when the outbox is empty.
                    message = outbox.receive_nowait()
                except trio.WouldBlock:
                    try:
                        message = await outbox.receive()
                    except trio.EndOfChannel:
                        break
                except trio.EndOfChannel:
                    break
                if protocol.client_gone:
                    if message["type"] == "websocket.send":
                        box.counters.unsent_messages += 1
                    continue
                if timeout is None:
                    await send(message)
                    continue
                # hypercorn shields its socket writes, so a stalled send cannot be
                # cancelled from here; the watcher times it instead.
                box.sending_since = trio.current_time()
                await send(message)
                box.sending_since = None
    except Exception as exc:
        box.request_stop(exc)
    finally:
        # Later sends fail fast (BrokenResourceError -> WebSocketDisconnect) instead
        # of blocking on a queue nobody drains.
        box.outbox_recv.close()
        box.sender_done.set()
