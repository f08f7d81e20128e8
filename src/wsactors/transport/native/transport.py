"""The native transport: the runtime over a Trio stream it owns, no ASGI in between.

:class:`NativeTransport` is small glue between two parts it owns:

- its :class:`~wsactors.transport.native.core.ConnectionCore`, sans-I/O: websockets'
  protocol, message assembly and UTF-8, the held failure, keepalive, close codes;
  bytes and time in, events and bytes out;
- its :class:`~wsactors.transport.native.wire.Wire`: the stream's reads and writes,
  the write timeout's bookkeeping, the abort, the half-close.

Who does what (one reader, one writer, so no lock):

- the receiver actor calls :meth:`NativeTransport.receive`: it reads the socket,
  feeds the core, and returns the parsed events one by one from a buffer bounded
  by that read. When the core has bytes of its own to write (a pong, the echo of
  a close), it wakes the sender; it never writes;
- the sender actor calls :meth:`NativeTransport.send`: the runtime's events become
  frames, and everything the core has to write (its own control frames too) goes
  out with one ``send_all``. It is the socket's only writer while it runs; once it
  is done, :meth:`NativeTransport.finish` completes the closing handshake;
- while the sender is idle (parked on an empty outbox, no write in progress), the
  runtime may call :meth:`NativeTransport.send_now` (a shared frame) or
  :meth:`NativeTransport.send_data_now` (the handler's own message): a direct
  write (:class:`~wsactors.transport.base.DirectWrites`), made "under the
  sender's ownership" and in order with it: what the core has to write goes
  first, and what the socket does not take becomes the head of the core's output,
  written by the sender, which it wakes;
- the server's timer (:class:`~wsactors.transport.native.timers.Deadlines`) calls
  :meth:`NativeTransport.on_deadline`: it hands the time to the core (a keepalive
  ping queued, a late pong failing the connection with 1011) and wakes the
  sender; it aborts a write stalled past ``send_timeout``.

While a write is stalled, what waits for the socket is the sender's batch plus
the core's fixed control frames (one pong, one close): a peer flooding pings
without reading costs nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

import trio
from websockets.frames import Frame
from websockets.http11 import Response

from ...connection.events import Disconnect, Incoming, Message, Outgoing
from ..base import Capabilities, SharedText, WriteNow
from .budget import IncomingBudget
from .core import ABORTED, DROPPED, ConnectionCore
from .rfc6455 import binary_frame, text_frame
from .timers import Action, Deadlines, Entry
from .turns import Turns
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
        budget: The server's budget for unfinished incoming messages (``None``:
            none).
        turns: The server's line for idle connections that wake together
            (:mod:`~wsactors.transport.native.turns`; ``None``: no line).
        early: The frames the protocol parsed from bytes that came with the
            handshake request, and those bytes.
    """

    __slots__ = (
        "_budget",
        "_core",
        "_deadlines",
        "_held",
        "_timer_entry",
        "_timer_scope",
        "_wake",
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
        budget: IncomingBudget | None = None,
        turns: Turns | None = None,
        early: tuple[list[Message | Frame], bytes] = ([], b""),
    ) -> None:
        self._core = ConnectionCore(
            protocol,
            response,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            clock=trio.current_time,
            early=early,
        )
        self._wire = Wire(stream, send_timeout, turns)
        # The server's timer: it times this connection once the 101 went out; this
        # connection's slots in it (see transport.timers).
        self._deadlines = deadlines
        self._timer_entry: Entry | None = None
        self._timer_scope: trio.CancelScope | None = None
        # Wakes the sender actor when the core has bytes of its own to write.
        self._wake: Callable[[], None] | None = None
        self.subprotocols = subprotocols
        # The server's budget for unfinished messages, and what this one counts in it.
        self._budget = budget
        self._held = 0

    def attach_sender(self, wake: Callable[[], None]) -> None:
        """See :meth:`Transport.attach_sender <wsactors.transport.base.Transport.attach_sender>`."""
        self._wake = wake

    # ------------------------------------------------------------------ receiving
    async def receive(self) -> Incoming:
        """The next event: ``Connect`` first, ``Disconnect`` last.

        A read is fed to the core a slice at a time (see
        :meth:`~wsactors.transport.native.core.ConnectionCore.receive_data`), and the
        next slice only once the events of the last one were handed out.

        Cancellation:
            Safe to cancel: parsed events and unparsed bytes stay buffered, and a
            read that is cancelled has consumed nothing.
        """
        core = self._core
        pending = core.pending
        if pending:
            await trio.lowlevel.checkpoint_if_cancelled()
            return core.take()
        wire = self._wire
        while True:
            if wire.closed:
                # Aborted (by the timer, the runtime, or a write that failed).
                core.gone = True
            if core.gone:
                await trio.lowlevel.checkpoint()
                return self._dropped()
            data: bytes | bytearray | memoryview | None = core.unfed
            if data is not None:
                core.unfed = None
                await trio.lowlevel.checkpoint_if_cancelled()
            else:
                budget = self._budget
                # Past the server's budget, a connection holding an unfinished
                # message is not read: TCP pushes back on the peer. A peer that
                # leaves meanwhile is read (its end) without waiting for room.
                if (
                    budget is not None
                    and self._held
                    and budget.over
                    and not await budget.wait(wire.peer_ended)
                ):
                    core.fail_buffers_full()
                    budget.adjust(-self._held)  # the message was dropped
                    self._held = 0
                    if pending:
                        return core.take()
                    continue
                try:
                    # No cancel scope per read (it would cost more than the parsing):
                    # the server's timer ends a read that must end by aborting the stream.
                    data = await wire.read_some()
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    data = b""  # dropped: an EOF without a close frame
                if wire.closed:
                    # Aborted while reading: the end is the abort's (see _dropped),
                    # not an EOF or a failure the core would queue.
                    core.gone = True
            core.receive_data(data)
            budget = self._budget
            if budget is not None:
                held = core.held_bytes()
                if held != self._held:
                    budget.adjust(held - self._held)
                    self._held = held
            if core.retime or core.protocol.attention:
                self._attend()
            if pending:
                return core.take()

    def _attend(self) -> None:
        """The core changed its deadline or has bytes of its own to write: tell the
        timer, wake the writer. Never writes."""
        core = self._core
        core.protocol.attention = False
        if core.retime:
            core.retime = False
            self._schedule_timer()
        if core.wants_write():
            wake = self._wake
            if wake is not None:
                wake()

    def _dropped(self) -> Disconnect:
        """The connection ended without a close frame: who ended it?"""
        wire = self._wire
        return ABORTED if wire.closed and not wire.peer_broke else DROPPED

    # ------------------------------------------------------------------ sending
    async def send(self, events: Sequence[Outgoing]) -> None:
        """Turn ``events`` into frames and write them, with whatever the core has to
        write of its own (pongs, the close echo, keepalive pings), in one ``send_all``
        per round; an empty batch writes only the latter.

        Raises:
            SendTimeoutError: the write stalled ``send_timeout`` seconds; aborted.
            trio.BrokenResourceError: the connection is broken or was aborted.

        Cancellation:
            A cancelled write leaves a frame half sent: the connection is aborted.
        """
        core = self._core
        if events:
            core.send(events)
            if core.retime:
                self._retime()
        await self._write_out()
        if core.drop_after_write:
            # Failed at once (keepalive): RFC 6455 section 7.1.7, the close frame,
            # then the TCP connection closed, whatever the peer does.
            await self.abort()

    def send_now(self, message: SharedText) -> int:
        """See :class:`~wsactors.transport.base.DirectWrites`: the message's shared
        frame (built once, by the first connection that writes it), after what the
        core has to write (pending pongs go ahead, in order), in one non-blocking
        write.

        Refused (nothing written, nothing taken from the core) under TLS, during a
        write, once the connection is closed or not open, while a failure is
        held, with permessage-deflate (each connection compresses with its own
        context), and while the rest of the last direct write is kept. What the
        socket does not take is kept by the core as the head of its output, and
        the sender is woken (:meth:`attach_sender`'s wake) to write it first:
        ``PENDING``.
        """
        if not self._wire.writable_now():
            return WriteNow.REFUSED
        frame = message.frame
        if frame is None:
            frame = message.frame = text_frame(message.data)
        return self._write_now(frame)

    def send_data_now(self, data: str | bytes) -> int:
        """See :class:`~wsactors.transport.base.DirectWrites`: ``data`` framed for
        this connection (text for ``str``, binary for ``bytes``), written as by
        :meth:`send_now`. The handler's own sends, while the sender is idle."""
        if not self._wire.writable_now() or not self._core.direct_ready():
            return WriteNow.REFUSED  # refused before framing (permessage-deflate)
        if type(data) is str:
            return self._write_now(text_frame(data.encode()))
        return self._write_now(binary_frame(data))  # type: ignore[arg-type]

    def _write_now(self, frame: bytes) -> int:
        wire = self._wire
        core = self._core
        data = core.direct_write(frame)
        if data is None:
            return WriteNow.REFUSED
        sent = wire.write_now(data)
        if sent == len(data):
            return WriteNow.WRITTEN
        core.keep(data[sent:])
        wake = self._wake
        if wake is not None:
            wake()
        return WriteNow.PENDING

    async def _write_out(self) -> None:
        """Write what the core has, until it has nothing (a write may take long:
        what the receiver and the timer queued meanwhile goes out next round)."""
        core = self._core
        wire = self._wire
        chunks = core.data_to_send()
        if not chunks:
            await trio.lowlevel.checkpoint()
            if wire.closed:
                raise trio.BrokenResourceError("the connection was aborted")
            return
        # Only a write that waited for the socket lets the receiver and the timer
        # queue more meanwhile: then look again.
        while await wire.write(chunks):
            chunks = core.data_to_send()
            if not chunks:
                break

    def _retime(self) -> None:
        """The core's deadline changed (the 101 went out: keepalive and the write
        timeout start now)."""
        self._core.retime = False
        deadlines = self._deadlines
        if deadlines is not None and not self._wire.timed and self._core.accepted:
            self._wire.time_writes(deadlines, self)
        self._schedule_timer()

    # ------------------------------------------------------------------ ending
    async def abort(self) -> None:
        """Reset the TCP connection at once (no closing handshake). Idempotent.

        :meth:`receive` then reports the end (``Disconnect`` 1006, not by the peer).

        Cancellation:
            Returns promptly; the connection is dropped anyway.
        """
        await self._wire.abort()

    async def finish(self, close_timeout: float) -> None:
        """End the connection once the runtime is done with it (its sender too: from
        here this task is the socket's only writer).

        The closing handshake is completed when it is under way (the peer's close
        frame or EOF awaited, discarding data; RFC 6455 section 7.1.1: the server
        closes the TCP connection first), bounded by ``close_timeout``; the TCP
        connection is then closed, or aborted if the peer did not finish in time or
        the WebSocket was never closed.

        Cancellation:
            Aborts the connection.
        """
        budget = self._budget
        if budget is not None and self._held:
            budget.adjust(-self._held)  # what is read from here on is discarded
            self._held = 0
        wire = self._wire
        if wire.closed:
            await trio.lowlevel.checkpoint()
            return
        finished = False
        try:
            with trio.move_on_after(close_timeout):
                finished = await self._complete_close()
        finally:
            if not finished:
                await wire.abort()
        if finished:
            await wire.close()

    async def _complete_close(self) -> bool:
        core = self._core
        wire = self._wire
        core.release()  # a held failure: its close frame is due now
        if not core.owes_close():
            return False  # the runtime never closed it: nothing graceful is due
        try:
            await self._write_out()
            while not core.closed:
                await wire.half_close()
                data = await wire.receive_some()
                if not data:
                    return True
                core.absorb_closing(data)
                await self._write_out()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return False
        return True

    # ------------------------------------------------------------------ timing
    def on_deadline(self, now: float) -> Action | None:
        """The server's timer: this connection's next deadline passed.

        The write in progress reaching ``send_timeout`` (then abort); a connection
        failed at once whose close did not go out in time (abort); otherwise the
        time goes to the core (a keepalive ping, a late pong: 1011 "keepalive ping
        timeout") and the sender is woken to write what it queued. Per message it
        costs nothing: a writer notes when its write began, and moves the deadline
        only when the timer would wake past it.

        Returns:
            The abort to run as a task; ``None``: nothing (the next deadline is set).
        """
        wire = self._wire
        if wire.closed:
            return None
        if wire.write_stalled(now):
            return self.abort
        core = self._core
        if core.abort_due(now):
            return self.abort
        core.on_time(now)
        core.retime = True  # the timer fired: its next deadline is set in any case
        self._attend()
        return None

    def _schedule_timer(self) -> None:
        """Ask the server's timer to call :meth:`on_deadline` at the next deadline."""
        deadlines = self._deadlines
        if deadlines is None or self._wire.closed:
            return
        wake = min(self._core.next_deadline(), self._wire.write_due())
        if wake != math.inf:
            deadlines.schedule(self, wake)
