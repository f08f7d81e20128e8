"""The wire under the native transport: the stream, its reads, its writes, the end.

:class:`Wire` owns a connection's Trio stream: it reads it (one read of at most
``READ_SIZE`` bytes at a time), writes the bytes it is given (by one task: the
sender actor, or once the sender is done the connection's own task finishing it;
no flag or lock, the structure guarantees it), notes when the write in progress
began so that a write stalled past ``send_timeout`` is aborted, aborts (a TCP
reset), half-closes, and closes. It knows nothing of WebSocket: what to write and
what a read means is the :class:`~wsactors.transport.native.core.ConnectionCore`'s;
:class:`~wsactors.transport.native.transport.NativeTransport` composes the two.

One synchronous write besides (:meth:`Wire.write_now`): what a plain TCP socket
takes at once, for the transport's direct writes
(:class:`~wsactors.transport.base.DirectWrites`), made while the sender is idle:
it is then the one writer.
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

from .sockio import read_socket, write_socket
from .timers import Deadlines, Timed
from .turns import Turns

__all__ = ["READ_SIZE", "SendTimeoutError", "Wire", "socket_of"]

#: Bytes asked of the socket per read; it also bounds the events buffered per read.
READ_SIZE: Final = 65536


class SendTimeoutError(trio.BrokenResourceError):
    """A write stalled longer than ``send_timeout``; the connection was aborted."""


class Wire:
    """A stream, read by the receiver and written by one writer at a time.

    Args:
        stream: The connection's stream (TCP, or TLS over TCP).
        send_timeout: Seconds one write may stall before the connection is aborted
            (by the server's timer, once :meth:`time_writes` was called).

    Attributes:
        closed: The stream was closed (aborted, or finished).
        eof_due: The protocol asked for the end of the stream (after a close frame,
            or an HTTP response that is not 101): :meth:`half_close` sends it.
        peer_broke: The peer broke the connection (a write failed): an abort that
            follows is not the engine's decision.
        stalled: A write outlasted ``send_timeout`` (:meth:`write_stalled`); the
            abort that follows makes the writer raise :class:`SendTimeoutError`.
    """

    __slots__ = (
        "_deadlines",
        "_quiet",
        "_read_full",
        "_socket",
        "_stream",
        "_timed",
        "_turns",
        "_write_started",
        "closed",
        "eof_due",
        "peer_broke",
        "send_timeout",
        "stalled",
    )

    def __init__(
        self, stream: trio.abc.Stream, send_timeout: float, turns: Turns | None = None
    ) -> None:
        self._stream = stream
        # Plain TCP: the socket is read and written through its file descriptor
        # (see read_some); under TLS, through the stream.
        self._socket = stream.socket if isinstance(stream, trio.SocketStream) else None
        self._read_full = True  # the last read filled its buffer: more may be waiting
        # The server's line for idle connections (see transport.turns), and whether
        # the next wait for data is in it (until a first message, and after a
        # long wait: an idle connection).
        self._turns = turns
        self._quiet = True
        self.send_timeout = send_timeout
        self.closed = False
        self.eof_due = False
        self._write_started: float | None = None  # when the write in progress began
        self.stalled = False
        self.peer_broke = False
        # Who times the writes: the server's timer and the owner of this
        # connection's slot in it (see transport.timers), from time_writes() until
        # the stream is closed; None: nobody.
        self._deadlines: Deadlines | None = None
        self._timed: Timed | None = None

    @property
    def timed(self) -> bool:
        """Whether writes are timed (:meth:`time_writes` was called, still open)."""
        return self._deadlines is not None

    def time_writes(self, deadlines: Deadlines, owner: Timed) -> None:
        """From now on, a write moves ``owner``'s deadline on ``deadlines`` to the
        moment it would reach ``send_timeout``, when the timer would wake later."""
        if not self.closed:
            self._deadlines = deadlines
            self._timed = owner

    async def write(self, chunks: list[bytes]) -> bool:
        """Write ``chunks`` (one ``send_all``); an empty chunk (websockets'
        ``SEND_EOF``) asks for the end of the stream (:attr:`eof_due`).

        Only one task writes at a time: the sender actor (the transport's
        :meth:`~wsactors.transport.native.transport.NativeTransport.send`), or
        the connection's own task once the sender is done (``finish``).

        Returns:
            Whether the write waited (other tasks ran meanwhile).

        Raises:
            SendTimeoutError: the write stalled ``send_timeout`` seconds; aborted.
            trio.BrokenResourceError: the connection is broken or was aborted.

        Cancellation:
            A cancelled write leaves a frame half sent: the connection is aborted.
        """
        if self.closed:
            await trio.lowlevel.checkpoint()
            raise trio.BrokenResourceError("the connection was aborted")
        if SEND_EOF in chunks:
            # The protocol asks for the end of the stream (after a close frame, or an
            # HTTP response that is not 101): remember it; the engine half-closes.
            self.eof_due = True
            chunks = [chunk for chunk in chunks if chunk]
            if not chunks:
                await trio.lowlevel.checkpoint()
                return True
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
                waited = await write_socket(self._socket, data)
            else:
                await self._stream.send_all(data)
                waited = True
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
        return waited

    def writable_now(self) -> bool:
        """Whether :meth:`write_now` may write: plain TCP, open, no write in progress."""
        return self._socket is not None and self._write_started is None and not self.closed

    def write_now(self, data: bytes) -> int:
        """Write what the socket takes of ``data`` at once, without blocking (only
        when :meth:`writable_now`).

        For a writer that is idle (the transport's direct writes): the caller keeps
        what was not written and has it written first by the next :meth:`write`.
        Never raises, never checkpoints.

        Returns:
            The number of bytes written; 0 also when the socket failed: the next
            :meth:`write` meets the error and ends the connection as usual.
        """
        sock = self._socket
        assert sock is not None  # writable_now()
        try:
            return os.write(sock.fileno(), data)
        except OSError:  # BlockingIOError (full), or broken: the next write() says
            return 0

    def peer_ended(self) -> bool:
        """Whether the peer ended or reset the connection and nothing it sent is
        left unread (a look at the socket that reads nothing; never blocks).

        Through TLS, or with data waiting (the end, if any, comes after it): False.
        """
        sock = self._socket
        if sock is None or self.closed:
            return False
        fd = sock.fileno()
        if fd < 0:
            return False
        try:
            # A second socket object on the same descriptor (it leaves the
            # descriptor's flags alone), detached at once: the descriptor stays
            # the socket's.
            look = _socket.socket(fileno=fd)
        except OSError:
            return True  # not a socket any more: the next read says what
        try:
            return look.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True  # reset: the next read says so
        finally:
            look.detach()

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
        turns = self._turns
        if turns is None:
            data = await read_socket(sock, READ_SIZE, ready=self._read_full)
        else:
            data, self._quiet = await turns.read(
                sock, READ_SIZE, ready=self._read_full, quiet=self._quiet
            )
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

    async def half_close(self) -> None:
        """Send the end of the stream, if the protocol asked for it (TCP FIN; RFC
        6455 section 7.1.1: the server closes the TCP connection first).

        Raises:
            trio.BrokenResourceError, trio.ClosedResourceError, OSError: the
            connection broke.

        Cancellation:
            A checkpoint.
        """
        stream = self._stream
        if self.eof_due and isinstance(stream, trio.abc.HalfCloseableStream):
            self.eof_due = False
            await stream.send_eof()
        else:
            await trio.lowlevel.checkpoint()

    async def receive_some(self) -> bytes | bytearray:
        """One read through the stream, during the closing handshake.

        Plain TCP waits in the server's line (see transport.turns): the peers of
        thousands of closing connections may end their streams at once.

        Raises:
            trio.BrokenResourceError, trio.ClosedResourceError, OSError: the
            connection broke.
        """
        sock = self._socket
        turns = self._turns
        if sock is not None and turns is not None:
            data, _ = await turns.read(sock, READ_SIZE, ready=False, quiet=True)
            return data
        return await self._stream.receive_some(READ_SIZE)

    async def close(self) -> None:
        """Close the stream after a closing handshake. Idempotent.

        Cancellation:
            Returns promptly; the stream is closed anyway.
        """
        if self.closed:
            await trio.lowlevel.checkpoint()
            return
        self._mark_closed()
        await trio.aclose_forcefully(self._stream)

    def _mark_closed(self) -> None:
        """The stream is closed: nothing is written or timed any more."""
        self.closed = True
        turns = self._turns
        sock = self._socket
        if turns is not None and sock is not None:
            turns.forget(sock)  # a reader waiting in its line ends too
        # The timer's owner holds this wire: no reference cycle outlives the stream.
        self._deadlines = None
        self._timed = None


def socket_of(stream: trio.abc.Stream) -> trio.socket.SocketType | None:
    """The TCP socket under ``stream`` (through TLS), if it has one."""
    inner: object = stream
    if isinstance(inner, trio.SSLStream):
        inner = inner.transport_stream
    if isinstance(inner, trio.SocketStream):
        return inner.socket
    return None
