"""What one read of the native transport becomes: events for the runtime.

:class:`FrameIntake` feeds a read to the frame scanner and the protocol, queues
the events they complete (messages assembled by
:class:`~wsactors.transport.native.wireprotocol.WireProtocol`, pongs, the peer's close),
and turns a failure into :class:`~wsactors.connection.events.Failing` (held until the
replies to earlier messages are written) or a ``Disconnect``.
:class:`~wsactors.transport.native.transport.NativeTransport` adds reading the socket and
handing the events out.
"""

from __future__ import annotations

from typing import Final, cast

from websockets.frames import Frame, Opcode
from websockets.protocol import State as WireState

from ...connection.closes import ABNORMAL
from ...connection.events import Disconnect, Failing, Incoming, Message
from .assembler import AssemblyError
from .framescan import FrameScanner
from .keepalive import Keepalive

__all__ = ["FrameIntake"]

_DROPPED: Final = Disconnect(ABNORMAL, "")
_OPEN: Final = WireState.OPEN
_PONG: Final = Opcode.PONG
_CLOSE: Final = Opcode.CLOSE


class FrameIntake(Keepalive):
    """The parsing half of the native transport (its state is the subclass's)."""

    __slots__ = ("_failing", "_pending", "_scanner")

    # Set by NativeTransport.__init__.
    _pending: list[Incoming]
    _scanner: FrameScanner
    _failing: bool

    def _absorb(self, data: bytes | bytearray | memoryview) -> None:
        """Feed one read to the protocol and queue the events it completes."""
        protocol = self._protocol
        if not data:
            protocol.receive_eof()
            if not self._gone:
                self._gone = True
                self._pending.append(_DROPPED)
            return
        # Before the protocol: the scanner sees the bytes in the same order.
        ahead = self._scanner.feed(data)
        protocol.receive_data(data)  # type: ignore[arg-type]  # it copies into its buffer
        self._queue(cast(list[Message | Frame], protocol.events_received()), ahead)

    def _queue(self, parsed: list[Message | Frame], ahead: tuple[bytes, bool, bool] | None) -> None:
        """Queue the protocol's events; then check the text of a frame in flight."""
        protocol = self._protocol
        pending = self._pending
        for frame in parsed:
            if type(frame) is Message:  # assembled by the protocol (WireProtocol)
                pending.append(frame)
                continue
            assert isinstance(frame, Frame)
            opcode = frame.opcode
            if opcode is _PONG:
                pending.append(self._pong(bytes(frame.data)))
            elif opcode is _CLOSE:
                # The protocol echoed the close; the peer's own code and reason.
                received = protocol.close_rcvd
                assert received is not None
                self._gone = True
                pending.append(Disconnect(int(received.code), received.reason))
                return
        if protocol.parser_exc is not None:
            if not self._gone and not self._failing:
                # The protocol failed the connection: 1002 (framing), 1007 (a close
                # reason that is not UTF-8), 1009 (too big, refused before buffering).
                self._scanner.stop()
                held = protocol.held
                if held is not None:
                    self._failing = True
                    pending.append(Failing(held.code, held.reason))
                    return
                sent = protocol.close_sent
                self._gone = True
                if sent is None:  # the stream ended inside a frame
                    pending.append(_DROPPED)
                else:
                    pending.append(Disconnect(int(sent.code), sent.reason, by_peer=False))
            return
        if ahead is not None:
            # RFC 6455 section 8.1: invalid UTF-8 fails the connection as soon as it
            # arrives, also inside a frame whose end has not arrived yet.
            try:
                protocol.assembler.check_ahead(*ahead)
            except AssemblyError as exc:
                if protocol.state is _OPEN:
                    self._fail_held(exc.code, exc.reason)
                # Before the 101 (bytes sent with the request): nothing can be failed
                # yet; the frame is judged whole once it is in.

    def _fail_now(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): close frame, then TCP close."""
        self._protocol.fail_now(code, reason)
        self._gone = True
        self._pending.append(Disconnect(code, reason, by_peer=False))

    def _fail_held(self, code: int, reason: str) -> None:
        """Fail the connection for what the peer sent, after the replies to what it
        sent before (see ``events.Failing``)."""
        protocol = self._protocol
        if protocol.state is not _OPEN or self._failing:
            self._fail_now(code, reason)
            return
        protocol.hold(code, reason)
        self._failing = True
        self._scanner.stop()
        self._pending.append(Failing(code, reason))
