"""A WebSocket client spoken by hand: the handshake request, client frames, raw clients.

The reliability probes must be able to stop reading, flood control frames and
leave messages unfinished, and the crowds of idle connections (the fairness
probe's, ``memory_native``'s) must cost their process nothing but the sockets: no
client library allows the first or is that cheap, so they use these.

- :func:`open_idle`: many connections over blocking sockets, handshake done,
  nothing read after it;
- :func:`ws_connect` and :class:`WsClient`: one Trio connection whose server
  frames are read one by one;
- :func:`read_answer`: a blocking socket's handshake answer, checked;
- :func:`server_frames`: the complete server frames in a buffer (sans-I/O), for
  the readers that count frames by the thousand (:mod:`benchmarks.pushreader`,
  :mod:`benchmarks.fanoutframes`).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import trio

__all__ = [
    "BINARY",
    "CLOSE",
    "HOST",
    "PING",
    "PONG",
    "TEXT",
    "WsClient",
    "frame",
    "open_idle",
    "read_answer",
    "server_frames",
    "upgrade_request",
    "ws_connect",
]

HOST = "127.0.0.1"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA

# The key of RFC 6455 section 1.3's example: the server checks its form, not its
# randomness.
_KEY_REQUEST = (
    "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def upgrade_request(path: str, host: str = HOST) -> bytes:
    """A WebSocket handshake request for ``path`` (``host``: the Host header)."""
    return _KEY_REQUEST.format(path=path, host=host).encode()


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """A client frame, masked with a zero key (RFC 6455 5.3: any key will do)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return head + b"\0\0\0\0" + payload


def read_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read a blocking socket's handshake answer: ``(head, rest)``, ``rest`` being
    what came after the head (the server's first frames).

    Raises:
        EOFError: the server closed the connection during the handshake.
        ConnectionRefusedError: the answer is not ``101 Switching Protocols``.
    """
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("the server closed a connection during the handshake")
        answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    if b" 101 " not in head.partition(b"\r\n")[0]:
        raise ConnectionRefusedError(f"handshake refused: {head[:60]!r}")
    return head, rest


def server_frames(buffer: bytearray) -> Iterator[tuple[int, int, int]]:
    """The complete frames at the start of ``buffer``, in order: ``(first byte,
    payload start, payload end)``; the incomplete rest is left for more bytes.

    The caller drops what it read (``del buffer[:end]`` of the last frame it took)
    once it stops iterating, and must not change ``buffer`` before.

    Raises:
        ValueError: a masked frame (RFC 6455 5.1: a server never masks).
    """
    end = len(buffer)
    pos = 0
    while end - pos >= 2:
        length = buffer[pos + 1]
        if length & 0x80:
            raise ValueError("the server masked a frame (RFC 6455 5.1 forbids it)")
        header = 2
        if length == 126:  # RFC 6455 5.2: 126 announces a 16-bit length, 127 a 64-bit one
            header = 4
            if end - pos < header:
                return
            length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
        elif length == 127:
            header = 10
            if end - pos < header:
                return
            length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
        if end - pos < header + length:
            return
        start = pos + header
        pos = start + length
        yield buffer[start - header], start, pos


def open_idle(port: int, request: bytes, count: int, *, batch: int = 1) -> list[socket.socket]:
    """Open ``count`` WebSockets on 127.0.0.1 with ``request``; they then stay idle.

    Blocking sockets, ``batch`` handshakes in flight at a time (more open a crowd
    sooner; one at a time leaves the server no trace of a burst). Nothing is read
    after each answer's head (the server sends nothing to an idle connection).

    Raises:
        SystemExit: the server closed a connection or refused a handshake.
    """
    held: list[socket.socket] = []
    while len(held) < count:
        opening = [
            socket.create_connection((HOST, port)) for _ in range(min(batch, count - len(held)))
        ]
        for sock in opening:
            sock.sendall(request)
        for sock in opening:
            try:
                read_answer(sock)
            except (EOFError, ConnectionRefusedError) as exc:
                raise SystemExit(str(exc)) from None
        held += opening
    return held


async def ws_connect(port: int, path: str, *, rcvbuf: int | None = None) -> WsClient:
    """Open a WebSocket to 127.0.0.1; ``rcvbuf`` sets ``SO_RCVBUF`` first
    (a small one makes a client that does not read stall the server sooner).

    Raises:
        RuntimeError: the handshake was refused.
        EOFError: the server closed the connection during the handshake.
    """
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await sock.connect((HOST, port))
    stream = trio.SocketStream(sock)
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await stream.send_all(upgrade_request(path))
    client = WsClient(stream)
    head = await client.read_until(b"\r\n\r\n")
    if b" 101 " not in head.partition(b"\r\n")[0]:
        raise RuntimeError(f"handshake for {path} refused: {head[:60]!r}")
    return client


class WsClient:
    """The client end of one connection: raw writes, and server frames read by hand."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._buffer = bytearray()

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self._buffer += data

    async def read_until(self, end: bytes) -> bytes:
        """Read up to and including ``end``."""
        while (found := self._buffer.find(end)) == -1:
            await self._fill()
        head = bytes(self._buffer[: found + len(end)])
        del self._buffer[: found + len(end)]
        return head

    async def read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            await self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def read_frame(self) -> tuple[int, bytes]:
        """The next server frame (unmasked, RFC 6455 5.1): ``(opcode, payload)``."""
        first, second = await self.read_exact(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.read_exact(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.read_exact(8))
        return first & 0x0F, await self.read_exact(size)
