"""The native engine's serving, end to end: the handshake (timeouts, sizes, 503s,
subprotocols, denials, Origin), plain HTTP, compression, TLS, ``wsactors.serve``
and several worker processes. Its WebSocket guarantees are in
``test_native_engine.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket as socket_module
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
import trio
from native_helpers import DEADLINE, RawClient, echo, events, hold, native
from trio_websocket import ConnectionClosed

import wsactors
from cli_helpers import ServerProcess, server_command
from helpers import http_get, rejection, wait_until
from wsactors import App, WebSocket, websocket
from wsactors.testing import LiveServer, open_client

# The native engine's own guarantees: each test builds its server with engine="native".
pytestmark = [pytest.mark.engine("native"), pytest.mark.usefixtures("live_engine")]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    events.clear()


# ----------------------------------------------------------------- handshake
async def test_a_client_that_sends_no_request_is_closed_after_open_timeout() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), open_timeout=0.3) as server:
            stream = await trio.open_tcp_stream(server.host, server.port)
            async with stream:
                started = trio.current_time()
                await stream.send_all(b"GET /echo HTTP/1.1\r\n")  # and never the rest
                assert await stream.receive_some(1024) == b""
                took = trio.current_time() - started
    assert 0.25 < took < 3.0, took


async def test_an_oversized_request_is_refused_431() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), max_request_size=4096) as server:
            stream = await trio.open_tcp_stream(server.host, server.port)
            async with stream:
                headers = "".join(f"X-H{i}: {'v' * 100}\r\n" for i in range(60))
                await stream.send_all(f"GET /echo HTTP/1.1\r\nHost: x\r\n{headers}".encode())
                answer = b""
                while chunk := await stream.receive_some(4096):
                    answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 ")


KIB = 1024


def sized_request(size: int, *, path: str = "/echo", line: int | None = None) -> bytes:
    """A valid WebSocket handshake request of exactly ``size`` bytes: headers of
    4 KiB lines (under websockets' own 8 KiB a line and 128 headers), or a request
    line of ``line`` bytes."""
    if line is not None:
        path += "?q=" + "a" * (line - len(f"GET {path}?q= HTTP/1.1\r\n"))
    head = (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    ).encode()
    lines: list[bytes] = []
    left = size - len(head) - 2
    while left > 0:
        # 4 KiB lines; the last two share what is left so neither is too short.
        take = 4 * KIB if left >= 5 * KIB else (left if left <= 4 * KIB else left // 2)
        name = f"X-Pad-{len(lines)}: ".encode()
        lines.append(name + b"a" * (take - len(name) - 2) + b"\r\n")
        left -= take
    request = head + b"".join(lines) + b"\r\n"
    assert len(request) == size, (len(request), size)
    return request


async def answer_to(server: LiveServer, request: bytes, chunk: int | None) -> tuple[bytes, bytes]:
    """Send ``request`` in one write or in writes of ``chunk`` bytes, reading at the
    same time; return the answer's status line and, after a 101, the echo of a
    text frame sent then."""
    stream = await trio.open_tcp_stream(server.host, server.port)
    stream.setsockopt(socket_module.IPPROTO_TCP, socket_module.TCP_NODELAY, 1)
    answer = bytearray()

    async def write() -> None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            step = chunk or len(request)
            for start in range(0, len(request), step):
                await stream.send_all(request[start : start + step])
                await trio.lowlevel.checkpoint()  # one segment per write

    async def read() -> None:
        with contextlib.suppress(trio.BrokenResourceError):
            while b"\r\n\r\n" not in answer and (data := await stream.receive_some(4096)):
                answer.extend(data)

    async with stream:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            nursery.start_soon(read)
        status = bytes(answer).partition(b"\r\n")[0]
        if b" 101 " not in status:
            return status, b""
        await stream.send_all(RawClient.frame(0x1, b"still here"))
        echoed = await stream.receive_some(4096)
    return status, echoed


@pytest.mark.parametrize("chunk", [None, 512], ids=["one-write", "512-byte-writes"])
@pytest.mark.parametrize("kib", [63, 64, 65, 70, 98, 126])
async def test_max_request_size_bounds_the_request_however_it_arrives(
    kib: int, chunk: int | None
) -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:  # max_request_size: 64 KiB
            status, echoed = await answer_to(server, sized_request(kib * KIB), chunk)
    if kib <= 64:
        assert status == b"HTTP/1.1 101 Switching Protocols"
        assert echoed == b"\x81\x0astill here"
    else:
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large"


@pytest.mark.parametrize("chunk", [None, 512], ids=["one-write", "512-byte-writes"])
async def test_a_request_line_over_max_request_size_is_refused_414(chunk: int | None) -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), max_request_size=4096) as server:
            status, _ = await answer_to(server, sized_request(6000, line=5000), chunk)
            # A request line within the limit, headers over it: 431.
            headers, _ = await answer_to(server, sized_request(6000, line=3000), chunk)
    assert status.startswith(b"HTTP/1.1 414 ")
    assert headers.startswith(b"HTTP/1.1 431 ")


async def test_handshakes_beyond_max_connections_get_503() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            native(App([hold]), max_connections=1) as server,
            server.connect("/hold"),
        ):
            refused = await rejection(server, "/hold")
    assert refused.status_code == 503


async def test_handshakes_during_the_drain_get_503() -> None:
    @websocket("/slow")
    async def slow(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await socket.receive_message()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(0.5)  # a slow on_disconnect: the drain waits for it

    app = App([slow], shutdown_timeout=2.0)
    with trio.fail_after(DEADLINE):
        async with native(app, graceful_timeout=2.0) as server, server.connect("/slow") as ws:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(app.drain)
                await trio.sleep(0.1)
                refused = await rejection(server, "/slow")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.get_message()
    assert refused.status_code == 503
    assert closed.value.reason is not None
    assert closed.value.reason.code == 1001


@websocket("/pick")
async def pick(socket: WebSocket) -> None:
    await socket.accept(subprotocols="two", headers={"X-Served-By": "native"})
    await socket.send_text(socket.scope["path"] + "?" + socket.scope["query_string"].decode())


@websocket("/teapot")
async def teapot(socket: WebSocket) -> None:
    await socket.deny(418, b"short and stout", headers={"X-Kind": "teapot"})


async def test_subprotocols_headers_and_denials() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([pick, teapot])) as server:
            async with server.connect("/pick?a=1", subprotocols=["one", "two"]) as ws:
                assert ws.subprotocol == "two"
                assert (b"x-served-by", b"native") in ws.handshake_headers
                assert await ws.get_message() == "/pick?a=1"
            denied = await rejection(server, "/teapot")
            missing = await rejection(server, "/nowhere")
    assert denied.status_code == 418
    assert denied.body == b"short and stout"
    assert (b"x-kind", b"teapot") in denied.headers
    assert missing.status_code == 404


async def test_origin_checks_and_guards_answer_before_accept() -> None:
    app = App([echo], allowed_origins=["https://good.example"])
    with trio.fail_after(DEADLINE):
        async with native(app) as server:
            bad = await rejection(server, "/echo", extra_headers=[(b"origin", b"https://evil")])
            async with server.connect(
                "/echo", extra_headers=[(b"origin", b"https://good.example")]
            ) as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == "hi"
    assert bad.status_code == 403


# ----------------------------------------------------------------- plain HTTP
async def page(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    await receive()
    body = f"page {scope['method']} {scope['path']}".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def test_plain_http_goes_to_the_http_app() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo], http_app=page)) as server:
            status, body = await http_get(server, "/index.html")
    assert status == b"HTTP/1.1 200 OK"
    assert body == b"page GET /index.html"


async def test_plain_http_head_and_other_methods() -> None:
    async def ask(server: LiveServer, request: bytes) -> bytes:
        stream = await trio.open_tcp_stream(server.host, server.port)
        async with stream:
            await stream.send_all(request)
            answer = b""
            while chunk := await stream.receive_some(4096):
                answer += chunk
        return answer

    with trio.fail_after(DEADLINE):
        async with native(App([echo], http_app=page)) as server:
            head = await ask(server, b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n")
            post = await ask(server, b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    status, _, rest = head.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK"
    assert b"connection: close" in rest.lower()
    assert rest.endswith(b"\r\n\r\n")  # no body for HEAD
    assert post.startswith(b"HTTP/1.1 405 ")
    assert b"Allow: GET, HEAD" in post


async def test_plain_http_without_an_http_app() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            route = await http_get(server, "/echo")
            other = await http_get(server, "/elsewhere")
    assert route[0] == b"HTTP/1.1 426 Upgrade Required"
    assert other[0] == b"HTTP/1.1 404 Not Found"


# ----------------------------------------------------------------- compression
def _deflate_round_trip(url: str) -> tuple[list[str], str]:
    # websockets' sync client offers permessage-deflate by default.
    from websockets.sync.client import connect

    with connect(url, open_timeout=5, close_timeout=5) as ws:
        ws.send("x" * 1000)
        echoed = ws.recv(timeout=5)
        assert isinstance(echoed, str)
        return [type(ext).__name__ for ext in ws.protocol.extensions], echoed


async def test_permessage_deflate_is_off_by_default_and_on_with_deflate() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            plain = await trio.to_thread.run_sync(_deflate_round_trip, server.url_for("/echo"))
        async with native(App([echo]), compression="deflate") as server:
            deflated = await trio.to_thread.run_sync(_deflate_round_trip, server.url_for("/echo"))
    assert plain == ([], "x" * 1000)
    assert deflated == (["PerMessageDeflate"], "x" * 1000)


def _deflate_sizes(url: str) -> tuple[bool, tuple[int | None, str]]:
    """1 MiB of random bytes (the limit), then a deflate bomb: echoed? the close?"""
    from websockets.exceptions import ConnectionClosed as Closed
    from websockets.sync.client import connect

    payload = os.urandom(2**20)
    with connect(url, open_timeout=5, close_timeout=5, max_size=None) as ws:
        ws.send(payload)
        echoed = ws.recv(timeout=5) == payload
        ws.send(bytes(64 * 2**20))  # 64 MiB of zeros: about 64 KiB compressed
        try:
            ws.recv(timeout=5)
        except Closed as closed:
            rcvd = closed.rcvd
        else:
            rcvd = None
    return echoed, (None, "") if rcvd is None else (rcvd.code, rcvd.reason)


async def test_deflate_limits_count_the_inflated_size_with_one_wording() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), compression="deflate") as server:
            echoed, (code, reason) = await trio.to_thread.run_sync(
                _deflate_sizes, server.url_for("/echo")
            )
    assert echoed  # exactly at the 1 MiB limit, though larger compressed
    assert code == 1009
    assert reason == f"message too big: {2**20 + 1} bytes > {2**20}"


# ----------------------------------------------------------------- TLS
def _tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


async def test_tls_through_ssl_context() -> None:
    server_context, client_context = _tls_contexts()
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), ssl_context=server_context) as server:
            assert server.url.startswith("wss://")
            async with server.connect("/echo", ssl_context=client_context) as ws:
                await ws.send_message("secret")
                assert await ws.get_message() == "secret"


# ----------------------------------------------------------------- wsactors.serve
async def test_serve_with_the_native_engine_drains_on_sigterm_and_exits_0(
    tmp_path: Path,
) -> None:
    script = (
        "import logging, wsactors, drain_app\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "wsactors.serve(drain_app.app, port=0, engine='native', graceful_timeout=3.0)\n"
    )
    with trio.fail_after(DEADLINE):
        async with _serve_script(script, tmp_path) as server:
            async with open_client("127.0.0.1", server.port, "/echo") as ws:
                await ws.send_message("before the signal")
                assert await ws.get_message() == "before the signal"
                server.process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.get_message()
            returncode = await server.process.wait()
    text = server.output.read_text()
    assert closed.value.reason is not None
    assert (closed.value.reason.code, closed.value.reason.reason) == (1001, "Going Away"), text
    assert returncode == 0, text
    assert "drain_app: on_disconnect ran" in text
    assert "Traceback" not in text


def test_serve_refuses_an_unknown_engine_option_or_app() -> None:
    with pytest.raises(ValueError, match="engine must be"):
        wsactors.serve(App([echo]), engine="tornado")
    with pytest.raises(TypeError, match="unknown native engine option"):
        wsactors.serve(App([echo]), engine="native", websocket_ping_interval=5)
    with pytest.raises(TypeError, match=r"serves a wsactors\.App"):
        wsactors.serve(page, engine="native")
    with pytest.raises(ValueError, match="ping_timeout must be positive"):
        LiveServer(App([echo]), engine="native", ping_timeout=0)


# ----------------------------------------------------------------- several processes
def _serve_script(script: str, tmp_path: Path) -> AbstractAsyncContextManager[ServerProcess]:
    """``python -c script`` in the fixtures directory, logging to ``tmp_path``."""
    return server_command([sys.executable, "-c", script], FIXTURES, output=tmp_path / "server.log")


def _start_workers(tmp_path: Path) -> AbstractAsyncContextManager[ServerProcess]:
    script = (
        "import logging, wsactors, workers_app\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "wsactors.serve(workers_app.app, port=0, engine='native', workers=2)\n"
    )
    return _serve_script(script, tmp_path)


@contextlib.asynccontextmanager
async def _one_client_per_worker(port: int) -> AsyncIterator[dict[int, Any]]:
    """Open connections until both workers answered; hold one per worker's pid."""
    async with contextlib.AsyncExitStack() as stack:
        held: dict[int, Any] = {}
        for _ in range(40):
            ws = await stack.enter_async_context(open_client("127.0.0.1", port, "/pid"))
            held.setdefault(int(await ws.get_message()), ws)
            if len(held) == 2:
                break
        assert len(held) == 2, "every connection went to one worker"
        yield held


@pytest.mark.skipif(not hasattr(socket_module, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
async def test_workers_share_the_port_and_sigterm_drains_them_all(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with _start_workers(tmp_path) as server:
            async with _one_client_per_worker(server.port) as held:
                server.process.send_signal(signal.SIGTERM)
                for ws in held.values():
                    with pytest.raises(ConnectionClosed) as closed:
                        await ws.get_message()
                    assert closed.value.reason is not None
                    assert closed.value.reason.code == 1001
            returncode = await server.process.wait()
    text = server.output.read_text()
    assert returncode == 0, text
    assert text.count("serving on http://127.0.0.1:") == 2, text


@pytest.mark.skipif(not hasattr(socket_module, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
async def test_a_worker_that_dies_is_replaced_and_the_stop_still_exits_0(
    tmp_path: Path,
) -> None:
    with trio.fail_after(DEADLINE):
        async with _start_workers(tmp_path) as server:
            async with _one_client_per_worker(server.port) as held:
                victim, survivor = sorted(held)
                os.kill(victim, signal.SIGKILL)  # a worker of the server this test started
                await wait_until(lambda: "restarted worker" in server.output.read_text())
                # The other worker went on serving.
                await held[survivor].send_message("still there?")
                server.process.send_signal(signal.SIGTERM)
            returncode = await server.process.wait()
    text = server.output.read_text()
    assert f"(pid {victim}) exited with code -9; restarting it in" in text
    assert returncode == 0, text
    assert "WorkersFailedError" not in text


@websocket("/tls-push", send_timeout=0.5)
async def tls_push(socket: WebSocket) -> None:
    await socket.accept()
    try:
        while True:
            await socket.send_bytes(b"x" * 65536)
    finally:
        events.append("tls-push finally")


async def test_a_stalled_tls_write_is_aborted_and_the_server_goes_on() -> None:
    server_context, client_context = _tls_contexts()
    with trio.fail_after(DEADLINE):
        async with native(App([tls_push, echo]), ssl_context=server_context) as server:
            tcp = await trio.open_tcp_stream(server.host, server.port)
            async with open_client(
                server.host, server.port, "/tls-push", ssl_context=client_context, stream=tcp
            ) as stalled:
                with trio.fail_after(3.0):
                    await wait_until(lambda: "tls-push finally" in events)
                del stalled  # never read
                # Another TLS connection is served as usual.
                async with server.connect("/echo", ssl_context=client_context) as ws:
                    await ws.send_message("still serving")
                    assert await ws.get_message() == "still serving"
