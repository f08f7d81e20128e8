"""websockets' sans-I/O server protocol, as the native transport needs it.

The one module that touches what websockets does not document: every attribute
and behaviour it relies on below is pinned by
``tests/transport/native/test_websockets_internals.py``, so a websockets release
that changes one fails there, by name (pyproject.toml bounds websockets to the
majors tested). Everything else of the native engine uses websockets' documented
API only (the protocol's public methods, frames, the extension API).

Touched here: ``Protocol.recv_frame`` (overridden: the per-frame hook for message
assembly and fail-fast UTF-8), ``fail`` being called inside the parser's
``except`` block (``sys.exception()`` gives the cause), ``parser`` and ``reader``
(replaced and drained for a held failure; ``reader.buffer``'s length counted,
and a large frame's payload, gathered outside, handed to it as its buffer),
``events`` and ``writes`` (a frame's event replaced by its message; the pong taken
aside), the parser's loop keeping the last frame it parsed (its payload emptied),
``current_size`` and ``max_message_size`` (the size limit and its wording), ``parser_exc`` and
``eof_sent``, and ``websockets.speedups.apply_mask`` (re-exported for the frame
scanner).

:class:`WireProtocol` assembles messages inside the parser, words the size limit
as the runtime does, accepts a close frame between fragments, and holds a failure
until the replies to earlier messages are written (see the class).
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any, Final

from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Close, Frame
from websockets.server import ServerProtocol

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

from ...connection.events import Message
from .assembler import AssemblyError, MessageAssembler
from .deflate import InflateLimit, compressed_bound
from .rfc6455 import BINARY, CLOSE, OPEN, PING

__all__ = ["PENDING_PONGS", "WireProtocol", "apply_mask"]

#: Pongs waiting for the writer at most (each at most 131 bytes).
PENDING_PONGS: Final = 16


class WireProtocol(ServerProtocol):
    """websockets' server protocol, with four changes.

    Args:
        max_fragments: Frames one message may span (1009 beyond).
        *args, **kwargs: As for :class:`~websockets.server.ServerProtocol`.

    - Data frames are assembled into :class:`~wsactors.connection.events.Message` events as
      they are parsed (:class:`~wsactors.transport.native.assembler.MessageAssembler`), so
      a message that fails (invalid UTF-8, too many fragments) stops the parser at
      that frame, like a framing error: nothing after it is processed (no pong for
      a later ping).

    - websockets fails an oversized message from inside its parser (before the
      payload is read); the reason is reworded as the runtime words its own limit
      ("message too big: N bytes > M"), so clients see one text on both engines.
    - A ping's pong is kept aside, not queued with the other output, and at most
      :data:`PENDING_PONGS` of them wait: past that, the older ones are dropped and
      only the most recent ping is answered (RFC 6455 section 5.5.3 allows it), so
      a peer that floods pings while not reading queues a fixed amount of pongs,
      not one per ping (:meth:`take_pongs`). Below it every ping is answered
      (Autobahn's strict cases 2.10 and 2.11).
    - A close frame in the middle of a fragmented message is a normal close, not a
      protocol error: RFC 6455 section 5.4 lets control frames interleave with
      fragments (Autobahn case 7.1.5); the unfinished message is dropped.
    - A failure the parser finds (1002, 1007, 1009, 1011) is *held*: nothing more
      is parsed (RFC 6455 section 7.1.7), but the close frame waits for
      :meth:`release`, so replies to the messages before the bad frame still go
      out ahead of it (Autobahn's strict behaviour for cases 3.x, 4.x and 5.15).
      :meth:`fail_now` fails at once (keepalive).
    """

    #: The held failure's close, until :meth:`release`.
    held: Close | None = None
    #: The pongs of the pings since the last write, oldest first (see :meth:`take_pongs`).
    pongs: list[bytes] | None = None
    #: The parser stopped on an error (held, or failed at once).
    failed = False
    #: Reading queued output (a pong, a close echo, a failure's close): the writer
    #: is due. Cleared by the reader of the flag.
    attention = False

    def __init__(self, *args: Any, max_fragments: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.assembler = MessageAssembler(max_fragments)
        #: The message size limit, as the client is told it (1009 beyond).
        self.limit: int | None = self.max_message_size

    def limit_messages(self, limit: int) -> None:
        """Limit messages to ``limit`` bytes, once the handshake is accepted.

        With permessage-deflate, the limit counts the inflated bytes
        (:class:`~wsactors.transport.native.deflate.InflateLimit`), and websockets'
        own check before a frame is read only bounds its compressed length.
        """
        self.limit = limit
        self.max_message_size = limit
        for extension in self.extensions:
            if isinstance(extension, InflateLimit):
                extension.limit = limit
                self.max_message_size = compressed_bound(limit)

    def recv_frame(self, frame: Frame) -> None:
        """See :meth:`websockets.protocol.Protocol.recv_frame`."""
        opcode = frame.opcode
        if opcode is PING:
            super().recv_frame(frame)
            # websockets queued the pong last: keep it aside.
            pong = self.writes.pop()
            pongs = self.pongs
            if pongs is None or len(pongs) >= PENDING_PONGS:
                self.pongs = [pong]  # the writer is behind: answer the latest only
            else:
                pongs.append(pong)
            self.attention = True
            return
        if opcode is CLOSE:
            self.current_size = None
            # The unfinished message is dropped now, not when the connection's
            # objects are collected (cycles can keep them to the next full GC).
            self.assembler.drop()
            self.attention = True  # the echo of the close
        super().recv_frame(frame)  # checks the frame, then appends it to the events
        if opcode <= BINARY:
            events = self.events
            try:
                message = self.assembler.feed(frame)
            except AssemblyError as exc:
                events.pop()
                # The parser fails the connection for a ProtocolError (without
                # logging it as its own bug); fail() takes the code from the cause.
                raise ProtocolError(exc.reason) from exc
            if message is None:
                events.pop()  # a fragment: the message is not complete yet
            else:
                events[-1] = Message(message)  # type: ignore[call-overload]
            # The parser keeps the last frame it parsed (a local of its loop) until
            # the next one arrives, and after a failure in a cycle through its
            # exception's traceback: without its payload, which is the message's
            # (or the assembler's) alone.
            frame.data = b""

    @property
    def eof_queued(self) -> bool:
        """Whether the end of the stream was queued (after a close, or a refusal)."""
        return self.eof_sent

    def has_output(self) -> bool:
        """Whether :meth:`data_to_send` or :meth:`take_pong` has something."""
        return bool(self.writes) or self.pongs is not None

    def take_pongs(self) -> list[bytes] | None:
        """The pending pongs (the frames' bytes), handed out once."""
        pongs, self.pongs = self.pongs, None
        return pongs

    def fail(self, code: int, reason: str = "") -> None:
        """See :meth:`websockets.protocol.Protocol.fail`."""
        self.failed = True
        self.attention = True
        cause = getattr(sys.exception(), "__cause__", None)
        if isinstance(cause, AssemblyError):
            code, reason = cause.code, cause.reason
        elif code == 1009:
            # Called from the parser's `except PayloadTooBig` block.
            exc = sys.exception()
            if isinstance(exc, PayloadTooBig) and exc.size is not None:
                limit = self.limit or exc.max_size
                before = self.current_size or 0
                reason = f"message too big: {before + exc.size} bytes > {limit}"
        if self.state is OPEN and code != 1006:  # 1006: the stream ended mid-frame
            self.hold(code, reason)
            return
        self.assembler.drop()  # the unfinished message is dropped now (see recv_frame)
        super().fail(code, reason)

    def buffered(self) -> int:
        """Bytes held for the message in progress: its earlier fragments, and the
        part of a frame that has not fully arrived."""
        return len(self.reader.buffer) + self.assembler.size

    def expects_payload(self) -> bool:
        """Whether the parser, fed up to the end of a frame's header, took the
        header and waits for the payload (nothing failed, no close received)."""
        if self.state is not OPEN or self.failed or self.held is not None:
            return False
        return not self.reader.buffer

    def receive_payload(self, payload: bytearray) -> None:
        """Feed the whole payload of the frame whose header was fed last
        (:meth:`expects_payload` was true).

        The reader takes ``payload`` as its buffer, not a copy of it: the parser
        slices the payload out of it once, and the buffer is emptied.
        """
        reader = self.reader
        assert not reader.buffer
        reader.buffer = payload
        self.receive_data(b"")  # runs the parser on what its buffer holds

    def hold(self, code: int, reason: str) -> None:
        """Fail the connection with ``code`` once :meth:`release` is called; until
        then, discard what arrives and keep the wire open for replies."""
        self.held = Close(code, reason)
        # The unfinished message is dropped now: its memory returns at once.
        self.reader.discard()
        self.assembler.drop()
        self.parser = self._discard_held()
        next(self.parser)

    def _discard_held(self) -> Generator[None]:
        # websockets' discard() expects the end of the stream sent already.
        while not (yield from self.reader.at_eof()):
            self.reader.discard()
        yield

    def release(self) -> None:
        """Send the held failure's close frame (then the end of the stream)."""
        held, self.held = self.held, None
        if held is not None:
            super().fail(held.code, held.reason)

    def fail_now(self, code: int, reason: str) -> None:
        """Fail the connection at once, a held failure or not."""
        self.held = None
        self.assembler.drop()
        super().fail(code, reason)
