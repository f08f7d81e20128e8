"""Sans-I/O: the payload of a text frame that has not fully arrived, as it arrives.

websockets' parser hands over whole frames only, so invalid UTF-8 in a large text
frame would be found only once its last byte arrived (Autobahn cases 6.4.3 and
6.4.4: the bad byte comes in the second of three chops of one frame). RFC 6455
section 8.1 asks an endpoint to fail the connection *as soon as* it sees invalid
UTF-8, so this scanner follows the frame boundaries of the same bytes the parser is
fed and, when a read ends inside the payload of an uncompressed text frame (or a
continuation of a text message), returns the unmasked part that arrived, for
:meth:`~wsactors.transport.native.assembler.MessageAssembler.check_ahead`.

It also says where a frame that a read leaves unfinished begins (:attr:`FrameScanner.tail`):
the connection core gathers a large frame's payload itself and hands it to the
parser whole (see :class:`~wsactors.transport.native.core.ConnectionCore`).

It only finds boundaries; the parser still checks every frame (opcodes, reserved
bits, sizes, masking). A read that holds whole frames costs a header lookup per
frame here, and nothing is copied.
"""

from __future__ import annotations

from typing import Final

from .wireprotocol import apply_mask

__all__ = ["FrameScanner"]

_TEXT: Final = 0x1
_CONT: Final = 0x0
_BINARY: Final = 0x2
_FIN: Final = 0x80
_RSV1: Final = 0x40


class FrameScanner:
    """Frame boundaries of a client's byte stream (masked frames, section 5.3)."""

    __slots__ = (
        "_checked",
        "_cont",
        "_head",
        "_mask",
        "_remaining",
        "_scan",
        "_text_message",
        "tail",
    )

    def __init__(self) -> None:
        # Payload bytes of the current frame still to come (0: at a frame boundary).
        self._remaining = 0
        # The start of a header split between reads.
        self._head = b""
        # The current partial frame is text to check: its masking key and how many of
        # its payload bytes were checked so far (None: not checked).
        self._mask = b""
        self._checked: int | None = None
        self._cont = False  # that frame is a CONT frame
        # A fragmented text message is open (continuation frames carry text).
        self._text_message = False
        self._scan = True
        #: After :meth:`feed`: when the read ended inside the payload of a frame
        #: that began in it, the offset of that payload in the read and its length.
        self.tail: tuple[int, int] | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> tuple[bytes, bool, bool] | None:
        """Follow ``data``; the unmasked text of a frame it ends inside, if any.

        Returns:
            ``(text, first, continuation)`` when ``data`` ends inside the payload of
            a text frame: the payload bytes of that frame that ``data`` holds,
            whether they are the frame's first ones, and whether the frame is a
            CONT frame of a text message. Otherwise ``None``.
        """
        self.tail = None
        end = len(data)
        pos = self._remaining
        if pos:
            if pos > end:  # still inside the same payload
                self._remaining = pos - end
                return self._ahead(data, 0, end)
            # The frame ends in this read: the parser hands it over whole.
            self._remaining = 0
            self._checked = None
        shift = 0  # where data[0] was in the read (a header split between reads)
        if self._head:
            shift = pos - len(self._head)
            data = self._head + bytes(data[pos:])
            self._head = b""
            end = len(data)
            pos = 0
        while pos < end:
            if end - pos < 2:
                self._head = bytes(data[pos:])
                return None
            first = data[pos]
            length = data[pos + 1] & 0x7F
            header = 6  # 2 bytes, then the 4-byte masking key
            if length == 126:
                header = 8
                if end - pos >= header:
                    length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            elif length == 127:
                header = 14
                if end - pos >= header:
                    length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            if end - pos < header:
                self._head = bytes(data[pos:])
                return None
            # Which message the frame belongs to (section 5.4: control frames may
            # come between the fragments of a message and belong to none).
            opcode = first & 0x0F
            if opcode == _TEXT:
                text = True
                self._text_message = not first & _FIN
            elif opcode == _CONT:
                text = self._text_message
                if first & _FIN:
                    self._text_message = False
            else:
                text = False
                if opcode == _BINARY:
                    self._text_message = False
            start = pos + header
            stop = start + length
            if stop <= end:
                pos = stop
                continue
            # The read ends inside this frame's payload.
            self._remaining = stop - end
            self.tail = (start + shift, length)
            if not text or first & _RSV1 or not self._scan:
                return None  # not text, or compressed: checked once inflated
            self._mask = bytes(data[start - 4 : start])
            self._checked = 0
            self._cont = opcode == _CONT
            return self._ahead(data, start, end)
        return None

    def _ahead(
        self, data: bytes | bytearray | memoryview, start: int, end: int
    ) -> tuple[bytes, bool, bool] | None:
        checked = self._checked
        if checked is None or start == end:
            return None
        mask = self._mask
        shift = checked % 4
        if shift:
            mask = mask[shift:] + mask[:shift]
        self._checked = checked + end - start
        return apply_mask(data[start:end], mask), checked == 0, self._cont

    def stop(self) -> None:
        """Check no more text (the connection failed, or compression was
        negotiated); frame boundaries are still followed."""
        self._scan = False
        self._checked = None
