"""The channels and shared state of one connection's actors.

All actors of a connection run in one Trio thread, so they share this object
without locks; each resource still has exactly one owner:

- ``inbox`` (receiver -> behaviour): received payloads, ``str`` for text frames and
  ``bytes`` for binary ones. The receiver closes it when the client leaves, so
  buffered messages are still delivered and then ``EndOfChannel`` follows.
- ``outbox`` (behaviour -> sender): ready-made ASGI send events. Only the sender
  calls ASGI ``send``.
- ``watcher``: the disconnect watcher's reaction, called synchronously with each
  :data:`WatcherEvent` (cancelling a scope never blocks, so no queue is needed).

Memory bound per connection (documented in docs/architecture.md)::

    inbox_size x max message size + outbox_size x max message size + fixed cost
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import trio

from ..codec import Payload
from ..protocol import ProtocolState

__all__ = [
    "ClientLeft",
    "ConnectionStatistics",
    "Counters",
    "Mailbox",
    "RuntimeConfig",
    "StopRequested",
    "WatcherEvent",
]


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Sizes and time limits of the connection runtime.

    Attributes:
        inbox_size: Received messages buffered ahead of the behaviour.
        outbox_size: Messages queued ahead of the sender.
        disconnect_grace: Seconds a *reading* behaviour may keep running after the
            client left (to drain buffered messages and handle
            ``WebSocketDisconnect``); a behaviour that is not reading is cancelled
            at once.
        close_timeout: Seconds to flush the outbox and send the close frame.
        cleanup_timeout: Seconds for each cleanup step (``on_disconnect``,
            yield-dependency cleanup) once the connection is over.
        debug: Put exception text in 1011 close reasons.
        max_message_size: Received messages larger than this many bytes close the
            connection with 1009 before any decoding (``None``: only the server's
            own limit, hypercorn's ``websocket_max_message_size``).
        rate_limit: ``(messages, seconds)``: a token bucket per connection.
        rate_limit_policy: ``"close"`` (1008 "rate limit exceeded") or ``"drop"``
            (the excess is dropped and counted in ``rate_limited_messages``).
        idle_timeout: Close with 1001 "idle timeout" after this many seconds without
            an inbound message.
        send_timeout: Stop the behaviour (its cleanup runs) and close with 1008
            "send timeout" when one send to the client is stalled this long (a
            consumer that stopped reading). hypercorn shields socket writes, so the
            stalled write itself, and the close frame queued behind it, wait until
            hypercorn closes the TCP connection.
    """

    inbox_size: int = 16
    outbox_size: int = 16
    disconnect_grace: float = 5.0
    close_timeout: float = 5.0
    cleanup_timeout: float = 5.0
    debug: bool = False
    max_message_size: int | None = None
    rate_limit: tuple[int, float] | None = None
    rate_limit_policy: Literal["close", "drop"] = "close"
    idle_timeout: float | None = None
    send_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class ConnectionStatistics:
    """A snapshot of one connection's counters (``WebSocket.statistics()``).

    Byte counts are payload bytes (UTF-8 for text frames), not wire bytes.
    """

    messages_in: int
    messages_out: int
    bytes_in: int
    bytes_out: int
    dropped_frames: int
    discarded_messages: int
    rate_limited_messages: int
    unsent_messages: int
    inbox_depth: int
    outbox_depth: int
    inbox_size: int
    outbox_size: int


