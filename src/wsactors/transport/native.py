"""The native transport: the runtime over a Trio stream it owns, no ASGI in between.

The WebSocket protocol is the ``websockets`` library's sans-I/O
:class:`~websockets.server.ServerProtocol` (strict RFC 6455 framing, C-accelerated
masking, permessage-deflate); messages are reassembled and their UTF-8 validated by
:class:`~wsactors.transport.assembler.MessageAssembler`; writing, aborting and the
closing handshake are :class:`~wsactors.transport.wire.Wire`'s.

Who does what (so no lock is needed):

- the receiver actor calls :meth:`NativeTransport.receive`: it reads the socket,
  feeds every byte of one read to the protocol, and returns the parsed events one
  by one from a buffer bounded by that read;
- the sender actor calls :meth:`NativeTransport.send`: it turns a batch of events
  into frames and writes them all with one ``send_all``;
- the server's timer (:class:`~wsactors.transport.timers.Deadlines`, one task for
  every connection) calls :meth:`NativeTransport.on_deadline`: it sends keepalive
  pings, fails a connection whose pong is late (1011) and aborts a write stalled
  past ``send_timeout``: no cancel scope per read or write, which would cost more
  than the parsing, and no task per idle connection.

Control frames the protocol answers by itself (a pong, the echo of a close) are
written by whichever task writes next: the receiver writes them when no write is
in progress; otherwise the writer loops until the protocol has nothing left.
"""

from __future__ import annotations

import http
import math
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, cast

import trio
from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State as WireState
from websockets.server import ServerProtocol

from ..closes import ABNORMAL, Why
from ..events import (
    Accept,
    Close,
    Connect,
    Deny,
    Disconnect,
    Incoming,
    Message,
    Outgoing,
    Ping,
    Pong,
    Send,
)
from .assembler import AssemblyError, MessageAssembler
from .base import Capabilities
from .timers import Action, Deadlines
from .wire import READ_SIZE, SendTimeoutError, Wire, WireProtocol

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
_BINARY: Final = Opcode.BINARY


