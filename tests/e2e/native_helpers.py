"""What the native engine's end-to-end tests share: handlers, the server, a raw client.

``test_native_engine.py`` (the WebSocket guarantees) and ``test_native_serving.py``
(handshake, HTTP, TLS, processes) import these; the handlers record what they see
in :data:`events`, which each test module clears before every test.
``tests/testing/test_testclient_app.py`` serves the same ``echo`` through the TestClient.
"""

from __future__ import annotations

import struct
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request

from helpers import DEADLINE as DEADLINE  # re-exported: the native tests import it from here
from wsactors import App, WebSocket, WebSocketDisconnect, websocket
from wsactors.testing import LiveServer

#: What the handlers below saw, in order.
events: list[Any] = []


@websocket("/echo")
async def echo(socket: WebSocket) -> None:
    await socket.accept()
    try:
        while True:
            await socket.send_message(await socket.receive_message())
    except WebSocketDisconnect as exc:
        events.append(("disconnect", exc.code, exc.reason))
    finally:
        events.append(("close_code", socket.close_code, socket.close_reason))


@websocket("/hold")
async def hold(socket: WebSocket) -> None:
    await socket.accept()
    await socket.receive_message()


def native(app: App, **options: Any) -> LiveServer:
    """``LiveServer(app, engine="native", **options)``."""
    return LiveServer(app, engine="native", **options)


# ----------------------------------------------------------------- raw client helpers
class RawClient:
    """A WebSocket client on raw bytes: wsproto for the handshake and for reading
    the server's frames; frames to the server are written by hand when they must
    be invalid."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = WSConnection(ConnectionType.CLIENT)

    @classmethod
    async def open(cls, server: LiveServer, path: str) -> RawClient:
        stream = await trio.open_tcp_stream(server.host, server.port)
        client = cls(stream)
        host = f"{server.host}:{server.port}"
        await stream.send_all(client.conn.send(Request(host=host, target=path)))
        while True:
            chunk = await stream.receive_some(4096)
            assert chunk, "the server closed during the handshake"
            client.conn.receive_data(chunk)
            for event in client.conn.events():
                assert isinstance(event, AcceptConnection), event
                return client

    async def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        """Send a masked client frame, built by hand (so it may be invalid)."""
        await self.stream.send_all(self.frame(opcode, payload, fin=fin))

    @staticmethod
    def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
        """A masked client frame, built by hand (so it may be invalid)."""
        mask = b"\x01\x02\x03\x04"
        head = bytes([(0x80 if fin else 0) | opcode])
        size = len(payload)
        if size < 126:
            head += bytes([0x80 | size])
        elif size < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", size)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + masked

    async def read_events(self) -> list[Any]:
        """Every event the server sends until it closes the TCP connection."""
        seen: list[Any] = []
        while True:
            try:
                chunk = await self.stream.receive_some(65536)
            except trio.BrokenResourceError:
                chunk = b""  # reset by the server
            if not chunk:
                return seen
            self.conn.receive_data(chunk)
            seen.extend(self.conn.events())


def closes(seen: list[Any]) -> list[tuple[int, str | None]]:
    return [(e.code, e.reason) for e in seen if isinstance(e, CloseConnection)]
