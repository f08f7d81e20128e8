"""The wire under the native transport: the stream, one writer, the end.

:class:`Wire` owns a connection's Trio stream: it reads it (one read of at most
``READ_SIZE`` bytes at a time), writes what the ``websockets`` protocol queued (one
writer at a time, without a lock), notes when the write in progress began so that
a write stalled past ``send_timeout`` is aborted, aborts (a TCP reset), and
completes the closing handshake once the runtime is done (:meth:`Wire.finish`).
It is a part of :class:`~wsactors.transport.native.transport.NativeTransport`,
which decides when to read and write and what a closed wire means for the runtime.

Direct writes (:meth:`Wire.write_now`, the transport's
:class:`~wsactors.transport.base.DirectWrites`): a synchronous, non-blocking write
of ready frame bytes, for a writer that is idle. It writes only when no write is
in progress, no rest is kept and the protocol has nothing queued, so bytes never
interleave; what the socket does not take is kept as the *rest*, and every later
write (:meth:`Wire.flush`, by whichever task) sends the rest first. This is the
one place that writes outside :meth:`Wire.flush`; a sans-I/O core can offer the
same by treating the rest as the head of its output buffer.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket as _socket
import struct
from typing import Final

import trio
from websockets.protocol import SEND_EOF

from ..base import WriteNow
from .rfc6455 import CLOSED, CONNECTING, OPEN
from .sockio import read_socket, write_socket
from .timers import Deadlines, Timed
from .wireprotocol import WireProtocol

__all__ = ["READ_SIZE", "SendTimeoutError", "Wire", "socket_of"]

#: Bytes asked of the socket per read; it also bounds the events buffered per read.
READ_SIZE: Final = 65536


class SendTimeoutError(trio.BrokenResourceError):
    """A write stalled longer than ``send_timeout``; the connection was aborted."""


class Wire:
    """A stream and its protocol's output, written by one task at a time.

    Args:
        stream: The connection's stream (TCP, or TLS over TCP).
        protocol: The ``websockets`` protocol of the connection (what to write).
        send_timeout: Seconds one write may stall before the connection is aborted
            (by the server's timer, once :meth:`time_writes` was called).

    Attributes:
        closed: The stream was closed (aborted, or finished).
        peer_broke: The peer broke the connection (a write failed): an abort that
            follows is not the engine's decision.
        stalled: A write outlasted ``send_timeout`` (:meth:`write_stalled`); the
            abort that follows makes the writer raise :class:`SendTimeoutError`.
    """

    __slots__ = (
        "_deadlines",
        "_eof_sent",
        "_protocol",
        "_read_full",
        "_rest",
        "_socket",
        "_stream",
        "_timed",
        "_write_done",
        "_write_started",
        "_writing",
        "closed",
        "peer_broke",
        "send_timeout",
        "stalled",
    )

    def __init__(
        self, stream: trio.abc.Stream, protocol: WireProtocol, send_timeout: float
    ) -> None:
        self._stream = stream
        # Plain TCP: the socket is read and written through its file descriptor
        # (see read_some); under TLS, through the stream.
        self._socket = stream.socket if isinstance(stream, trio.SocketStream) else None
        self._read_full = True  # the last read filled its buffer: more may be waiting
        self._protocol = protocol
        self.send_timeout = send_timeout
        self.closed = False
        self._eof_sent = False  # the protocol asked for the end of the stream
        self._writing = False
        self._write_done: trio.Event | None = None
        # What a direct write (write_now) left unwritten: the next flush sends it first.
        self._rest: bytes | None = None
        self._write_started: float | None = None  # when the write in progress began
        self.stalled = False
        self.peer_broke = False
        # Who times the writes: the server's timer and the owner of this
        # connection's slot in it (see transport.timers), from time_writes() until
        # the stream is closed; None: nobody.
        self._deadlines: Deadlines | None = None
        self._timed: Timed | None = None

    def time_writes(self, deadlines: Deadlines, owner: Timed) -> None:
        """From now on, a write moves ``owner``'s deadline on ``deadlines`` to the
        moment it would reach ``send_timeout``, when the timer would wake later."""
        self._deadlines = deadlines
        self._timed = owner

    async def flush(self, *, wait: bool) -> None:
        """Write what the protocol has queued; one writer at a time, no lock.

        Trio is cooperative: checking and setting ``_writing`` with no checkpoint in
        between cannot race. A second writer either waits (``wait``: the sender; its
        frames are written by the writer's loop) or returns (the receiver, the
        timer).

        Raises:
            SendTimeoutError: the write stalled ``send_timeout`` seconds; aborted.
            trio.BrokenResourceError: the connection is broken or was aborted.

        Cancellation:
            A cancelled write leaves a frame half sent: the connection is aborted.
        """
        if self._writing:
            if not wait:
                await trio.lowlevel.checkpoint()
                return
            if self._write_done is None:
                self._write_done = trio.Event()
            await self._write_done.wait()
            if self.closed:
                raise trio.BrokenResourceError("the connection was aborted")
            return
        if self.closed:
            self._protocol.data_to_send()
            raise trio.BrokenResourceError("the connection was aborted")
        self._writing = True
        try:
            protocol = self._protocol
            while True:
                chunks = protocol.data_to_send()
                rest = self._rest
                if rest is not None:
                    # A direct write's unwritten end goes before anything queued since.
                    self._rest = None
                    chunks.insert(0, rest)
                if not chunks:
                    break
                await self._write(chunks)
        finally:
            self._writing = False
            done, self._write_done = self._write_done, None
            if done is not None:
                done.set()

    def write_now(self, frame: bytes) -> int:
        """Write ``frame`` (whole frames) now, without blocking; never raises.

        Only on plain TCP, and only when nothing else is being or waiting to be
        written: no write in progress, no rest kept, nothing queued by the
        protocol (otherwise ``REFUSED``, and nothing was written). What the socket
        does not take at once is kept and sent first by the next :meth:`flush`
        (``PENDING``): the caller must make that flush happen (wake the writer).
        A socket error is ``REFUSED``: the next flush meets it and ends the
        connection as usual. Returns a :class:`~wsactors.transport.base.WriteNow`.
        """
        sock = self._socket
        if (
            sock is None
            or self._writing
            or self.closed
            or self._rest is not None
            or self._protocol.writes
        ):
            return WriteNow.REFUSED
        try:
            sent = os.write(sock.fileno(), frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            return WriteNow.REFUSED
        if sent == len(frame):
            return WriteNow.WRITTEN
        self._rest = frame[sent:]
        return WriteNow.PENDING

    async def _write(self, chunks: list[bytes]) -> None:
        if SEND_EOF in chunks:
            # The protocol asks for the end of the stream (after a close frame, or an
            # HTTP response that is not 101): remember it; the engine half-closes.
            self._eof_sent = True
            chunks = [chunk for chunk in chunks if chunk]
            if not chunks:
                return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        # The timer aborts the stream if this write lasts send_timeout.
        started = self._write_started = trio.current_time()
        deadlines = self._deadlines
        if deadlines is not None:
            owner = self._timed
            assert owner is not None  # set with _deadlines
            due = started + self.send_timeout
            entry = owner._timer_entry
            if entry is None or due < entry[0]:
                # The timer would wake past this write's deadline: move it. Once
                # per timer cycle at most (later writes start later).
                deadlines.schedule(owner, due)
        try:
            if self._socket is not None:
                await write_socket(self._socket, data)
            else:
                await self._stream.send_all(data)
        except BaseException as exc:
            # Stalled (aborted by the timer), cancelled, or broken: a frame may be
            # half written, so the stream cannot be used any more.
            self._write_started = None
            if isinstance(exc, (trio.BrokenResourceError, OSError)) and not self.stalled:
                self.peer_broke = True
            await self.abort()
            if self.stalled and not isinstance(exc, trio.Cancelled):
                raise SendTimeoutError(
                    f"a write stalled for {self.send_timeout:.1f} s: aborted"
                ) from None
            raise
        self._write_started = None

    async def read_some(self) -> bytes | bytearray:
        """One read of at most ``READ_SIZE`` bytes (``b""``: the peer ended the stream).

        Raises:
            trio.BrokenResourceError, trio.ClosedResourceError, OSError: the
            connection broke or was aborted.

        Cancellation:
            A cancellation point; a cancelled read consumed nothing.
        """
        sock = self._socket
        if sock is None:
            return await self._stream.receive_some(READ_SIZE)
        data = await read_socket(sock, READ_SIZE, ready=self._read_full)
        self._read_full = len(data) == READ_SIZE
        return data

    def write_due(self) -> float:
        """When the write in progress reaches ``send_timeout`` (``inf``: no write)."""
        started = self._write_started
        return math.inf if started is None else started + self.send_timeout

    def write_stalled(self, now: float) -> bool:
        """Whether the write in progress has lasted ``send_timeout`` at ``now``; if so
        it is marked :attr:`stalled` (the caller aborts)."""
        started = self._write_started
        if started is not None and now - started >= self.send_timeout:
            self.stalled = True
            return True
        return False

    # ------------------------------------------------------------------ ending
    async def abort(self) -> None:
        """Reset the TCP connection at once (no closing handshake). Idempotent.

        Cancellation:
            Returns promptly; the connection is dropped anyway.
        """
        if self.closed:
            await trio.lowlevel.checkpoint()
            return
        self._mark_closed()
        raw = socket_of(self._stream)
        if raw is not None:
            # SO_LINGER 0: close() sends a RST and frees the unsent data at once,
            # instead of the kernel retrying it for minutes to a peer that never reads.
            with contextlib.suppress(OSError):
                raw.setsockopt(_socket.SOL_SOCKET, _socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream = self._stream
        # Under TLS, the TCP stream: closing the SSLStream would try to say goodbye
        # (close_notify), and another task may be inside its send_all.
        inner = stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
        await trio.aclose_forcefully(inner)

    async def finish(self, close_timeout: float) -> None:
        """End the connection once the runtime is done with it.

        The closing handshake is completed when it is under way (the peer's close
        frame or EOF awaited, discarding data; RFC 6455 section 7.1.1: the server
        closes the TCP connection first), bounded by ``close_timeout``; the TCP
        connection is then closed, or aborted if the peer did not finish in time or
        the WebSocket was never closed.

        Cancellation:
            Aborts the connection.
        """
        if self.closed:
            await trio.lowlevel.checkpoint()
            return
        protocol = self._protocol
        finished = False
        try:
            with trio.move_on_after(close_timeout):
                finished = await self._complete_close(protocol)
        finally:
            if not finished:
                await self.abort()
        if finished:
            self._mark_closed()
            await trio.aclose_forcefully(self._stream)

    def _mark_closed(self) -> None:
        """The stream is closed: nothing is written or timed any more."""
        self.closed = True
        # The timer's owner holds this wire: no reference cycle outlives the stream.
        self._deadlines = None
        self._timed = None

    async def _complete_close(self, protocol: WireProtocol) -> bool:
        protocol.release()  # a held failure: its close frame is due now
        state = protocol.state
        if state is OPEN or (state is CONNECTING and not protocol.eof_sent):
            return False  # the runtime never closed it: nothing graceful is due
        stream = self._stream
        try:
            await self.flush(wait=True)
            while protocol.state is not CLOSED:
                if self._eof_sent and isinstance(stream, trio.abc.HalfCloseableStream):
                    await stream.send_eof()
                    self._eof_sent = False
                data = await stream.receive_some(READ_SIZE)
                if not data:
                    return True
                protocol.receive_data(data)
                protocol.events_received()  # discarded: the connection is closing
                await self.flush(wait=True)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return False
        return True


def socket_of(stream: trio.abc.Stream) -> trio.socket.SocketType | None:
    """The TCP socket under ``stream`` (through TLS), if it has one."""
    inner: object = stream
    if isinstance(inner, trio.SSLStream):
        inner = inner.transport_stream
    if isinstance(inner, trio.SocketStream):
        return inner.socket
    return None
