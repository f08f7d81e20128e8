"""``wsactors run``'s engine options and --factory, and ``wsactors demo``, in real processes.

Each test starts ``python -m wsactors`` on an ephemeral port of 127.0.0.1, once per
engine that takes the option (test_cli_options.py checks in-process that the other
engine refuses it, naming the engine that takes it), and talks to it over raw TCP
or with trio-websocket.
"""

from __future__ import annotations

import re
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import trio
from trio_websocket import open_websocket_url
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate

from cli_helpers import ServerProcess, server_command

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals"),
]

ENGINES = ("hypercorn", "native")
RUN = [sys.executable, "-m", "wsactors", "run"]

APP = """\
from wsactors import App, WebSocket, websocket, websocket_listener


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


@websocket("/close")
async def close(socket: WebSocket) -> None:
    await socket.accept()
    await socket.receive_text()
    await socket.close(4000, "done")


def create_app() -> App:
    return App([echo, close])
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A directory with ``cliapp.py``: a factory ``create_app`` of an App with /echo
    and /close (closes 4000 after one message)."""
    (tmp_path / "cliapp.py").write_text(APP)
    return tmp_path


def run(engine: str, *options: str, app: str = "cliapp:create_app") -> list[str]:
    """``wsactors run APP --factory --engine ENGINE --port 0 OPTIONS...``."""
    return [*RUN, app, "--factory", "--engine", engine, "--port", "0", *options]


async def handshake(
    server: ServerProcess, path: str, headers: Sequence[str] = ()
) -> tuple[int, trio.SocketStream]:
    """Send a WebSocket handshake by hand; return the status and the open stream."""
    stream = await trio.open_tcp_stream(server.host, server.port)
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {server.host}:{server.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *headers,
    ]
    await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = await stream.receive_some()
        assert chunk, f"closed during the handshake: {response!r}"
        response += chunk
    return int(response.split(b" ", 2)[1]), stream


async def echo_once(server: ServerProcess, message: str = "hello") -> None:
    async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:
        await ws.send_message(message)
        assert await ws.get_message() == message


async def read_to_the_end(stream: trio.SocketStream) -> None:
    """Read until the server closes (EOF) or aborts (reset) the connection."""
    try:
        while await stream.receive_some():
            pass
    except trio.BrokenResourceError:
        pass  # aborted: a reset


# ------------------------------------------------------------------ --factory
@pytest.mark.parametrize("engine", ENGINES)
async def test_factory_serves_what_it_returns(app_dir: Path, engine: str) -> None:
    with trio.fail_after(30):
        async with server_command(run(engine), app_dir) as server:
            await echo_once(server)
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert "Traceback" not in log


async def test_factory_with_hypercorn_workers_is_called_in_each_worker(app_dir: Path) -> None:
    with trio.fail_after(40):
        async with server_command(run("hypercorn", "--workers", "2"), app_dir) as server:
            bound = re.escape(f"Running on http://127.0.0.1:{server.port}")
            await server.wait_for_log(f"(?s){bound}.*{bound}")  # both workers are up
            for n in range(3):
                await echo_once(server, f"hello {n}")
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert "Traceback" not in log


@pytest.mark.parametrize("engine", ENGINES)
async def test_without_factory_a_factory_is_refused_before_serving(
    app_dir: Path, engine: str
) -> None:
    command = [*RUN, "cliapp:create_app", "--engine", engine, "--port", "0"]
    with trio.fail_after(30):
        done = await trio.run_process(command, cwd=app_dir, capture_stderr=True, check=False)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.startswith("usage: wsactors run ")
    assert err.splitlines()[-1].endswith("if it returns the app, add --factory")


# ------------------------------------------------------------------ --compression
async def deflate_echo(server: ServerProcess) -> list[object]:
    """Offer permessage-deflate, echo one message; return the extensions accepted."""
    conn = WSConnection(ConnectionType.CLIENT)
    stream = await trio.open_tcp_stream(server.host, server.port)
    message = "compressible " * 200
    async with stream:
        request = Request(host="127.0.0.1", target="/echo", extensions=[PerMessageDeflate()])
        await stream.send_all(conn.send(request))
        accepted: list[object] | None = None
        while chunk := await stream.receive_some():
            conn.receive_data(chunk)
            for event in conn.events():
                if isinstance(event, AcceptConnection):
                    accepted = list(event.extensions)
                    await stream.send_all(conn.send(TextMessage(data=message)))
                elif isinstance(event, TextMessage):
                    assert event.data == message
                    assert accepted is not None
                    return accepted
                else:
                    pytest.fail(f"unexpected {event!r}")
    pytest.fail("the server closed the connection")


