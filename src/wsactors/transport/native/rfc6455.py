"""RFC 6455's frame opcodes and connection states, as ``websockets`` names them.

The opcodes of section 5.2 (:class:`~websockets.frames.Opcode`) and the states of
a connection (:class:`~websockets.protocol.State`: CONNECTING until the 101 went
out, OPEN, CLOSING once a close frame was sent or received, CLOSED), bound once
here for every module of the native transport, which test them with ``is``.
(:mod:`~wsactors.transport.native.framescan` reads opcodes from raw header bytes,
so it keeps their integer values.) And :func:`text_frame`, the server's
unmasked text frame, built once for every connection that sends the same message.
"""

from __future__ import annotations

import struct
from typing import Final

from websockets.frames import Opcode
from websockets.protocol import State

__all__ = [
    "BINARY",
    "CLOSE",
    "CLOSED",
    "CLOSING",
    "CONNECTING",
    "CONT",
    "OPEN",
    "PING",
    "PONG",
    "TEXT",
    "text_frame",
]

CONT: Final = Opcode.CONT
TEXT: Final = Opcode.TEXT
BINARY: Final = Opcode.BINARY
CLOSE: Final = Opcode.CLOSE
PING: Final = Opcode.PING
PONG: Final = Opcode.PONG

CONNECTING: Final = State.CONNECTING
OPEN: Final = State.OPEN
CLOSING: Final = State.CLOSING
CLOSED: Final = State.CLOSED


_SHORT: Final = struct.Struct("!BB")
_MEDIUM: Final = struct.Struct("!BBH")
_LONG: Final = struct.Struct("!BBQ")


def text_frame(data: bytes) -> bytes:
    """One final, unmasked, uncompressed text frame of ``data`` (RFC 6455 section 5.2).

    A server never masks its frames (section 5.1), so these bytes are the same on
    every connection without an extension: what ``websockets`` would write for
    ``send_text(data)``.
    """
    length = len(data)
    if length < 126:
        header = _SHORT.pack(0x81, length)  # FIN, opcode 1 (text); 7-bit length
    elif length < 65536:
        header = _MEDIUM.pack(0x81, 126, length)  # 16-bit extended length
    else:
        header = _LONG.pack(0x81, 127, length)  # 64-bit extended length
    return header + data