class NativeTransport(Wire):
    """One WebSocket connection over a Trio stream, after its handshake request.

    Args:
        stream: The connection's stream (TCP, or TLS over TCP).
        protocol: The ``websockets`` protocol that parsed the handshake request.
        response: The 101 response ``protocol.accept(request)`` prepared; sent on
            :class:`~wsactors.events.Accept`.
        subprotocols: The subprotocols the client offered.
        ping_interval: Seconds between keepalive pings (``None``: no keepalive).
        ping_timeout: Seconds a pong may take before the connection is closed with
            1011 "keepalive ping timeout" and aborted.
        send_timeout: Seconds one write may stall before the connection is aborted.
        max_fragments: Frames one message may span.
        deadlines: The server's timer (keepalive and the write timeout, from the
            101 on); ``None``: neither.
    """

    __slots__ = (
        "_assembler",
        "_feed_size",
        "_keeper",
        "_next_ping",
        "_pending",
        "_ping_count",
        "_ping_data",
        "_ping_interval",
        "_ping_sent",
        "_ping_timeout",
        "_read",
        "_response",
        "_taken",
        "_unfed",
        "subprotocols",
    )

    capabilities: Final = NATIVE_CAPABILITIES

    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: ServerProtocol,
        response: Response,
        *,
        subprotocols: tuple[str, ...],
        ping_interval: float | None,
        ping_timeout: float,
        send_timeout: float,
        max_fragments: int,
        deadlines: Deadlines | None,
    ) -> None:
        super().__init__(stream, protocol, send_timeout)
        # Kept only until the handshake is answered (memory per idle connection).
        self._response: Response | None = response
        self.subprotocols = subprotocols
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._assembler = MessageAssembler(max_fragments)
        # Plain TCP: read the Trio socket itself. SocketStream.receive_some only
        # translates OSError (which receive() treats alike) but, while it waits,
        # keeps its frame and a context manager alive: ~750 bytes per idle connection.
        self._read: Callable[..., Awaitable[bytes | bytearray]] = (
            stream.socket.recv if isinstance(stream, trio.SocketStream) else stream.receive_some
        )
        # Events parsed from one read, handed out one by one (from index _taken): at
        # most one read's worth. A list, emptied once handed out: an idle connection
        # keeps 56 bytes here, where a deque keeps its 760-byte block.
        self._pending: list[Incoming] = [_CONNECT]
        self._taken = 0
        # The rest of the last read, not fed to the protocol yet.
        self._unfed: memoryview | None = None
        self._feed_size = 1024 if protocol.extensions else 16384
        self._ping_sent: float | None = None
        self._ping_data = b""
        self._ping_count = 0
        self._next_ping = math.inf
        # The server's timer: it times this connection once the 101 went out.
        self._keeper = deadlines

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
                    data = await self._read(READ_SIZE)
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

    # ------------------------------------------------------------------ the timer
    def on_deadline(self, now: float) -> Action | None:
        """The server's timer: this connection's next deadline passed.

        Keepalive pings, the pong that is due (then 1011 "keepalive ping timeout"
        and abort), the write in progress reaching ``send_timeout`` (then abort).
        Per message it costs nothing: a writer notes when its write began, and
        moves the deadline only when the timer would wake past it.

        Returns:
            The work to run as a task (a ping to write, a failure, an abort); the
            next deadline is set meanwhile. ``None``: nothing to write now.
        """
        action = super().on_deadline(now)  # a stalled write
        if action is not None or self._closed:
            return action
        ping_sent = self._ping_sent
        if ping_sent is not None and now >= ping_sent + self._ping_timeout:
            return self._keepalive_failed
        interval = self._ping_interval
        ping = None
        if interval is not None and ping_sent is None and now >= self._next_ping:
            if self._protocol.state is not _OPEN:
                return None  # closing: the closing handshake has its own bound
            self._ping_count += 1
            self._ping_data = struct.pack("!I", self._ping_count)
            self._ping_sent = now
            self._next_ping = now + interval
            self._protocol.send_ping(self._ping_data)
            ping = self._flush_ping
        self._schedule_timer()
        return ping

    def _schedule_timer(self) -> None:
        """Ask the server's timer to call :meth:`on_deadline` at the next deadline."""
        deadlines = self._deadlines
        if deadlines is None:
            return
        if self._ping_sent is not None:
            wake = self._ping_sent + self._ping_timeout
        else:
            wake = self._next_ping  # inf without keepalive
        started = self._write_started
        if started is not None:
            wake = min(wake, started + self._send_timeout)
        if wake != math.inf:
            deadlines.schedule(self, wake)

    async def _flush_ping(self) -> None:
        with trio.move_on_after(self._ping_timeout):
            await self._flush_quietly()

    async def _keepalive_failed(self) -> None:
        # Fail the connection: the close frame if it can still go out, then abort.
        self._fail_now(*Why.KEEPALIVE_TIMEOUT.value)
        with trio.move_on_after(self._ping_timeout):
            await self._flush_quietly()
        await self.abort()

    def _absorb(self, data: bytes | bytearray | memoryview) -> None:
        """Feed one read to the protocol and queue the events it completes."""
        protocol = self._protocol
        pending = self._pending
        if not data:
            protocol.receive_eof()
            if not self._gone:
                self._gone = True
                pending.append(_DROPPED)
            return
        protocol.receive_data(data)  # type: ignore[arg-type]  # it copies into its buffer
        assembler = self._assembler
        for frame in cast(list[Frame], protocol.events_received()):
            opcode = frame.opcode
            if opcode <= _BINARY:
                try:
                    message = assembler.feed(frame)
                except AssemblyError as exc:
                    self._fail_now(exc.code, exc.reason)
                    return
                if message is not None:
                    pending.append(Message(message))
            elif opcode is _PONG:
                pending.append(self._pong(bytes(frame.data)))
            elif opcode is _CLOSE:
                # The protocol echoed the close; the peer's own code and reason.
                received = protocol.close_rcvd
                assert received is not None
                self._gone = True
                pending.append(Disconnect(int(received.code), received.reason))
                return
        if protocol.parser_exc is not None and not self._gone:
            # The protocol failed the connection: 1002 (framing), 1007 (a close
            # reason that is not UTF-8), 1009 (too big, refused before buffering).
            sent = protocol.close_sent
            self._gone = True
            if sent is None:  # the stream ended inside a frame
                pending.append(_DROPPED)
            else:
                pending.append(Disconnect(int(sent.code), sent.reason, by_peer=False))

    def _dropped(self) -> Disconnect:
        """The connection ended without a close frame: who ended it?"""
        return _ABORTED if self._closed and not self._peer_broke else _DROPPED

    def _pong(self, data: bytes) -> Pong:
        if self._ping_sent is not None and data == self._ping_data:
            latency = trio.current_time() - self._ping_sent
            self._ping_sent = None
            return Pong(data, latency)
        return Pong(data)

    def _fail_now(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): close frame, then TCP close."""
        self._protocol.fail(code, reason)
        self._gone = True
        self._pending.append(Disconnect(code, reason, by_peer=False))

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
                if protocol.state is _OPEN:
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
                if protocol.state is _OPEN:
                    protocol.send_ping(event.data)
        await self._flush(wait=True)

    def _accept(self, event: Accept) -> None:
        protocol = self._protocol
        if protocol.state is not _CONNECTING:
            return
        response, self._response = self._response, None
        if response is None:
            return  # the handshake was answered already
        headers = response.headers
        if event.subprotocol is not None:
            if "Sec-WebSocket-Protocol" in headers:
                del headers["Sec-WebSocket-Protocol"]
            headers["Sec-WebSocket-Protocol"] = event.subprotocol
            protocol.subprotocol = event.subprotocol  # type: ignore[assignment]
        for name, value in event.headers:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        protocol.send_response(response)
        # Keepalive and the write timeout start now.
        self._deadlines = self._keeper
        if self._ping_interval is not None:
            self._next_ping = trio.current_time() + self._ping_interval
        self._schedule_timer()

    def _deny(self, event: Deny) -> None:
        protocol = self._protocol
        if protocol.state is not _CONNECTING:
            return
        if self._response is None:
            return  # the handshake was answered already
        self._response = None
        headers = Headers([("Connection", "close")])
        for name, value in event.headers:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        protocol.send_response(Response(event.status, _phrase(event.status), headers, event.body))


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
