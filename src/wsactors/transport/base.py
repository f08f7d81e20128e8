"""The transport interface: the one extension point between the runtime and a server.

A transport carries one connection. The receiver actor is the only caller of
:meth:`Transport.receive`, the sender actor the only caller of
:meth:`Transport.send`, so an implementation needs no locks. A transport that has
bytes of its own to write (pongs, keepalive pings, the echo of a close) does not
write them from the receiver or a timer: it wakes the sender
(:meth:`Transport.attach_sender`), which stays the socket's only writer. Events are those of
:mod:`wsactors.connection.events`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..connection.events import Incoming, Outgoing

__all__ = ["Capabilities", "Transport"]


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
    """

    peer_close_codes: bool = False
    ping: bool = False
    http_denials: bool = False
    abortable_writes: bool = False


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
