"""The push phase's client: a raw socket that counts the server's frames.

A full client library spends several microseconds per received message (the
``websockets`` asyncio client: about 5 µs here), more than the native engine spends
sending one, so with it the push phase measured the client: the server idled
between reads, wrote smaller batches and its CPU per message moved by a third from
run to run. This reader does the least RFC 6455 allows a client for this test: one
handshake, then it only finds frame boundaries in what it reads (server frames are
not masked, section 5.1) and counts complete data messages; at the end it answers
the server's close. The server is then the bottleneck, as in the echo phases.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from urllib.parse import urlsplit

from .rawclient import server_frames

__all__ = ["FrameCounter", "receive_pushed"]

_FIN = 0x80
_CLOSE = 0x8
#: A client's close frame, 1000, masked with a zero key (section 5.3: any key will do).
_CLOSE_FRAME = bytes([_FIN | _CLOSE, 0x80 | 2, 0, 0, 0, 0]) + struct.pack("!H", 1000)


class FrameCounter:
    """Counts the data messages in a stream of unmasked server frames (sans-I/O).

    Args:
        size: The payload size every unfragmented data frame must have.
    """

    __slots__ = ("_buffer", "closed", "messages", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.messages = 0
        #: The server's close frame arrived.
        self.closed = False
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        """Count the messages completed by ``data``.

        Raises:
            ValueError: a data frame of the wrong size, or a masked frame.
        """
        if self.closed:
            return  # nothing comes after a close frame (RFC 6455 5.5.1)
        buffer = self._buffer
        buffer += data
        read = 0
        messages = 0
        for first, start, end in server_frames(buffer):
            read = end
            opcode = first & 0x0F
            if opcode == _CLOSE:
                self.closed = True
                break
            if opcode < _CLOSE and first & _FIN:
                # A data frame that ends a message (opcode 0: the last fragment).
                if opcode and end - start != self.size:
                    raise ValueError(f"message {self.messages + messages + 1}: {end - start} bytes")
                messages += 1
        del buffer[:read]
        self.messages += messages


async def receive_pushed(url: str, count: int, size: int) -> None:
    """Ask ``url``'s ``/push`` for ``count`` messages of ``size`` bytes and read them.

    Returns once the server's close frame was read and answered.

    Raises:
        RuntimeError: the handshake failed, or the connection ended early.
        ValueError: a message of the wrong size.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /push?n={count}&size={size} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"push: handshake refused: {head[:40]!r}")
        counter = FrameCounter(size)
        while not counter.closed:
            data = await reader.read(262144)
            if not data:
                raise RuntimeError(f"push: connection ended after {counter.messages} messages")
            counter.feed(data)
        if counter.messages != count:
            raise RuntimeError(f"push: {counter.messages} messages, expected {count}")
        writer.write(_CLOSE_FRAME)
        await writer.drain()
        await reader.read()  # the server closes the TCP connection
    finally:
        writer.close()
