"""Sans-I/O message reassembly and UTF-8 validation on top of ``websockets`` frames.

The ``websockets`` library's sans-I/O :class:`~websockets.protocol.Protocol` parses
and checks frames (opcodes, masking, control frame rules, the running size of a
fragmented message against its ``max_size`` before a payload is read) but leaves
messages to the layer above. This is that layer:

- a message's fragments are kept as they came, and joined once, when the last one
  arrives: a large fragment is kept as the ``bytes`` the parser made (never copied
  while the message is unfinished), small ones are gathered in one ``bytearray``
  of up to :data:`GATHER` bytes (so many tiny fragments cost no object each). No
  buffer grows by reallocation while the message is open, which on a server
  holding many unfinished messages fragments the heap (RSS about twice the bytes
  held, not returned after they are freed);
- text is validated *incrementally*: a bad byte in the first fragment fails the
  connection with 1007 at once, not when the last fragment arrives;
- a text frame that arrives over several reads is validated as it arrives
  (:meth:`MessageAssembler.check_ahead`, fed by
  :class:`~wsactors.transport.native.framescan.FrameScanner`): a bad byte fails the
  connection before the rest of the frame is read;
- the number of fragments per message is limited (``max_fragments``), so a peer
  cannot keep a message open forever with empty continuation frames.

Errors are reported as :class:`AssemblyError` with the close code to fail with.
"""

from __future__ import annotations

import codecs
from typing import Final

from websockets.frames import Frame

from .rfc6455 import BINARY, CONT, TEXT

__all__ = ["GATHER", "AssemblyError", "MessageAssembler"]

#: Fragments under this size are gathered in one ``bytearray`` chunk of at most
#: about this size; larger ones are kept whole, as their own chunk.
GATHER: Final = 65536

_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


class AssemblyError(Exception):
    """The message cannot be accepted; fail the connection with ``code``.

    Args:
        code: The close code (1007 invalid UTF-8, 1009 too many fragments).
        reason: The close reason.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class MessageAssembler:
    """Turns data frames into whole messages.

    Args:
        max_fragments: Frames one message may span (the first one included).
    """

    __slots__ = (
        "_ahead",
        "_ahead_at",
        "_decoder",
        "_fragments",
        "_text",
        "buffer",
        "max_fragments",
        "size",
    )

    def __init__(self, max_fragments: int) -> None:
        self.max_fragments = max_fragments
        #: The earlier fragments of the message in progress, in chunks (``None``:
        #: none): each a fragment's ``bytes``, or small fragments gathered.
        self.buffer: list[bytes | bytearray] | None = None
        #: Bytes in :attr:`buffer`.
        self.size = 0
        self._decoder: codecs.IncrementalDecoder | None = None
        self._fragments = 0
        self._text = False
        # The frame arriving over several reads: its decoder, and the offset in the
        # message of the next byte it checks.
        self._ahead: codecs.IncrementalDecoder | None = None
        self._ahead_at = 0

    def feed(self, frame: Frame) -> str | bytes | None:
        """Take one data frame (TEXT, BINARY or CONT, as the protocol ordered them).

        Returns:
            The message the frame completes, or ``None`` while it is incomplete.

        Raises:
            AssemblyError: invalid UTF-8 (1007) or too many fragments (1009).
        """
        opcode = frame.opcode
        data = frame.data
        self._ahead = None  # the frame is whole: checked below
        if frame.fin and opcode is not CONT:
            # The common case: a whole message in one frame.
            if opcode is TEXT:
                try:
                    return bytes(data).decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise AssemblyError(1007, f"invalid UTF-8 at byte {exc.start}") from None
            return bytes(data)
        if opcode is not CONT:
            # The first fragment (the protocol checked no message was open).
            self._text = opcode is TEXT
            self.buffer = []
            self.size = 0
            self._decoder = _Utf8Decoder() if self._text else None
            self._fragments = 0
        buffer = self.buffer
        assert buffer is not None  # the protocol rejects a CONT outside a message
        self._fragments += 1
        if self._fragments > self.max_fragments:
            self._reset()
            raise AssemblyError(1009, f"more than {self.max_fragments} fragments in a message")
        decoder = self._decoder
        if decoder is not None:
            try:
                # Validates as it goes; the decoded text is rebuilt once at the end.
                decoder.decode(data, frame.fin)
            except UnicodeDecodeError as exc:
                offset = self.size + exc.start
                self._reset()
                raise AssemblyError(1007, f"invalid UTF-8 at byte {offset}") from None
        size = len(data)
        if size:
            last = buffer[-1] if buffer else None
            if size >= GATHER:
                buffer.append(data if type(data) is bytes else bytes(data))
            elif type(last) is bytearray and len(last) + size <= GATHER:
                last += data
            else:
                buffer.append(bytearray(data))
            self.size += size
        if not frame.fin:
            return None
        text = self._text
        self._reset()
        # One copy, of the exact size, once the message is whole.
        whole = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        return whole.decode("utf-8") if text else bytes(whole)

    def check_ahead(self, text: bytes, first: bool, continuation: bool) -> None:
        """Validate the part of a text frame that arrived before the rest of it.

        Args:
            text: The next unmasked payload bytes of the frame.
            first: They are the frame's first bytes.
            continuation: The frame is a CONT frame of the open text message (its
                bytes continue the message's UTF-8).

        Raises:
            AssemblyError: invalid UTF-8 (1007), with its offset in the message.
        """
        if first:
            decoder = _Utf8Decoder()
            at = 0
            if continuation:
                if self._decoder is None or self.buffer is None:
                    return  # not a text message after all: the protocol will say
                decoder.setstate(self._decoder.getstate())
                at = self.size
            self._ahead = decoder
            self._ahead_at = at
        ahead = self._ahead
        if ahead is None:
            return
        # exc.start counts the bytes the decoder held back (a partial character at
        # the end of the last chunk) as well.
        held = len(ahead.getstate()[0])
        try:
            ahead.decode(text, False)
        except UnicodeDecodeError as exc:
            offset = self._ahead_at - held + exc.start
            # The message is kept: the caller fails the connection, or (before the
            # handshake is answered) lets the whole frame be judged when it is in.
            self._ahead = None
            raise AssemblyError(1007, f"invalid UTF-8 at byte {offset}") from None
        self._ahead_at += len(text)

    def _reset(self) -> None:
        self.buffer = None
        self.size = 0
        self._decoder = None
        self._fragments = 0

    def drop(self) -> None:
        """Drop the message in progress (the connection failed)."""
        self._reset()
        self._ahead = None

    @property
    def in_progress(self) -> bool:
        """Whether a fragmented message is open."""
        return self.buffer is not None

    @staticmethod
    def is_data(frame: Frame) -> bool:
        """Whether ``frame`` carries message data (TEXT, BINARY or CONT)."""
        return frame.opcode <= BINARY
