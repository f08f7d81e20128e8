"""The receiver: the only caller of ``Transport.receive``.

It runs for the whole life of the connection, whatever the behaviour does, so a
peer leaving is noticed at once even by a handler that only sends (hypercorn drops
sends after the close silently; without a reader such a handler would push into the
void forever). It also enforces the per-connection limits on inbound traffic (size,
rate, idleness) before anything is decoded, and hands messages to the data-discard
rule while a stream listens for disconnects.
"""

from __future__ import annotations

import trio

from ..connection.closes import Why, stop_error
from ..connection.events import Disconnect, Failing, Message, Pong
from ..connection.limits import TokenBucket
from ..transport.base import Transport
from .counters import payload_size
from .runtime import ConnectionRuntime

__all__ = ["run_receiver"]


async def run_receiver(rt: ConnectionRuntime, transport: Transport) -> None:
    """Move messages from the transport into the inbox until the peer leaves.

    Cancellation:
        The supervisor cancels the receiver once the connection is over; being
        cancelled while blocked on a full inbox loses only what the behaviour would
        never have read.
    """
    counters = rt.counters
    watcher = rt.watcher
    inbox = rt.mailbox.inbox
    config = rt.config
    max_size = config.max_message_size
    bucket = TokenBucket(*config.rate_limit, now=trio.current_time()) if config.rate_limit else None
    drop_excess = config.rate_limit_policy == "drop"
    idle = config.idle_timeout
    try:
        while True:
            if idle is None:
                event = await transport.receive()
            else:
                # Only with an idle_timeout: a cancel scope per message has a cost.
                with trio.move_on_after(idle) as waiting:
                    event = await transport.receive()  # cancelling loses no message
                if waiting.cancelled_caught:
                    watcher.stop(stop_error(Why.IDLE_TIMEOUT))
                    idle = None  # the connection is closing; keep watching for the disconnect
                    continue
            kind = type(event)
            if kind is Message:
                data = event.data  # type: ignore[union-attr]
                size = payload_size(data)
                counters.messages_in += 1
                counters.bytes_in += size
                if max_size is not None and size > max_size:
                    # RFC 6455 section 7.4.1: 1009, "a message that is too big for it
                    # to process". Checked before any decoding.
                    watcher.stop(
                        stop_error(Why.TOO_BIG, f"message too big: {size} bytes > {max_size}")
                    )
                    continue
                if bucket is not None and not bucket.allow(trio.current_time()):
                    if drop_excess:
                        counters.rate_limited_messages += 1
                    else:
                        watcher.stop(stop_error(Why.RATE_LIMITED))
                    continue
                rule = watcher.listening
                if rule is not None:
                    rule.take(data)
                    continue
                rt.direct_armed = True  # the reply may be written directly (rt.send)
                try:
                    # The receive above was a checkpoint; skip another when there is room.
                    inbox.put_nowait(data)
                except trio.WouldBlock:
                    # Backpressure: the behaviour is behind. Blocking here stops reading
                    # from the transport, whose bounded buffer then stops reading the socket.
                    await inbox.put(data)
            elif kind is Disconnect:
                assert isinstance(event, Disconnect)
                rt.peer_left(event.code, event.reason, event.by_peer)
                return
            elif kind is Failing:
                # Read no further; replies to what was read still go out (the
                # transport's close follows them). The Disconnect ends the loop.
                assert isinstance(event, Failing)
                rt.engine_failing(event.code, event.reason)
                idle = None
            elif kind is Pong:
                # Keepalive is the transport's; it measures the round trip.
                latency = event.latency  # type: ignore[union-attr]
                if latency is not None:
                    rt.latency = latency
                    observer = rt.observer
                    if observer is not None:
                        observer.pong(latency)
            # Connect opens every connection; nothing to do with it.
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        # The behaviour side of the inbox is gone: the connection is ending.
        return
    except Exception as exc:
        watcher.stop(exc)
