"""What the native engine guarantees beyond hypercorn (issue 11, item 3), end to end.

Every test runs ``LiveServer(app, engine="native")`` on 127.0.0.1 and talks to it
with trio-websocket, or with raw bytes (wsproto for the handshake) where a test
needs a peer that misbehaves: sends a bad frame, never answers a ping, never reads.
These behaviours are the native engine's: hypercorn reports 1006 for every client
close, drops the TCP connection without a close frame on bad input, never checks
pongs, and shields its writes (docs/engines.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket as socket_module
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionClosed
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request

import wsactors
from helpers import http_get, open_non_reader, port_from_log, rejection, wait_until
from wsactors import App, WebSocket, WebSocketDisconnect, websocket, websocket_listener
from wsactors.testing import LiveServer, open_client

DEADLINE = 10.0

events: list[Any] = []


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    events.clear()


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


def _bye(socket: WebSocket) -> None:
    events.append(("on_disconnect", socket.close_code, socket.close_reason))


@websocket_listener("/listen", on_disconnect=_bye)
async def listen(data: str) -> str:
    return data.upper()


def native(app: App, **options: Any) -> LiveServer:
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


def _closes(seen: list[Any]) -> list[tuple[int, str]]:
    return [(e.code, e.reason) for e in seen if isinstance(e, CloseConnection)]


# ----------------------------------------------------------------- basics
async def test_echo_round_trips_text_and_bytes() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server, server.connect("/echo") as ws:
            await ws.send_message("héllo")
            assert await ws.get_message() == "héllo"
            await ws.send_message(b"\x00\xff")
            assert await ws.get_message() == b"\x00\xff"


async def test_a_listener_runs_unchanged() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([listen])) as server, server.connect("/listen") as ws:
            await ws.send_message("abc")
            assert await ws.get_message() == "ABC"


async def test_a_clients_ping_is_answered_while_the_handler_is_idle() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([hold])) as server, server.connect("/hold") as ws:
            await ws.ping(b"are you there")  # returns once the pong arrived


# ----------------------------------------------------------------- close codes
async def test_the_clients_close_code_and_reason_reach_the_handler() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo, listen])) as server:
            async with server.connect("/echo") as ws:
                await ws.aclose(4001, "bye")
            async with server.connect("/listen") as ws:
                await ws.aclose(4001, "bye")
            await wait_until(lambda: len(events) >= 3)
    assert ("disconnect", 4001, "bye") in events
    assert ("close_code", 4001, "bye") in events
    assert ("on_disconnect", 4001, "bye") in events


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        # A reserved opcode (0x3): a framing error.
        ([(0x3, b"", True)], 1002),
        # A continuation frame with no message open.
        ([(0x0, b"x", True)], 1002),
        # Invalid UTF-8 in a text frame.
        ([(0x1, b"ok \xff", True)], 1007),
        # Invalid UTF-8 in the first fragment: closed at once, before the message ends.
        ([(0x1, b"\xc3\x28", False)], 1007),
    ],
    ids=["reserved-opcode", "stray-continuation", "bad-utf8", "bad-utf8-first-fragment"],
)
async def test_bad_input_closes_with_a_close_frame_then_the_tcp_connection(
    frames: list[tuple[int, bytes, bool]], code: int
) -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                for opcode, payload, fin in frames:
                    await client.send_frame(opcode, payload, fin=fin)
                seen = await client.read_events()  # returns once the server closed TCP
            await wait_until(lambda: any(e[0] == "close_code" for e in events))
    assert [c for c, _ in _closes(seen)] == [code]
    assert ("close_code", code) == next(e for e in events if e[0] == "close_code")[:2]


async def test_a_fragmented_message_with_valid_utf8_split_inside_a_character() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                text = "é€😀".encode()
                await client.send_frame(0x1, text[:1], fin=False)
                await client.send_frame(0x0, text[1:4], fin=False)
                await client.send_frame(0x0, text[4:], fin=True)
                while True:
                    client.conn.receive_data(await client.stream.receive_some(4096))
                    got = [e for e in client.conn.events() if hasattr(e, "data")]
                    if got:
                        break
    assert got[0].data == "é€😀"


async def test_one_read_of_many_frames_is_handed_out_whole_and_in_order() -> None:
    # 3000 masked frames in one write: more than one 16 KiB slice of a read, and a
    # 40 KB frame that spans slices.
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                burst = [client.frame(0x1, str(n % 10).encode()) for n in range(3000)]
                burst.append(client.frame(0x2, b"z" * 40000))
                await client.stream.send_all(b"".join(burst))
                got: list[Any] = []
                while len(got) < 3001:
                    client.conn.receive_data(await client.stream.receive_some(65536))
                    got.extend(e.data for e in client.conn.events() if hasattr(e, "data"))
    assert got[:3000] == [str(n % 10) for n in range(3000)]
    assert got[3000] == b"z" * 40000


# ----------------------------------------------------------------- sizes
async def test_too_big_closes_1009_and_a_peer_that_keeps_sending_is_cut_off() -> None:
    app = App([echo], max_message_size=1000, close_timeout=0.5)
    with trio.fail_after(DEADLINE):
        async with native(app, close_timeout=0.5) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                # Fragments whose running size passes the limit: refused on the
                # header of the frame that would cross it, before it is buffered.
                await client.send_frame(0x2, b"x" * 600, fin=False)
                await client.send_frame(0x0, b"x" * 600, fin=False)
                cut_off = False
                with trio.move_on_after(3.0):
                    try:
                        while True:  # keeps sending and never answers the close
                            await client.send_frame(0x0, b"y" * 60000, fin=False)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        cut_off = True
                assert cut_off, "the server kept reading from a peer after its 1009"
                seen = await client.read_events()
    assert [c for c, _ in _closes(seen)] == [1009]


async def test_too_many_fragments_close_1009() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), max_fragments=3) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                for _ in range(4):
                    await client.send_frame(0x0 if _ else 0x1, b"a", fin=False)
                seen = await client.read_events()
    assert _closes(seen) == [(1009, "more than 3 fragments in a message")]


# ----------------------------------------------------------------- keepalive
@websocket("/latency")
async def latency(socket: WebSocket) -> None:
    await socket.accept()
    async for _ in socket.iter_messages():
        await socket.send_text(repr(socket.latency))


async def test_keepalive_measures_latency_with_a_client_that_answers() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            native(App([latency]), ping_interval=0.1) as server,
            server.connect("/latency") as ws,
        ):
            await trio.sleep(0.35)  # trio-websocket answers the pings
            await ws.send_message("?")
            answer = await ws.get_message()
    assert isinstance(answer, str)
    assert answer != "None"
    assert 0 <= float(answer) < 0.1


async def test_a_frozen_peer_is_closed_1011_and_aborted() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), ping_interval=0.2, ping_timeout=0.3) as server:
            client = await RawClient.open(server, "/echo")
            # The client reads but never answers (wsproto queues pongs we never send).
            started = trio.current_time()
            async with client.stream:
                seen = await client.read_events()
            took = trio.current_time() - started
            await wait_until(lambda: any(e[0] == "close_code" for e in events))
    assert any(isinstance(e, Ping) for e in seen)
    assert _closes(seen) == [(1011, "keepalive ping timeout")]
    assert ("close_code", 1011, "keepalive ping timeout") in events
    assert 0.4 < took < 3.0, took  # ping at 0.2 s, pong due at 0.5 s


# ----------------------------------------------------------------- stalled writes
@websocket("/firehose", send_timeout=0.5)
async def firehose(socket: WebSocket) -> None:
    await socket.accept()
    try:
        while True:
            await socket.send_bytes(b"x" * 65536)
    finally:
        events.append("firehose finally")


async def test_a_write_stalled_past_send_timeout_aborts_the_connection() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([firehose])) as server:
            stream = await open_non_reader(server, "/firehose")
            async with stream:
                # send_timeout 0.5 s, far shorter than the keepalive interval (20 s)
                # the connection's timer sleeps for: the stalled write wakes it.
                with trio.fail_after(3.0):
                    await wait_until(lambda: "firehose finally" in events)
                # The server reset the connection: reading ends (after the buffered data).
                with trio.fail_after(3.0):
                    try:
                        while await stream.receive_some(1 << 20):
                            pass
                    except trio.BrokenResourceError:
                        pass


@websocket("/later", send_timeout=0.5)
async def later(socket: WebSocket) -> None:
    await socket.accept()
    await socket.receive_message()
    try:
        while True:
            await socket.send_bytes(b"x" * 65536)
    finally:
        events.append("later finally")


async def test_a_write_that_stalls_on_an_idle_connection_is_aborted_too() -> None:
    # The connection is idle first, so its timer sleeps until the next keepalive
    # ping (20 s away); the write that then stalls must wake it after 0.5 s.
    with trio.fail_after(DEADLINE):
        async with native(App([later])) as server:
            client = await RawClient.open(server, "/later")
            async with client.stream:
                await trio.sleep(0.3)
                await client.send_frame(0x1, b"go")
                with trio.fail_after(3.0):
                    await wait_until(lambda: "later finally" in events)


async def test_shutdown_is_bounded_with_a_client_that_never_reads() -> None:
    @websocket("/push")
    async def push(socket: WebSocket) -> None:
        await socket.accept()
        while True:
            await socket.send_bytes(b"x" * 65536)

    app = App([push], shutdown_timeout=0.5, close_timeout=0.5)
    with trio.fail_after(DEADLINE):
        server = native(app, graceful_timeout=0.5, close_timeout=0.5, stop_timeout=5.0)
        async with server:
            stream = await open_non_reader(server, "/push")
            await trio.sleep(0.3)  # the client's receive window fills
            stopping = trio.current_time()
        took = trio.current_time() - stopping
        await stream.aclose()
    assert took < 0.5 + 0.5 + 1.0, took  # graceful + close, and slack


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


@websocket("/hold")
async def hold(socket: WebSocket) -> None:
    await socket.accept()
    await socket.receive_message()


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


# ----------------------------------------------------------------- TLS
async def test_tls_through_ssl_context() -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
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
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", script],
            cwd=Path(__file__).parent / "fixtures",
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        with trio.fail_after(DEADLINE):
            port = await port_from_log(log_path, process)
            async with open_client("127.0.0.1", port, "/echo") as ws:
                await ws.send_message("before the signal")
                assert await ws.get_message() == "before the signal"
                process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.get_message()
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()  # only the process this test started
            with trio.move_on_after(5):
                await process.wait()
    text = log_path.read_text()
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
async def _start_workers(tmp_path: Path) -> tuple[trio.Process, Path]:
    script = (
        "import logging, wsactors, workers_app\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "wsactors.serve(workers_app.app, port=0, engine='native', workers=2)\n"
    )
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", script],
            cwd=Path(__file__).parent / "fixtures",
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return process, log_path


async def _pids_behind(port: int, stack: Any) -> dict[int, Any]:
    """Open connections until two workers answered; hold them open."""
    held: dict[int, Any] = {}
    for _ in range(40):
        ws = await stack.enter_async_context(open_client("127.0.0.1", port, "/pid"))
        held.setdefault(int(await ws.get_message()), ws)
        if len(held) == 2:
            break
    return held


@pytest.mark.skipif(not hasattr(socket_module, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
async def test_workers_share_the_port_and_sigterm_drains_them_all(tmp_path: Path) -> None:
    process, log_path = await _start_workers(tmp_path)
    try:
        with trio.fail_after(DEADLINE):
            port = await port_from_log(log_path, process)
            async with contextlib.AsyncExitStack() as stack:
                held = await _pids_behind(port, stack)
                assert len(held) == 2, "every connection went to one worker"
                process.send_signal(signal.SIGTERM)
                for ws in held.values():
                    with pytest.raises(ConnectionClosed) as closed:
                        await ws.get_message()
                    assert closed.value.reason.code == 1001
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()  # only the process this test started
            with trio.move_on_after(5):
                await process.wait()
    text = log_path.read_text()
    assert returncode == 0, text
    assert text.count("serving on http://127.0.0.1:") == 2, text


@pytest.mark.skipif(not hasattr(socket_module, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
async def test_a_worker_that_dies_is_reported(tmp_path: Path) -> None:
    process, log_path = await _start_workers(tmp_path)
    try:
        with trio.fail_after(DEADLINE):
            port = await port_from_log(log_path, process)
            async with contextlib.AsyncExitStack() as stack:
                held = await _pids_behind(port, stack)
                assert len(held) == 2, "every connection went to one worker"
                victim, survivor = sorted(held)
                os.kill(victim, signal.SIGKILL)  # a worker of the server this test started
                await wait_until(lambda: "exited with code -9" in log_path.read_text())
                # The other worker goes on serving.
                await held[survivor].send_message("still there?")
                process.send_signal(signal.SIGTERM)
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            with trio.move_on_after(5):
                await process.wait()
    text = log_path.read_text()
    assert f"(pid {victim}) exited with code -9; 1 worker(s) left" in text
    assert returncode != 0, text
    assert "WorkersFailedError" in text