@pytest.mark.parametrize("engine", ENGINES)
async def test_compression_deflate_is_negotiated(app_dir: Path, engine: str) -> None:
    with trio.fail_after(30):
        async with server_command(run(engine, "--compression", "deflate"), app_dir) as server:
            [extension] = await deflate_echo(server)
            assert isinstance(extension, PerMessageDeflate)
            assert await server.stop(signal.SIGTERM) == 0


async def test_native_engine_without_compression_declines_deflate(app_dir: Path) -> None:
    with trio.fail_after(30):
        async with server_command(run("native"), app_dir) as server:
            assert await deflate_echo(server) == []
            assert await server.stop(signal.SIGTERM) == 0


# ------------------------------------------------------------------ native only
async def test_max_connections_refuses_the_one_beyond_with_503(app_dir: Path) -> None:
    with trio.fail_after(30):
        async with server_command(run("native", "--max-connections", "1"), app_dir) as server:
            status, first = await handshake(server, "/echo")
            assert status == 101
            async with first:
                status, second = await handshake(server, "/echo")
                await second.aclose()
                assert status == 503
                await server.wait_for_log(r"Too many connections: handshake for '/echo' denied")
            await server.wait_for_log(r"closed '/echo'")
            await echo_once(server)  # a place is free again
            assert await server.stop(signal.SIGTERM) == 0


async def test_open_timeout_closes_a_silent_connection(app_dir: Path) -> None:
    with trio.fail_after(30):
        async with server_command(run("native", "--open-timeout", "0.3"), app_dir) as server:
            stream = await trio.open_tcp_stream(server.host, server.port)
            async with stream:
                # The default (10 s) would outlast this deadline.
                with trio.fail_after(5):
                    await read_to_the_end(stream)
            await server.wait_for_log(r"no handshake within open_timeout=0\.3 s")
            assert await server.stop(signal.SIGTERM) == 0


async def test_close_timeout_aborts_a_client_that_never_answers_the_close(
    app_dir: Path,
) -> None:
    with trio.fail_after(30):
        async with server_command(run("native", "--close-timeout", "0.3"), app_dir) as server:
            conn = WSConnection(ConnectionType.CLIENT)
            stream = await trio.open_tcp_stream(server.host, server.port)
            async with stream:
                await stream.send_all(conn.send(Request(host="127.0.0.1", target="/close")))
                closed = None
                while closed is None:
                    chunk = await stream.receive_some()
                    assert chunk, "closed before the close frame"
                    conn.receive_data(chunk)
                    for event in conn.events():
                        if isinstance(event, AcceptConnection):
                            await stream.send_all(conn.send(TextMessage(data="bye")))
                        elif isinstance(event, CloseConnection):
                            closed = event.code
                assert closed == 4000
                start = trio.current_time()
                # No close frame back: the server gives up after --close-timeout; the
                # default (5 s) would outlast this deadline.
                with trio.fail_after(4):
                    await read_to_the_end(stream)
                assert trio.current_time() - start >= 0.25
            assert await server.stop(signal.SIGTERM) == 0


async def test_max_request_size_answers_431(app_dir: Path) -> None:
    with trio.fail_after(30):
        command = run("native", "--max-request-size", "1024")
        async with server_command(command, app_dir) as server:
            status, stream = await handshake(server, "/echo", [f"X-Padding: {'a' * 2000}"])
            await stream.aclose()
            assert status == 431
            status, stream = await handshake(server, "/echo", [f"X-Padding: {'a' * 500}"])
            await stream.aclose()
            assert status == 101
            assert await server.stop(signal.SIGTERM) == 0


# ------------------------------------------------------------------ wsactors demo
@pytest.mark.parametrize("engine", ENGINES)
async def test_demo_on_a_taken_port_fails_without_printing_its_address(
    tmp_path: Path, engine: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "wsactors", "demo", "--engine", engine]
        with trio.fail_after(30):
            done = await trio.run_process(
                [*command, "--port", str(port)],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                cwd=tmp_path,
            )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 1, err
    assert f"could not serve on 127.0.0.1:{port}" in err
    assert "open http" not in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize("engine", ENGINES)
async def test_demo_prints_its_address_once_listening(tmp_path: Path, engine: str) -> None:
    command = [sys.executable, "-m", "wsactors", "demo", "--engine", engine, "--port", "0"]
    with trio.fail_after(30):
        async with server_command(command, tmp_path) as server:
            # With --port 0 too: the address printed is the one bound.
            found = await server.wait_for_log(r"wsactors demo: open http://127\.0\.0\.1:(\d+)/")
            assert int(found.group(1)) == server.port
            log = await server.log()
            assert log.index("serving on") < log.index("wsactors demo: open")
            assert await server.stop(signal.SIGTERM) == 0
