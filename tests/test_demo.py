"""The bundled demo: its static page over HTTP and its ``/ws/echo`` handler."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from wsactors import App
from wsactors.demo.app import StaticFiles, create_app
from wsactors.testing import LiveServer, TestClient

Message = dict[str, Any]


@pytest.fixture
def demo_app() -> App:
    """A fresh demo App: an App drained by one server's shutdown refuses new handshakes."""
    return create_app()


async def http_request(
    host: str, port: int, path: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP/1.1 request; return the status, headers and body."""
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        request = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode("ascii"))
        received = bytearray()
        async for chunk in stream:  # until the server closes (Connection: close)
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


async def call_http(app: StaticFiles, path: str, method: str = "GET") -> list[Message]:
    """Call ``app`` with an ASGI http scope; return what it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": []}
    with trio.fail_after(5):
        await app(scope, receive, send)
    return sent


async def test_page_is_served_at_root(demo_app: App) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(10):
            status, headers, body = await http_request(server.host, server.port, "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert int(headers["content-length"]) == len(body)
    page = body.decode()
    # The echo UI: an input, a send button, a log list, the status line, the script.
    for marker in ('id="message"', 'id="send"', 'id="log"', 'id="status"', 'src="/app.js"'):
        assert marker in page


async def test_script_and_stylesheet_are_served_with_their_types(demo_app: App) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(10):
            js_status, js_headers, script = await http_request(server.host, server.port, "/app.js")
            css_status, css_headers, _ = await http_request(server.host, server.port, "/style.css")
    assert (js_status, css_status) == (200, 200)
    assert js_headers["content-type"] == "text/javascript; charset=utf-8"
    assert css_headers["content-type"] == "text/css; charset=utf-8"
    assert b'"/ws/echo"' in script


@pytest.mark.parametrize("path", ["/missing", "/app.js/extra", "/static/app.js"])
async def test_unknown_path_is_404(demo_app: App, path: str) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(10):
            status, headers, body = await http_request(server.host, server.port, path)
    assert status == 404
    assert headers["content-type"].startswith("text/plain")
    assert body == b"Not Found"


async def test_echo_over_real_sockets_keeps_frame_types(demo_app: App) -> None:
    async with LiveServer(demo_app) as server:
        with trio.fail_after(10):
            async with server.connect("/ws/echo") as ws:
                await ws.send_message("hello, wsactors")
                text = await ws.get_message()
                await ws.send_message(b"\x00\xffbinary")
                data = await ws.get_message()
                await ws.send_message("")
                empty = await ws.get_message()
    assert text == "hello, wsactors"
    assert isinstance(text, str)
    assert data == b"\x00\xffbinary"
    assert isinstance(data, bytes)
    assert empty == ""


async def test_echo_in_process_keeps_frame_types(demo_app: App) -> None:
    async with TestClient(demo_app) as client, client.websocket_connect("/ws/echo") as ws:
        await ws.send_text("hi")
        assert await ws.receive_text() == "hi"
        await ws.send_bytes(b"\x01\x02")
        assert await ws.receive_bytes() == b"\x01\x02"
        # The raw ASGI message shows the frame type: text frames carry "text" only.
        await ws.send_text("again")
        message = await ws.receive()
        assert message["type"] == "websocket.send"
        assert message.get("text") == "again"
        assert message.get("bytes") is None


async def test_echo_keeps_order(demo_app: App) -> None:
    async with TestClient(demo_app) as client, client.websocket_connect("/ws/echo") as ws:
        for i in range(20):
            await ws.send_text(str(i))
        assert [await ws.receive_text() for _ in range(20)] == [str(i) for i in range(20)]


async def test_head_has_headers_and_no_body() -> None:
    files = StaticFiles("wsactors.demo")
    get_start, get_body = await call_http(files, "/")
    head_start, head_body = await call_http(files, "/", method="HEAD")
    assert head_start == get_start
    assert head_body["body"] == b""
    assert get_body["body"].startswith(b"<!doctype html>")


async def test_other_methods_are_405() -> None:
    start, body = await call_http(StaticFiles("wsactors.demo"), "/", method="POST")
    assert start["status"] == 405
    assert (b"allow", b"GET, HEAD") in start["headers"]
    assert body["body"] == b"Method Not Allowed"


def test_every_packaged_file_has_a_known_type() -> None:
    files = StaticFiles("wsactors.demo").files
    assert {"/", "/index.html", "/app.js", "/style.css"} <= set(files)
    for path, (content_type, body) in files.items():
        assert content_type != "application/octet-stream", path
        assert body, path


def test_missing_index_fails_at_construction() -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.html"):
        StaticFiles("wsactors.demo", index="nope.html")
