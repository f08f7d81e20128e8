"""serving.py and LiveServer over real loopback sockets, with raw ASGI apps."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

from helpers import DEADLINE
from wsactors.serving.hypercorn import hypercorn_config, serve_async
from wsactors.testing import LiveServer

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SRC = Path(__file__).resolve().parents[2] / "src"


class EchoApp:
    """Lifespan, an HTTP 404 for every request, and a WebSocket echo."""

    def __init__(self) -> None:
        self.lifespan: list[str] = []

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.lifespan.append(message["type"])
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not found"})
        elif scope["path"] == "/deny":
            await receive()
            await send({"type": "websocket.close", "code": 1008})
        else:
            await receive()
            await send({"type": "websocket.accept"})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                reply = {"type": "websocket.send", "text": message.get("text")}
                reply["bytes"] = message.get("bytes")
                await send(reply)


WEBSOCKET_UPGRADE = (
    "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


async def http_status(host: str, port: int, path: str = "/", headers: str = "") -> bytes:
    """The status line of a raw HTTP/1.1 GET (trio-websocket leaks its socket on a
    rejected handshake, so denials are checked this way too)."""
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        headers = headers or "Connection: close\r\n"
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n"
        await stream.send_all(request.encode())
        received = b""
        while b"\r\n" not in received:
            chunk = await stream.receive_some()
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n", 1)[0]


# -- hypercorn_config -------------------------------------------------------------


def test_hypercorn_config_sets_options() -> None:
    config = hypercorn_config(
        "127.0.0.1", 0, graceful_timeout=0.5, websocket_max_message_size=1024, root_path="/x"
    )
    assert config.bind == ["127.0.0.1:0"]
    assert config.graceful_timeout == 0.5
    assert config.websocket_max_message_size == 1024
    assert config.root_path == "/x"


def test_hypercorn_config_brackets_ipv6() -> None:
    assert hypercorn_config("::1", 9000).bind == ["[::1]:9000"]


@pytest.mark.parametrize("name", ["graceful_timout", "ssl_enabled", "create_sockets", "_bind"])
def test_hypercorn_config_rejects_unknown_options(name: str) -> None:
    options: dict[str, Any] = {name: 1}
    with pytest.raises(TypeError, match=name):
        hypercorn_config(**options)


def test_hypercorn_config_rejects_bind() -> None:
    with pytest.raises(TypeError, match="host= and port="):
        hypercorn_config(bind=["0.0.0.0:1"])


def test_hypercorn_config_rejects_several_workers() -> None:
    # serve() runs one Trio worker; silently ignoring workers=4 would mislead.
    with pytest.raises(TypeError, match="hypercorn -k trio -w N"):
        hypercorn_config(workers=4)
    assert hypercorn_config(workers=1).workers == 1


# -- serve_async --------------------------------------------------------------------


@pytest.mark.e2e
async def test_serve_async_reports_port_and_stops_on_trigger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = EchoApp()
    stop = trio.Event()
    caplog.set_level(logging.INFO, logger="wsactors.serving")
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            config = hypercorn_config("127.0.0.1", 0, graceful_timeout=0.5)
            binds = await nursery.start(
                partial(serve_async, app, config, shutdown_trigger=stop.wait)
            )
            assert len(binds) == 1
            assert binds[0].startswith("http://127.0.0.1:")
            port = int(binds[0].rsplit(":", 1)[1])
            assert port != 0
            assert await http_status("127.0.0.1", port) == b"HTTP/1.1 404 "
            stop.set()
    # The nursery closed: serve_async returned after a graceful stop.
    assert app.lifespan == ["lifespan.startup", "lifespan.shutdown"]
    assert f"wsactors serving on {binds[0]}" in caplog.text


@pytest.mark.e2e
async def test_serve_async_cancellation_stops_at_once() -> None:
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            config = hypercorn_config("127.0.0.1", 0)
            await nursery.start(serve_async, EchoApp(), config)
            nursery.cancel_scope.cancel()


@pytest.mark.e2e
def test_serve_blocks_until_sigterm(tmp_path: Path) -> None:
    script = tmp_path / "serve_app.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging
            import sys

            sys.path.insert(0, sys.argv[1])
            from wsactors.serving import serve

            async def app(scope, receive, send):
                if scope["type"] == "lifespan":
                    raise RuntimeError("no lifespan")

            logging.basicConfig(level=logging.INFO, format="%(message)s")
            serve(app, port=0)
            print("serve returned", file=sys.stderr, flush=True)
            """
        )
    )
    process = subprocess.Popen(
        [sys.executable, str(script), str(SRC)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # bounded by the wait below if this stalls
            if "wsactors serving on http://127.0.0.1:" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=10)
        assert process.returncode == 0, rest
        assert "received SIGTERM" in rest
        assert "serve returned" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


# -- LiveServer ----------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.engine("hypercorn", reason="a raw ASGI app: the native engine serves an App only")
@pytest.mark.usefixtures("live_engine")
async def test_live_server_echo_over_trio_websocket() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(EchoApp()) as server:
            assert server.host == "127.0.0.1"
            assert server.port > 0
            assert server.url == f"ws://127.0.0.1:{server.port}"
            assert server.http_url == f"http://127.0.0.1:{server.port}"
            assert server.url_for("/echo?x=1") == f"{server.url}/echo?x=1"
            async with server.connect("/echo") as ws:
                await ws.send_message("text")
                assert await ws.get_message() == "text"
                await ws.send_message(b"\x00binary")
                assert await ws.get_message() == b"\x00binary"


@pytest.mark.e2e
@pytest.mark.engine("hypercorn", reason="a raw ASGI app: the native engine serves an App only")
@pytest.mark.usefixtures("live_engine")
async def test_live_server_http_404() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(EchoApp()) as server:
            assert await http_status(server.host, server.port, "/missing") == b"HTTP/1.1 404 "


@pytest.mark.e2e
@pytest.mark.engine("hypercorn", reason="a raw ASGI app: the native engine serves an App only")
@pytest.mark.usefixtures("live_engine")
async def test_live_server_close_before_accept_is_http_403() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(EchoApp()) as server:
            status = await http_status(server.host, server.port, "/deny", WEBSOCKET_UPGRADE)
            assert status == b"HTTP/1.1 403 "


@pytest.mark.e2e
@pytest.mark.engine("hypercorn", reason="a raw ASGI app: the native engine serves an App only")
@pytest.mark.usefixtures("live_engine")
async def test_live_server_stops_cleanly() -> None:
    app = EchoApp()
    parent = trio.lowlevel.current_task()
    nurseries_before = len(parent.child_nurseries)
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("ping")
            assert await ws.get_message() == "ping"
    assert app.lifespan == ["lifespan.startup", "lifespan.shutdown"]
    assert len(parent.child_nurseries) == nurseries_before
    with pytest.raises(OSError, match="connect"):
        await trio.open_tcp_stream(server.host, server.port)


async def test_live_server_rejects_unknown_options() -> None:
    with pytest.raises(TypeError, match="graceful_timout"):
        LiveServer(EchoApp(), graceful_timout=1)


async def test_live_server_not_running_has_no_url() -> None:
    with pytest.raises(RuntimeError, match="has not started"):
        _ = LiveServer(EchoApp()).url
