"""The native transport: the runtime over a Trio stream it owns, no ASGI in between.

The WebSocket protocol is the ``websockets`` library's sans-I/O
:class:`~websockets.server.ServerProtocol` (strict RFC 6455 framing, C-accelerated
masking, permessage-deflate), as :class:`~wsactors.transport.native.wireprotocol.WireProtocol`
adapts it; messages are reassembled and their UTF-8 validated by
:class:`~wsactors.transport.native.assembler.MessageAssembler`; the 101 and the HTTP
denial are built by :mod:`wsactors.transport.native.handshake`.

:class:`NativeTransport` owns three parts and composes them; none knows the others
but through what it is given:

- its :class:`~wsactors.transport.native.wire.Wire`: the stream, reads, the one
  writer, the write timeout's bookkeeping, the abort and the closing handshake;
- its :class:`~wsactors.transport.native.keepalive.Keepalive`: the ping schedule,
  the pong deadline, the latency;
- its :class:`~wsactors.transport.native.intake.FrameIntake`: reads turned into the
  queue of events for the runtime, failures held or immediate.

Who does what (so no lock is needed):

- the receiver actor calls :meth:`NativeTransport.receive`: it reads the socket,
  feeds every byte of one read to the protocol, and returns the parsed events one
  by one from a buffer bounded by that read;
- the sender actor calls :meth:`NativeTransport.send`: it turns a batch of events
  into frames and writes them all with one ``send_all``;
- the runtime may call :meth:`NativeTransport.send_now` while the sender is idle
  (a direct write of a shared frame, see :class:`~wsactors.transport.base.DirectWrites`);
- the server's timer (:class:`~wsactors.transport.native.timers.Deadlines`) calls
  :meth:`NativeTransport.on_deadline`: keepalive pings, a late pong (1011), a write
  stalled past ``send_timeout`` (abort).

Control frames the protocol answers by itself (a pong, the echo of a close) are
written by whichever task writes next: the receiver writes them when no write is
in progress; otherwise the writer loops until the protocol has nothing left.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Final

import trio
from websockets.frames import Frame
from websockets.http11 import Response

from ...connection.closes import Why
from ...connection.events import (
    Accept,
    Close,
    Deny,
    Disconnect,
    Incoming,
    Message,
    Outgoing,
    Ping,
    Send,
)
from ..base import Capabilities, SharedText, WriteNow
from .handshake import accepted_response, denied_response
from .intake import ABORTED, DROPPED, FrameIntake
from .keepalive import Keepalive
from .rfc6455 import CONNECTING, OPEN, text_frame
from .timers import Action, Deadlines, Entry
from .wire import READ_SIZE, SendTimeoutError, Wire
from .wireprotocol import WireProtocol

__all__ = [
    "NATIVE_CAPABILITIES",
    "READ_SIZE",
    "NativeTransport",
    "SendTimeoutError",
    "WireProtocol",
]

NATIVE_CAPABILITIES: Final = Capabilities(
    peer_close_codes=True,
    ping=True,
    http_denials=True,
    abortable_writes=True,
    direct_writes=True,
)


class NativeTransport:
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
        "_deadlines",
        "_intake",
        "_keepalive",
        "_protocol",
        "_response",
        "_timer_entry",
        "_timer_scope",
        "_wire",
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
        self._protocol = protocol
        self._wire = Wire(stream, protocol, send_timeout)
        # The server's timer: it times this connection once the 101 went out; this
        # connection's slots in it (see transport.timers).
        self._deadlines = deadlines
        self._timer_entry: Entry | None = None
        self._timer_scope: trio.CancelScope | None = None
        self._keepalive = keepalive = Keepalive(ping_interval, ping_timeout)
        # Kept only until the handshake is answered (memory per idle connection).
        self._response: Response | None = response
        self.subprotocols = subprotocols
        self._intake = FrameIntake(protocol, keepalive, early)

    # ------------------------------------------------------------------ receiving
    async def receive(self) -> Incoming:
        """The next event: ``Connect`` first, ``Disconnect`` last.

        A read is fed to the protocol a slice at a time (see
        :meth:`FrameIntake.absorb <wsactors.transport.native.intake.FrameIntake.absorb>`),
        and the next slice only once the events of the last one were handed out.

        Cancellation:
            Safe to cancel: parsed events and unparsed bytes stay buffered, and a
            read that is cancelled has consumed nothing.
        """
        intake = self._intake
        pending = intake.pending
        if pending:
            await trio.lowlevel.checkpoint_if_cancelled()
            return intake.take()
        wire = self._wire
        while True:
            if wire.closed:
                # Aborted (by the timer, the runtime, or a write that failed).
                intake.gone = True
            if intake.gone:
                await trio.lowlevel.checkpoint()
                return self._dropped()
            data: bytes | bytearray | memoryview | None = intake.unfed
            if data is not None:
                intake.unfed = None
                await trio.lowlevel.checkpoint_if_cancelled()
            else:
                try:
                    # No cancel scope per read (it would cost more than the parsing):
                    # the server's timer ends a read that must end by aborting the stream.
                    data = await wire.read_some()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    data = b""  # dropped: an EOF without a close frame
                if wire.closed:
                    # Aborted while reading: the end is the abort's (see _dropped),
                    # not an EOF or a failure the intake would queue.
                    intake.gone = True
            intake.absorb(data)
            if self._protocol.writes:
                # Pongs, the close echo. Shielded: a cancelled read (idle_timeout)
                # must not cut a frame in half; the timer bounds a stalled write.
                with trio.CancelScope(shield=True):
                    await self._flush_quietly()
            if pending:
                return intake.take()

    async def _flush_quietly(self) -> None:
        """A flush by the receiver or the timer: a failed write ends the connection.

        The wire raises once it is closed (a failed write aborts it), which
        :meth:`receive` then reports.

        Cancellation:
            A cancelled write leaves a frame half sent: the connection is aborted.
        """
        with contextlib.suppress(trio.BrokenResourceError):
            await self._wire.flush(wait=False)

    def _dropped(self) -> Disconnect:
        """The connection ended without a close frame: who ended it?"""
        wire = self._wire
        return ABORTED if wire.closed and not wire.peer_broke else DROPPED

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
                if protocol.state is not OPEN:
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
                elif protocol.state is OPEN:
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
                if protocol.state is OPEN and protocol.held is None:
                    protocol.send_ping(event.data)
        await self._wire.flush(wait=True)

    def send_now(self, message: SharedText) -> int:
        """See :class:`~wsactors.transport.base.DirectWrites`: the message's shared
        frame (built once, by the first connection that writes it), written by the
        :class:`~wsactors.transport.native.wire.Wire` without blocking.

        Refused while the connection is not open, while a failure is held, and with
        permessage-deflate (each connection compresses with its own context).
        """
        protocol = self._protocol
        if protocol.state is not OPEN or protocol.held is not None or protocol.extensions:
            return WriteNow.REFUSED
        frame = message.frame
        if frame is None:
            frame = message.frame = text_frame(message.data)
        return self._wire.write_now(frame)

    def _accept(self, event: Accept) -> None:
        protocol = self._protocol
        if protocol.state is not CONNECTING:
            return
        response, self._response = self._response, None
        if response is None:
            return  # the handshake was answered already
        protocol.send_response(accepted_response(protocol, response, event))
        self._start_timer()

    def _deny(self, event: Deny) -> None:
        if self._protocol.state is not CONNECTING:
            return
        if self._response is None:
            return  # the handshake was answered already
        self._response = None
        self._protocol.send_response(denied_response(event))

    # ------------------------------------------------------------------ ending
    async def abort(self) -> None:
        """Reset the TCP connection at once (no closing handshake). Idempotent.

        :meth:`receive` then reports the end (``Disconnect`` 1006, not by the peer).

        Cancellation:
            Returns promptly; the connection is dropped anyway.
        """
        await self._wire.abort()

    async def finish(self, close_timeout: float) -> None:
        """End the connection once the runtime is done with it (see
        :meth:`Wire.finish <wsactors.transport.native.wire.Wire.finish>`): the closing
        handshake completed within ``close_timeout``, else an abort.

        Cancellation:
            Aborts the connection.
        """
        await self._wire.finish(close_timeout)

    # ------------------------------------------------------------------ timing
    def _start_timer(self) -> None:
        """The 101 went out: keepalive and the write timeout start now."""
        deadlines = self._deadlines
        if deadlines is not None:
            self._wire.time_writes(deadlines, self)
        self._keepalive.start(trio.current_time())
        self._schedule_timer()

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
        wire = self._wire
        if wire.closed:
            return None
        if wire.write_stalled(now):
            return self.abort
        keepalive = self._keepalive
        if keepalive.late(now):
            return self._keepalive_failed
        ping = None
        if keepalive.ping_due(now):
            protocol = self._protocol
            if protocol.state is not OPEN:
                return None  # closing: the closing handshake has its own bound
            protocol.send_ping(keepalive.ping(now))
            ping = self._flush_ping
        self._schedule_timer()
        return ping

    def _schedule_timer(self) -> None:
        """Ask the server's timer to call :meth:`on_deadline` at the next deadline."""
        deadlines = self._deadlines
        if deadlines is None:
            return
        wake = min(self._keepalive.wake(), self._wire.write_due())
        if wake != math.inf:
            deadlines.schedule(self, wake)

    async def _flush_ping(self) -> None:
        """Write the keepalive ping, within ``ping_timeout``.

        Cancellation:
            A cancelled write leaves a frame half sent: the connection is aborted.
        """
        with trio.move_on_after(self._keepalive.timeout):
            await self._flush_quietly()

    async def _keepalive_failed(self) -> None:
        """Fail the connection: the close frame if it can still go out, then abort.

        Cancellation:
            A cancelled write leaves a frame half sent: the connection is aborted.
        """
        self._intake.fail_now(*Why.KEEPALIVE_TIMEOUT.value)
        with trio.move_on_after(self._keepalive.timeout):
            await self._flush_quietly()
        await self.abort()
