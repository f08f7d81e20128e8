"""The native transport: the runtime over a Trio stream it owns, no ASGI in between.

The WebSocket protocol is the ``websockets`` library's sans-I/O
:class:`~websockets.server.ServerProtocol` (strict RFC 6455 framing, C-accelerated
masking, permessage-deflate); messages are reassembled and their UTF-8 validated by
:class:`~wsactors.transport.native.assembler.MessageAssembler`; writing, aborting and the
closing handshake are :class:`~wsactors.transport.native.wire.Wire`'s; keepalive and the
write timeout on the server's timer are
:class:`~wsactors.transport.native.keepalive.Keepalive`'s; the 101 and the HTTP denial are
built by :mod:`wsactors.transport.native.handshake`.

Who does what (so no lock is needed):

- the receiver actor calls :meth:`NativeTransport.receive`: it reads the socket,
  feeds every byte of one read to the protocol, and returns the parsed events one
  by one from a buffer bounded by that read;
- the sender actor calls :meth:`NativeTransport.send`: it turns a batch of events
  into frames and writes them all with one ``send_all``;
- the server's timer (:class:`~wsactors.transport.native.timers.Deadlines`) calls
  :meth:`~wsactors.transport.native.keepalive.Keepalive.on_deadline`: keepalive pings,
  a late pong (1011), a write stalled past ``send_timeout`` (abort).

Control frames the protocol answers by itself (a pong, the echo of a close) are
written by whichever task writes next: the receiver writes them when no write is
in progress; otherwise the writer loops until the protocol has nothing left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import trio
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State as WireState

from ...connection.closes import ABNORMAL
from ...connection.events import (
    Accept,
    Close,
    Connect,
    Deny,
    Disconnect,
    Incoming,
    Message,
    Outgoing,
    Ping,
    Send,
)
from ..base import Capabilities
from .framescan import FrameScanner
from .handshake import accepted_response, denied_response
from .intake import FrameIntake
from .timers import Deadlines
from .wire import READ_SIZE, SendTimeoutError
from .wireprotocol import WireProtocol

__all__ = [
    "NATIVE_CAPABILITIES",
    "READ_SIZE",
    "NativeTransport",
    "SendTimeoutError",
    "WireProtocol",
]

NATIVE_CAPABILITIES: Final = Capabilities(
    peer_close_codes=True, ping=True, http_denials=True, abortable_writes=True
)
_CONNECT: Final = Connect()
_DROPPED: Final = Disconnect(ABNORMAL, "")
#: The engine aborted the connection itself (a stalled write, the shutdown).
_ABORTED: Final = Disconnect(ABNORMAL, "", by_peer=False)
_OPEN: Final = WireState.OPEN
_CONNECTING: Final = WireState.CONNECTING
_PONG: Final = Opcode.PONG
_CLOSE: Final = Opcode.CLOSE


class NativeTransport(FrameIntake):
    """One WebSocket connection over a Trio stream, after its handshake request.

    Args:
        stream: The connection's stream (TCP, or TLS over TCP).
        protocol: The ``websockets`` protocol that parsed the handshake request.
        response: The 101 response ``protocol.accept(request)`` prepared; sent on
            :class:`~wsactors.connection.events.Accept`.
        subprotocols: The subprotocols the client offered.
        ping_interval: Seconds between keepalive pings (``None``: no keepalive).
        ping_timeout: Seconds a pong may take before the connection is closed with
            1011 "keepalive ping timeout" and aborted.
        send_timeout: Seconds one write may stall before the connection is aborted.
        deadlines: The server's timer (keepalive and the write timeout, from the
            101 on); ``None``: neither.
        early: The frames the protocol parsed from bytes that came with the
            handshake request, and those bytes.
    """

    __slots__ = (
        "_feed_size",
        "_response",
        "_taken",
        "_unfed",
        "subprotocols",
    )

    capabilities: Final = NATIVE_CAPABILITIES

    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: WireProtocol,
        response: Response,
        *,
        subprotocols: tuple[str, ...],
        ping_interval: float | None,
        ping_timeout: float,
        send_timeout: float,
        deadlines: Deadlines | None,
        early: tuple[list[Message | Frame], bytes] = ([], b""),
    ) -> None:
        super().__init__(
            stream,
            protocol,
            send_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            deadlines=deadlines,
        )
        # Kept only until the handshake is answered (memory per idle connection).
        self._response: Response | None = response
        self.subprotocols = subprotocols
        # Events parsed from one read, handed out one by one (from index _taken): at
        # most one read's worth. A list, emptied once handed out: an idle connection
        # keeps 56 bytes here, where a deque keeps its 760-byte block.
        self._pending: list[Incoming] = [_CONNECT]
        self._taken = 0
        # The rest of the last read, not fed to the protocol yet.
        self._unfed: memoryview | None = None
        self._feed_size = 1024 if protocol.extensions else 16384
        self._scanner = FrameScanner()
        # A failure is held (Failing was queued): the close waits for the runtime's.
        self._failing = False
        if protocol.extensions:
            # Compressed text is checked once inflated, as a whole frame.
            self._scanner.stop()
        frames, rest = early
        if frames or rest:
            # Sent with the handshake request (RFC 6455 section 4.1 says a client
            # waits for the 101; what it sent anyway is not dropped).
            self._queue(frames, self._scanner.feed(rest) if rest else None)

    # ------------------------------------------------------------------ receiving
    async def receive(self) -> Incoming:
        """The next event: ``Connect`` first, ``Disconnect`` last.

        A read is fed to the protocol a slice at a time (16 KiB; 1 KiB with
        compression, where a small slice can inflate to a whole message), and the
        next slice only once the events of the last one were handed out: what is
        buffered stays bounded whatever the peer packs into one read.

        Cancellation:
            Safe to cancel: parsed events and unparsed bytes stay buffered, and a
            read that is cancelled has consumed nothing.
        """
        pending = self._pending
        if pending:
            await trio.lowlevel.checkpoint_if_cancelled()
            return self._take()
        while True:
            if self._gone:
                await trio.lowlevel.checkpoint()
                return self._dropped()
            data: bytes | bytearray | memoryview | None = self._unfed
            if data is not None:
                self._unfed = None
                await trio.lowlevel.checkpoint_if_cancelled()
            else:
                try:
                    # No cancel scope per read (it would cost more than the parsing):
                    # the server's timer ends a read that must end by aborting the stream.
                    data = await self._read_some()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    data = b""  # dropped: an EOF without a close frame
            size = self._feed_size
            if len(data) > size:
                view = memoryview(data)
                self._unfed, data = view[size:], view[:size]
            self._absorb(data)
            if self._protocol.writes:
                # Pongs, the close echo. Shielded: a cancelled read (idle_timeout)
                # must not cut a frame in half; the timer bounds a stalled write.
                with trio.CancelScope(shield=True):
                    await self._flush_quietly()
            if pending:
                return self._take()

    def _take(self) -> Incoming:
        """The next pending event (``_pending`` is not empty)."""
        pending = self._pending
        taken = self._taken
        event = pending[taken]
        taken += 1
        if taken == len(pending):
            pending.clear()  # frees the list's item array
            taken = 0
        self._taken = taken
        return event

    async def _flush_quietly(self) -> None:
        """A flush by the receiver or the timer: a failed write ends the connection."""
        try:
            await self._flush(wait=False)
        except trio.BrokenResourceError:
            if not self._gone:
                self._gone = True
                self._pending.append(self._dropped())

    def _dropped(self) -> Disconnect:
        """The connection ended without a close frame: who ended it?"""
        return _ABORTED if self._closed and not self._peer_broke else _DROPPED

    # ------------------------------------------------------------------ sending
    async def send(self, events: Sequence[Outgoing]) -> None:
        """Turn ``events`` into frames and write them with one ``send_all``.

        Raises:
            SendTimeoutError: the write stalled ``send_timeout`` seconds; aborted.
            trio.BrokenResourceError: the connection is broken or was aborted.

        Cancellation:
            A cancelled write leaves a frame half sent: the connection is aborted.
        """
        protocol = self._protocol
        for event in events:
            kind = type(event)
            if kind is Send:
                if protocol.state is not _OPEN:
                    continue  # the peer's close or a failure is already queued
                data = event.data  # type: ignore[union-attr]
                if type(data) is str:
                    protocol.send_text(data.encode())
                else:
                    protocol.send_binary(data)  # type: ignore[arg-type]
            elif kind is Close:
                assert isinstance(event, Close)
                if protocol.held is not None:
                    protocol.release()  # the failure's close, with its own code
                elif protocol.state is _OPEN:
                    protocol.send_close(event.code, event.reason)
                elif self._response is not None:
                    # Close before accept: the handshake is rejected with HTTP 403.
                    self._response = None
                    protocol.send_response(protocol.reject(403, "Forbidden\n"))
            elif kind is Accept:
                assert isinstance(event, Accept)
                self._accept(event)
            elif kind is Deny:
                assert isinstance(event, Deny)
                self._deny(event)
            elif kind is Ping:
                assert isinstance(event, Ping)
                if protocol.state is _OPEN and protocol.held is None:
                    protocol.send_ping(event.data)
        await self._flush(wait=True)

    def _accept(self, event: Accept) -> None:
        if self._protocol.state is not _CONNECTING:
            return
        response, self._response = self._response, None
        if response is None:
            return  # the handshake was answered already
        self._protocol.send_response(accepted_response(self._protocol, response, event))
        self._start_timer()

    def _deny(self, event: Deny) -> None:
        if self._protocol.state is not _CONNECTING:
            return
        if self._response is None:
            return  # the handshake was answered already
        self._response = None
        self._protocol.send_response(denied_response(event))
