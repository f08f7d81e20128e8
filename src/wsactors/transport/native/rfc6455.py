"""RFC 6455's frame opcodes and connection states, as ``websockets`` names them.

The opcodes of section 5.2 (:class:`~websockets.frames.Opcode`) and the states of
a connection (:class:`~websockets.protocol.State`: CONNECTING until the 101 went
out, OPEN, CLOSING once a close frame was sent or received, CLOSED), bound once
here for every module of the native transport, which test them with ``is``.
(:mod:`~wsactors.transport.native.framescan` reads opcodes from raw header bytes,
so it keeps their integer values.)
"""

from __future__ import annotations

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
