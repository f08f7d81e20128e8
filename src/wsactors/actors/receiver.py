"""The receiver: the only caller of ASGI ``receive``.

It runs for the whole life of the connection, whatever the behaviour does, so a
client leaving is noticed at once even by a handler that only sends (hypercorn
drops sends after the close silently; without a reader such a handler would push
into the void forever).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from .mailbox import Mailbox, payload_size

__all__ = ["run_receiver"]

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]


async def run_receiver(
    box: Mailbox,
    receive: ASGIReceive,
    on_data: Callable[[Mailbox, Any], bool] | None = None,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Move ASGI messages into the inbox until the client disconnects.

    Args:
        box: The connection's mailbox.
        receive: The ASGI ``receive`` callable.
        on_data: Optional filter called for each payload before it is queued;
            returning False keeps it out of the inbox (used by streams to apply the
            data-discard rule).

    Cancellation:
        The supervisor cancels the receiver once the connection is over; being
        cancelled while blocked on a full inbox loses only what the behaviour would
        never have read.
    """
    task_status.started()
    counters = box.counters
    inbox = box.inbox_send
    try:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                data = text if text is not None else (message.get("bytes") or b"")
                counters.messages_in += 1
                counters.bytes_in += payload_size(data)
                if on_data is not None and not on_data(box, data):
                    continue
                try:
                    # ASGI receive() above was a checkpoint; skip another when there is room.
                    inbox.send_nowait(data)
                except trio.WouldBlock:
                    # Backpressure: the behaviour is behind. Blocking here stops reading
                    # from hypercorn, whose bounded queue then stops reading the socket.
                    await inbox.send(data)
            elif kind == "websocket.disconnect":
                # ASGI spec: "code" defaults to 1005 (no status received).
                box.client_left(int(message.get("code", 1005)), message.get("reason") or "")
                return
            # "websocket.connect" opens every connection; nothing to do with it.
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        # The behaviour side of the inbox is gone: the connection is ending.
        return
    except Exception as exc:
        box.request_stop(exc)
