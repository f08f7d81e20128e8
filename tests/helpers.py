"""Helpers shared by the test folders (``tests/e2e``, ``tests/examples``, ``tests/unit``, ...).

Mostly the client's side: reading until the close, asking and parsing JSON, refused
handshakes, plain HTTP; and the echo listener that many Apps under test need.

Imported as ``helpers``: ``tests/conftest.py`` explains how ``tests/`` gets on
``sys.path``. None of these sets a deadline: every caller wraps them in its own
``trio.fail_after``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import trio
from trio_websocket import CloseReason, ConnectionClosed, ConnectionRejected, WebSocketConnection
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Message, Request

from wsactors import websocket_listener
from wsactors.testing import LiveServer

if TYPE_CHECKING:
    from wsactors.handlers.listener import ListenerRouteHandler
    from wsactors.testing import TestClient
    from wsactors.types import ASGIApp

E = TypeVar("E", bound=BaseException)


def echo_listener(path: str, **options: Any) -> ListenerRouteHandler:
    """``@websocket_listener(path, **options)`` on a function that returns its ``data: str``."""

    @websocket_listener(path, **options)
    async def echo(data: str) -> str:
        return data

    return echo


# ---------------------------------------------------------------- reading and asking
async def read_until_close(ws: WebSocketConnection) -> tuple[list[str | bytes], CloseReason]:
    """Every message the server sends, then the close it sent."""
    messages: list[str | bytes] = []
    while True:
        try:
            messages.append(await ws.get_message())
        except ConnectionClosed as closed:
            reason = closed.reason
            assert reason is not None
            return messages, reason


async def close_of(ws: WebSocketConnection) -> CloseReason:
    """The close the server sends next; a message before it fails the test."""
    with pytest.raises(ConnectionClosed) as closed:
        await ws.get_message()
    assert closed.value.reason is not None
    return closed.value.reason


async def close_after(app: ASGIApp, *messages: str | bytes, path: str = "/") -> CloseReason:
    """Serve ``app`` on a LiveServer, connect to ``path`` and send ``messages``; then the
    close the server sends next (a message before it fails the test)."""
    async with LiveServer(app) as server, server.connect(path) as ws:
        for message in messages:
            await ws.send_message(message)
        return await close_of(ws)


async def ask(ws: WebSocketConnection, message: str | bytes) -> str | bytes:
    """Send one message and return the next one received."""
    await ws.send_message(message)
    return await ws.get_message()


def response_headers(ws: WebSocketConnection) -> dict[bytes, bytes]:
    """The headers of the server's handshake response, by lower-case name."""
    return {name.lower(): value for name, value in ws.handshake_headers}


async def receive_json(ws: WebSocketConnection) -> Any:
    """The next message received, parsed as JSON."""
    return json.loads(await ws.get_message())


async def ask_json(ws: WebSocketConnection, message: str | bytes) -> Any:
    """Send one message and return the next one received, parsed as JSON."""
    await ws.send_message(message)
    return await receive_json(ws)


# ---------------------------------------------------------------- refused handshakes
async def rejection(server: LiveServer, path: str, **connect_options: Any) -> ConnectionRejected:
    """The server's HTTP refusal of a handshake to ``path``; an accept fails the test."""
    with pytest.raises(ConnectionRejected) as rejected:
        async with server.connect(path, **connect_options):
            pytest.fail("the handshake should have been rejected")
    return rejected.value


async def refusal(
    client: TestClient,
    expected: type[E],
    path: str = "/",
    *,
    match: str | None = None,
    **options: Any,
) -> E:
    """What ``client.websocket_connect(path, **options)`` raises: an ``expected``
    matching ``match``; a connection that opens fails the test."""
    with pytest.raises(expected, match=match) as refused:
        async with client.websocket_connect(path, **options):
            pytest.fail("the connection must not open")
    return refused.value


# ---------------------------------------------------------------- waiting and plain HTTP
async def wait_until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` is true; the caller's deadline bounds the wait.

    For effects that happen on the server after the client left (a hook's log line,
    a yield dependency's cleanup, the App's state), which offer no event to wait on.
    """
    while not condition():  # noqa: ASYNC110 - polling state that has no event
        await trio.sleep(0.01)


async def http_request(server: LiveServer, method: str, path: str) -> bytes:
    """A plain HTTP/1.1 request with ``Connection: close``: the whole raw response."""
    stream = await trio.open_tcp_stream(server.host, server.port)
    async with stream:
        request = f"{method} {path} HTTP/1.1\r\nHost: {server.host}\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode())
        response = b""
        while chunk := await stream.receive_some():
            response += chunk
    return response


async def http_get(server: LiveServer, path: str) -> tuple[bytes, bytes]:
    """A plain HTTP/1.1 GET: the status line and the body."""
    head, _, body = (await http_request(server, "GET", path)).partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


def live_tasks() -> int:
    """Tasks in this Trio run: the test's and a LiveServer's (it runs in the same run)."""
    count = 0
    root = trio.lowlevel.current_root_task()
    assert root is not None  # None only outside a Trio run
    pending = [root]
    while pending:
        task = pending.pop()
        count += 1
        for nursery in task.child_nurseries:
            pending.extend(nursery.child_tasks)
    return count


async def open_non_reader(server: LiveServer, path: str) -> trio.SocketStream:
    """A TCP stream on which a WebSocket handshake succeeded and that is never read."""
    conn = WSConnection(ConnectionType.CLIENT)
    stream = await trio.open_tcp_stream(server.host, server.port)
    await stream.send_all(conn.send(Request(host=f"{server.host}:{server.port}", target=path)))
    while True:
        chunk = await stream.receive_some(4096)
        assert chunk, "the server closed during the handshake"
        conn.receive_data(chunk)
        for event in conn.events():
            assert isinstance(event, AcceptConnection), event
            return stream


async def port_from_log(log_path: Path, process: trio.Process) -> int:
    """The port from a subprocess's "serving on http://127.0.0.1:PORT" log line."""
    while True:
        text = await trio.Path(log_path).read_text()
        found = re.search(r"serving on http://127\.0\.0\.1:(\d+)", text)
        if found:
            return int(found.group(1))
        assert process.poll() is None, text
        await trio.sleep(0.05)


# ---------------------------------------------------------------- a client that stops reading
class StallingClient:
    """A wsproto client over raw TCP that reads only when told to.

    After the handshake it never reads by itself, so the server's writes fill the TCP
    buffers and then block: a consumer that stopped reading.
    """

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = WSConnection(ConnectionType.CLIENT)

    @classmethod
    async def open(cls, server: LiveServer, path: str) -> StallingClient:
        client = cls(await trio.open_tcp_stream(server.host, server.port))
        await client.stream.send_all(
            client.conn.send(Request(host=f"{server.host}:{server.port}", target=path))
        )
        while True:
            chunk = await client.stream.receive_some(4096)
            assert chunk, "the server closed during the handshake"
            client.conn.receive_data(chunk)
            for event in client.conn.events():
                assert isinstance(event, AcceptConnection), event
                return client

    async def read_until_close(self) -> tuple[int, CloseConnection | None]:
        """Read everything; the number of messages and the close frame (None at EOF)."""
        messages = 0
        while True:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                return messages, None
            self.conn.receive_data(chunk)
            for event in self.conn.events():
                if isinstance(event, Message) and event.message_finished:
                    messages += 1
                elif isinstance(event, CloseConnection):
                    return messages, event

    async def abort(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        await self.stream.aclose()
