"""The transport interface: the one extension point between the runtime and a server.

A transport carries one connection. The receiver actor is the only caller of
:meth:`Transport.receive`, the sender actor the only caller of
:meth:`Transport.send`, so an implementation needs no locks. A transport that has
bytes of its own to write (pongs, keepalive pings, the echo of a close) does not
write them from the receiver or a timer: it wakes the sender
(:meth:`Transport.attach_sender`), which stays the socket's only writer. Events are those of
:mod:`wsactors.connection.events`.

A transport may also offer *direct writes* (:class:`DirectWrites`,
``Capabilities.direct_writes``): a synchronous, non-blocking write of a message
while the sender actor is idle, so that a fan-out delivery, or the handler's own
send, costs a write and no task wake-up. The ASGI transport has none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ..connection.events import Incoming, Outgoing, SharedText

__all__ = ["Capabilities", "DirectWrites", "SharedText", "Transport", "WriteNow"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a transport can do; the runtime adapts to what it cannot.

    Attributes:
        peer_close_codes: It reports the client's own close code and reason (ASGI
            over hypercorn reports 1006 for every client close).
        ping: It can send pings and reports pongs (keepalive, ``socket.latency``).
        http_denials: It can answer a handshake with any HTTP response; otherwise a
            denial falls back to close-before-accept (HTTP 403).
        abortable_writes: A stalled write can be aborted (the runtime then times
            writes out itself); otherwise a watcher times them from outside.
        direct_writes: It implements ``DirectWrites`` (the native engine):
            while the sender is idle, a message may be written synchronously.
    """

    peer_close_codes: bool = False
    ping: bool = False
    http_denials: bool = False
    abortable_writes: bool = False
    direct_writes: bool = False


class Transport(Protocol):
    """One connection's link to its peer."""

    @property
    def capabilities(self) -> Capabilities:
        """What this transport can do."""
        ...

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """The subprotocols the client offered in its handshake."""
        ...

    async def receive(self) -> Incoming:
        """The next event from the peer; :class:`~wsactors.connection.events.Disconnect` is last.

        Cancellation:
            Safe to cancel: no message is lost by a cancelled receive.
        """
        ...

    def attach_sender(self, wake: Callable[[], None]) -> None:
        """The sender actor starts: ``wake()`` makes it call :meth:`send` soon (with
        an empty batch when nothing else is queued), never blocking the caller.

        Called once, before the sender's first :meth:`send`. A transport that never
        writes on its own ignores it.
        """
        ...

    async def send(self, events: Sequence[Outgoing]) -> None:
        """Hand ``events`` to the peer in order (a batch, so writes can be joined),
        and whatever the transport has to write of its own (an empty batch: only that).

        Raises:
            Exception: the transport failed; the connection is then over.

        Cancellation:
            May leave part of the batch unsent; the runtime then aborts.
        """
        ...

    async def abort(self) -> None:
        """Drop the connection without a closing handshake. Idempotent.

        Cancellation:
            Returns promptly; the connection is dropped anyway.
        """
        ...


class WriteNow:
    """What a direct write (:class:`DirectWrites`) did with a message: one of these ints.

    Plain ints, not an Enum: this is the per-delivery path, and reading an Enum
    member costs about 0.4 µs on Python 3.11.
    """

    #: Nothing was written: queue it for the sender as usual (false, the only one).
    REFUSED: Final = 0
    #: All of it was written.
    WRITTEN: Final = 1
    #: It is the transport's now, not all written yet: the rest is kept as the
    #: transport's own bytes and goes out first with the next
    #: :meth:`Transport.send`; the transport has woken the sender for it (the
    #: wake of :meth:`Transport.attach_sender`). For the caller, delivered.
    PENDING: Final = 2


class DirectWrites(Protocol):
    """A transport's synchronous write, for the sender's idle moments.

    The runtime calls these only while the sender actor is idle: parked
    on an empty outbox, with no write of its own in progress. The write happens
    "under the sender's ownership": it is the one writer at that moment, so the
    rule "one writer per socket" holds, and the bytes go out in order with the
    sender's (the sender stays parked; nothing else of the connection runs).
    """

    def send_now(self, message: SharedText) -> int:
        """Write ``message`` as a text frame without blocking, if possible now.

        Returns a :class:`WriteNow` value. Refuses (``REFUSED``, nothing
        written) whenever it cannot write at once without breaking order or
        framing: a write in progress or a kept rest, the connection not open
        (before the 101 went out, after a close frame), compression or TLS (the
        transport may refuse any call). Bytes of the transport's own that wait
        (pongs) are written first, in order. A socket error keeps it all as a
        rest (``PENDING``): the sender's write reports the error. Never raises,
        never blocks, never checkpoints.
        """
        ...

    def send_data_now(self, data: str | bytes) -> int:
        """Write ``data`` as one text (``str``) or binary (``bytes``) frame without
        blocking, if possible now: as :meth:`send_now` for a message of one
        connection (framed for it, not cached).
        """
        ...
