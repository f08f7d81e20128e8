"""What the reads of a native connection become: the queue of events for the runtime.

:class:`FrameIntake` feeds a read to the frame scanner and the protocol a slice at
a time, queues the events they complete (messages assembled by
:class:`~wsactors.transport.native.wireprotocol.WireProtocol`, pongs through the
:class:`~wsactors.transport.native.keepalive.Keepalive`, the peer's close), and
turns a failure into :class:`~wsactors.connection.events.Failing` (held until the
replies to earlier messages are written) or a ``Disconnect``. It is sans-I/O:
:class:`~wsactors.transport.native.transport.NativeTransport` owns one, reads the
socket for it and hands its events out.
"""

from __future__ import annotations

from typing import Final, cast

from websockets.frames import Frame

from ...connection.closes import ABNORMAL
from ...connection.events import Connect, Disconnect, Failing, Incoming, Message
from .assembler import AssemblyError
from .framescan import FrameScanner
from .keepalive import Keepalive
from .rfc6455 import CLOSE, OPEN, PONG
from .wireprotocol import WireProtocol

__all__ = ["ABORTED", "DROPPED", "FrameIntake"]

_CONNECT: Final = Connect()
#: The connection ended without a close frame (RFC 6455 section 7.1.5: 1006).
DROPPED: Final = Disconnect(ABNORMAL, "")
#: The engine aborted the connection itself (a stalled write, the shutdown).
ABORTED: Final = Disconnect(ABNORMAL, "", by_peer=False)


class FrameIntake:
    """The events parsed from a connection's reads, handed out one by one.

    Args:
        protocol: The ``websockets`` protocol of the connection.
        keepalive: The connection's keepalive (it turns pongs into events).
        early: The frames the protocol parsed from bytes that came with the
            handshake request, and those bytes.

    Attributes:
        pending: Events parsed and not handed out yet (from the ``_taken``-th on):
            ``Connect`` first.
        unfed: The rest of the last read, not fed to the protocol yet.
        gone: The end of the connection is queued (or was handed out): nothing
            more the peer sends is turned into events.
    """

    __slots__ = (
        "_failing",
        "_feed_size",
        "_keepalive",
        "_protocol",
        "_scanner",
        "_taken",
        "gone",
        "pending",
        "unfed",
    )

    def __init__(
        self,
        protocol: WireProtocol,
        keepalive: Keepalive,
        early: tuple[list[Message | Frame], bytes],
    ) -> None:
        self._protocol = protocol
        self._keepalive = keepalive
        self.gone = False
        # Events parsed from one read, handed out one by one (from index _taken): at
        # most one read's worth. A list, emptied once handed out: an idle connection
        # keeps 56 bytes here, where a deque keeps its 760-byte block.
        self.pending: list[Incoming] = [_CONNECT]
        self._taken = 0
        self.unfed: memoryview | None = None
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

    def take(self) -> Incoming:
        """The next pending event (``pending`` is not empty)."""
        pending = self.pending
        taken = self._taken
        event = pending[taken]
        taken += 1
        if taken == len(pending):
            pending.clear()  # frees the list's item array
            taken = 0
        self._taken = taken
        return event

    def absorb(self, data: bytes | bytearray | memoryview) -> None:
        """Feed a read to the protocol and queue the events it completes (``b""``:
        the stream ended).

        A slice at a time (16 KiB; 1 KiB with compression, where a small slice can
        inflate to a whole message): the rest is kept in :attr:`unfed`, to be fed
        once the events of this slice were handed out, so what is buffered stays
        bounded whatever the peer packs into one read.
        """
        size = self._feed_size
        if len(data) > size:
            view = memoryview(data)
            self.unfed, data = view[size:], view[:size]
        protocol = self._protocol
        if not data:
            protocol.receive_eof()
            if not self.gone:
                self.gone = True
                self.pending.append(DROPPED)
            return
        # Before the protocol: the scanner sees the bytes in the same order.
        ahead = self._scanner.feed(data)
        protocol.receive_data(data)  # type: ignore[arg-type]  # it copies into its buffer
        self._queue(cast(list[Message | Frame], protocol.events_received()), ahead)

    def _queue(self, parsed: list[Message | Frame], ahead: tuple[bytes, bool, bool] | None) -> None:
        """Queue the protocol's events; then check the text of a frame in flight."""
        protocol = self._protocol
        pending = self.pending
        for frame in parsed:
            if type(frame) is Message:  # assembled by the protocol (WireProtocol)
                pending.append(frame)
                continue
            assert isinstance(frame, Frame)
            opcode = frame.opcode
            if opcode is PONG:
                pending.append(self._keepalive.pong(bytes(frame.data)))
            elif opcode is CLOSE:
                # The protocol echoed the close; the peer's own code and reason.
                received = protocol.close_rcvd
                assert received is not None
                self.gone = True
                pending.append(Disconnect(int(received.code), received.reason))
                return
        if protocol.parser_exc is not None:
            if not self.gone and not self._failing:
                # The protocol failed the connection: 1002 (framing), 1007 (a close
                # reason that is not UTF-8), 1009 (too big, refused before buffering).
                self._scanner.stop()
                held = protocol.held
                if held is not None:
                    self._failing = True
                    pending.append(Failing(held.code, held.reason))
                    return
                sent = protocol.close_sent
                self.gone = True
                if sent is None:  # the stream ended inside a frame
                    pending.append(DROPPED)
                else:
                    pending.append(Disconnect(int(sent.code), sent.reason, by_peer=False))
            return
        if ahead is not None:
            # RFC 6455 section 8.1: invalid UTF-8 fails the connection as soon as it
            # arrives, also inside a frame whose end has not arrived yet.
            try:
                protocol.assembler.check_ahead(*ahead)
            except AssemblyError as exc:
                if protocol.state is OPEN:
                    self._fail_held(exc.code, exc.reason)
                # Before the 101 (bytes sent with the request): nothing can be failed
                # yet; the frame is judged whole once it is in.

    def fail_now(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): close frame, then TCP close."""
        self._protocol.fail_now(code, reason)
        self.gone = True
        self.pending.append(Disconnect(code, reason, by_peer=False))

    def _fail_held(self, code: int, reason: str) -> None:
        """Fail the connection for what the peer sent, after the replies to what it
        sent before (see ``events.Failing``)."""
        protocol = self._protocol
        if protocol.state is not OPEN or self._failing:
            self.fail_now(code, reason)
            return
        protocol.hold(code, reason)
        self._failing = True
        self._scanner.stop()
        self.pending.append(Failing(code, reason))