class Counters:
    """Mutable counters, written by exactly one actor each."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "discarded_messages",
        "dropped_frames",
        "messages_in",
        "messages_out",
        "rate_limited_messages",
        "unsent_messages",
    )

    def __init__(self) -> None:
        self.messages_in = 0  # receiver
        self.bytes_in = 0  # receiver
        self.messages_out = 0  # WebSocket handle (at enqueue)
        self.bytes_out = 0  # WebSocket handle (at enqueue)
        self.dropped_frames = 0  # WebSocket handle: frames of the other transport mode
        self.discarded_messages = 0  # receiver: streams with allow_data_discard
        self.rate_limited_messages = 0  # receiver: rate_limit_policy="drop"
        self.unsent_messages = 0  # sender: queued but the client had left


def payload_size(data: Payload) -> int:
    """Payload bytes of a frame; ASCII text is counted without encoding it."""
    if type(data) is str and not data.isascii():
        return len(data.encode("utf-8"))
    return len(data)


@dataclass(frozen=True, slots=True)
class ClientLeft:
    """The receiver saw ``websocket.disconnect``.

    ``reading`` is decided when the disconnect arrives, before the inbox is closed:
    closing it wakes a pending receive, which would otherwise look "not reading" by
    the time the watcher runs.
    """

    code: int
    reading: bool


@dataclass(frozen=True, slots=True)
class StopRequested:
    """Stop the behaviour and close with ``error``'s code (actor failure, a broken
    stream rule, server shutdown)."""

    error: BaseException


WatcherEvent = ClientLeft | StopRequested


class Mailbox:
    """Everything the actors of one connection share.

    Args:
        scope: The ASGI websocket scope.
        config: Sizes and time limits.
    """

    __slots__ = (
        "behaviour_scope",
        "config",
        "counters",
        "drain_on_disconnect",
        "inbox",
        "inbox_send",
        "outbox",
        "outbox_recv",
        "protocol",
        "receiving",
        "sender_done",
        "sender_scope",
        "sending_since",
        "stop_error",
        "watcher",
    )

    def __init__(self, scope: dict[str, Any], config: RuntimeConfig) -> None:
        self.config = config
        self.protocol = ProtocolState(
            scope.get("subprotocols") or (),
            http_response_extension="websocket.http.response" in (scope.get("extensions") or {}),
        )
        self.inbox_send, self.inbox = trio.open_memory_channel[Payload](config.inbox_size)
        self.outbox, self.outbox_recv = trio.open_memory_channel[dict[str, Any]](config.outbox_size)
        #: The watcher's reaction to an event; installed by the supervisor.
        self.watcher: Callable[[WatcherEvent], None] | None = None
        self.counters = Counters()
        self.behaviour_scope = trio.CancelScope()
        self.sender_done = trio.Event()
        # Shielded: the sender must outlive an outer cancellation (server shutdown)
        # long enough to send the final close; the supervisor ends it, bounded by
        # close_timeout, by closing the outbox or cancelling this scope.
        self.sender_scope = trio.CancelScope(shield=True)
        #: When the send in progress started (only tracked with a send_timeout).
        self.sending_since: float | None = None
        #: How many receive calls of the behaviour are waiting on the inbox.
        self.receiving = 0
        #: Readers (listeners) get ``disconnect_grace`` instead of instant cancellation.
        self.drain_on_disconnect = False
        #: Why the watcher stopped the behaviour, if it did for a reason of its own.
        self.stop_error: BaseException | None = None

    def client_left(self, code: int, reason: str = "") -> None:
        """Record the peer leaving: close the inbox and tell the watcher. Never blocks."""
        if self.protocol.client_left(code, reason):
            reading = (
                self.drain_on_disconnect
                or self.receiving > 0
                or self.inbox.statistics().current_buffer_used > 0
            )
            self._tell_watcher(ClientLeft(code, reading))
            self.inbox_send.close()

    def request_stop(self, error: BaseException) -> None:
        """Ask the watcher to stop the behaviour and close with ``error``'s code.

        Never blocks; the first request wins.
        """
        self._tell_watcher(StopRequested(error))

    def _tell_watcher(self, event: WatcherEvent) -> None:
        if self.watcher is not None:
            self.watcher(event)

    def statistics(self) -> ConnectionStatistics:
        """A snapshot of the counters and queue depths."""
        c = self.counters
        return ConnectionStatistics(
            messages_in=c.messages_in,
            messages_out=c.messages_out,
            bytes_in=c.bytes_in,
            bytes_out=c.bytes_out,
            dropped_frames=c.dropped_frames,
            discarded_messages=c.discarded_messages,
            rate_limited_messages=c.rate_limited_messages,
            unsent_messages=c.unsent_messages,
            inbox_depth=self.inbox.statistics().current_buffer_used,
            outbox_depth=self.outbox_recv.statistics().current_buffer_used,
            inbox_size=self.config.inbox_size,
            outbox_size=self.config.outbox_size,
        )
