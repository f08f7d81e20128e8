"""The receiver: the only caller of ASGI ``receive``.

It runs for the whole life of the connection, whatever the behaviour does, so a
client leaving is noticed at once even by a handler that only sends (hypercorn
drops sends after the close silently; without a reader such a handler would push
into the void forever). It also enforces the per-connection limits on inbound
traffic (size, rate, idleness) before anything is decoded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..exceptions import WebSocketException
from ..limits import TokenBucket
from ..protocol import GOING_AWAY, MESSAGE_TOO_BIG, POLICY_VIOLATION
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
    config = box.config
    max_size = config.max_message_size
    bucket = TokenBucket(*config.rate_limit, now=trio.current_time()) if config.rate_limit else None
    drop_excess = config.rate_limit_policy == "drop"
    idle = config.idle_timeout
    try:
        while True:
            if idle is None:
                message = await receive()
            else:
                # Only with an idle_timeout: a cancel scope per message has a cost.
                with trio.move_on_after(idle) as waiting:
                    # Cancelling a memory-channel receive loses no message.
                    message = await receive()
                if waiting.cancelled_caught:
                    box.request_stop(WebSocketException("idle timeout", GOING_AWAY))
                    idle = None  # the connection is closing; keep watching for the disconnect
                    continue
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                data = text if text is not None else (message.get("bytes") or b"")
                size = payload_size(data)
                counters.messages_in += 1
                counters.bytes_in += size
                if max_size is not None and size > max_size:
                    # RFC 6455 section 7.4.1: 1009, "a message that is too big for it
                    # to process". Checked before any decoding.
                    box.request_stop(
                        WebSocketException(
                            f"message too big: {size} bytes > {max_size}", MESSAGE_TOO_BIG
                        )
                    )
                    continue
                if bucket is not None and not bucket.allow(trio.current_time()):
                    if drop_excess:
                        counters.rate_limited_messages += 1
                    else:
                        box.request_stop(
                            WebSocketException("rate limit exceeded", POLICY_VIOLATION)
                        )
                    continue
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
