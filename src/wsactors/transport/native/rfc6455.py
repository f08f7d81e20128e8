"""RFC 6455's frame opcodes and connection states, as ``websockets`` names them.

The opcodes of section 5.2 (:class:`~websockets.frames.Opcode`) and the states of
a connection (:class:`~websockets.protocol.State`: CONNECTING until the 101 went
out, OPEN, CLOSING once a close frame was sent or received, CLOSED), bound once
here for every module of the native transport, which test them with ``is``.
(:mod:`~wsactors.transport.native.framescan` reads opcodes from raw header bytes,
so it keeps their integer values.) And :func:`text_frame`, the server's
unmasked text frame, built once for every connection that sends the same message
(:func:`binary_frame` likewise, for a direct write of one connection's message).
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
    "binary_frame",
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


def _frame(first: int, data: bytes) -> bytes:
    length = len(data)
    if length < 126:
        header = _SHORT.pack(first, length)  # 7-bit length
    elif length < 65536:
        header = _MEDIUM.pack(first, 126, length)  # 16-bit extended length
    else:
        header = _LONG.pack(first, 127, length)  # 64-bit extended length
    return header + data


def text_frame(data: bytes) -> bytes:
    """One final, unmasked, uncompressed text frame of ``data`` (RFC 6455 section 5.2).

    A server never masks its frames (section 5.1), so these bytes are the same on
    every connection without an extension: what ``websockets`` would write for
    ``send_text(data)``.
    """
    return _frame(0x81, data)  # FIN, opcode 1 (text)


def binary_frame(data: bytes) -> bytes:
    """One final, unmasked, uncompressed binary frame of ``data`` (as :func:`text_frame`)."""
    return _frame(0x82, data)  # FIN, opcode 2 (binary)
