"""The sender: the only caller of ASGI ``send``.

It drains the outbox in order. Because every outgoing event passes through this one
task, the close frame is sent exactly once and never after the client left, and no
lock is needed around ``send``.

It runs in a *shielded* cancel scope owned by the supervisor: when the server
cancels the connection (shutdown), the sender survives long enough to send the
final close frame; the supervisor bounds that with ``close_timeout``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..exceptions import WebSocketException
from ..protocol import POLICY_VIOLATION
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
    stop the behaviour; a send stalled longer than ``send_timeout`` (a client that
    stopped reading) closes the connection with 1008.

    Cancellation:
        Shielded from outer cancellation; ended by the supervisor through
        ``box.sender_scope``. Sets ``box.sender_done`` however it ends.
    """
    task_status.started()
    protocol = box.protocol
    timeout = box.config.send_timeout if box.config.send_timeout is not None else math.inf
    try:
        with box.sender_scope:
            async for message in box.outbox_recv:
                if protocol.client_gone:
                    if message["type"] == "websocket.send":
                        box.counters.unsent_messages += 1
                    continue
                with trio.move_on_after(timeout) as stalled:
                    await send(message)
                if stalled.cancelled_caught:
                    box.request_stop(WebSocketException("send timeout", POLICY_VIOLATION))
                    timeout = math.inf  # give the close frame its own chance
    except Exception as exc:
        box.request_stop(exc)
    finally:
        # Later sends fail fast (BrokenResourceError -> WebSocketDisconnect) instead
        # of blocking on a queue nobody drains.
        box.outbox_recv.close()
        box.sender_done.set()
