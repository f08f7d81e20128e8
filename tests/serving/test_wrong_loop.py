"""An App under plain hypercorn (asyncio) or uvicorn, and its log lines under plain
``hypercorn -k trio``: real server processes on ephemeral ports of 127.0.0.1.

wsactors runs on Trio. Started by an asyncio server, the App fails the lifespan
startup, or answers each handshake with 500 when there is no lifespan, after one
log line saying what to run instead (wsactors/lifespan/host.py).
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from cli_helpers import (
    ECHO_APP,
    ServerProcess,
    server_command,
    stop_process_group,
    wait_until_listening,
)
from wsactors.lifespan.host import WRONG_LOOP

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals"),
]

HYPERCORN = [sys.executable, "-m", "hypercorn", "-b", "127.0.0.1:0"]
UVICORN = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "0"]
needs_uvicorn = pytest.mark.skipif(
    importlib.util.find_spec("uvicorn") is None, reason="uvicorn is not installed"
)

#: The App behind a middleware that answers the lifespan itself: the App sees no
#: lifespan scope, only handshakes.
NO_LIFESPAN_APP = """\
from echoapp import app as inner


async def app(scope, receive, send):
    if scope["type"] != "lifespan":
        await inner(scope, receive, send)
        return
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """``echoapp.py`` (an App echoing text on /echo) and ``nolifespan.py`` (the same
    App behind a middleware that answers the lifespan itself)."""
    (tmp_path / "echoapp.py").write_text(ECHO_APP)
    (tmp_path / "nolifespan.py").write_text(NO_LIFESPAN_APP)
    return tmp_path


@asynccontextmanager
async def running(command: Sequence[str], cwd: Path) -> AsyncIterator[ServerProcess]:
    """Start ``command`` until it logs "[Rr]unning on http://127.0.0.1:PORT" (hypercorn,
    uvicorn); SIGTERM then SIGKILL on exit, to this process group only."""
    output = cwd / "server-output.txt"
    with output.open("wb") as sink:
        process = await trio.lowlevel.open_process(
            list(command),
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    try:
        with trio.fail_after(20):
            found = await ServerProcess(process, 0, output).wait_for_log(
                r"[Rr]unning on http://127\.0\.0\.1:(\d+)"
            )
        yield ServerProcess(process, int(found.group(1)), output)
    finally:
        await stop_process_group(process)


async def exited(command: Sequence[str], cwd: Path) -> tuple[int, str]:
    """Run ``command`` to its end (at most 20 s); its exit code and output."""
    with trio.fail_after(20):
        done = await trio.run_process(
            list(command),
            cwd=cwd,
            capture_stdout=True,
            stderr=subprocess.STDOUT,
            check=False,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return done.returncode, done.stdout.decode()


async def handshake_status(server: ServerProcess, path: str = "/echo") -> int:
    """The HTTP status a WebSocket handshake is answered with."""
    stream = await trio.open_tcp_stream(server.host, server.port)
    async with stream:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await stream.send_all(request.encode())
        response = b""
        while b"\r\n" not in response:
            chunk = await stream.receive_some()
            assert chunk, f"closed without a response: {response!r}"
            response += chunk
    return int(response.split(b" ", 2)[1])


def assert_told_once(log: str) -> None:
    """The one line, once, and nothing of Trio's own complaint."""
    assert log.count(WRONG_LOOP) == 1, log
    assert f"{WRONG_LOOP} (this server runs asyncio)" in log
    assert "must be called from async context" not in log


# ------------------------------------------------------------------ plain hypercorn (asyncio)
async def test_plain_hypercorn_fails_the_startup_with_one_line(app_dir: Path) -> None:
    _, log = await exited([*HYPERCORN, "echoapp:app"], app_dir)
    assert_told_once(log)
    # hypercorn reports the failed startup its own way, with the short reason.
    assert "Lifespan failure in startup. 'wsactors needs Trio, not asyncio" in log
    assert "Running on" not in log


async def test_plain_hypercorn_without_lifespan_refuses_handshakes_with_500(
    app_dir: Path,
) -> None:
    with trio.fail_after(30):
        async with running([*HYPERCORN, "nolifespan:app"], app_dir) as server:
            assert await handshake_status(server) == 500
            assert await handshake_status(server) == 500  # every one, told once
            await server.wait_for_log(re.escape(WRONG_LOOP))
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert_told_once(log)
    # In hypercorn's format: the wsactors logger took hypercorn's handler.
    assert f"[ERROR] {WRONG_LOOP}" in log
    assert "Traceback" not in log


# ------------------------------------------------------------------ uvicorn
@needs_uvicorn
async def test_uvicorn_fails_the_startup_with_one_line(app_dir: Path) -> None:
    code, log = await exited([*UVICORN, "echoapp:app"], app_dir)
    assert code == 3  # uvicorn's exit code for a failed startup
    assert_told_once(log)
    assert "wsactors needs Trio, not asyncio (see the error logged above)" in log
    assert "Application startup failed. Exiting." in log
    assert "Traceback" not in log


@needs_uvicorn
@pytest.mark.parametrize("ws", ["auto", "wsproto"])
async def test_uvicorn_without_lifespan_refuses_handshakes_with_500(app_dir: Path, ws: str) -> None:
    command = [*UVICORN, "--lifespan", "off", "--ws", ws, "echoapp:app"]
    with trio.fail_after(30):
        async with running(command, app_dir) as server:
            assert await handshake_status(server) == 500
            assert await handshake_status(server) == 500
            await server.wait_for_log(re.escape(WRONG_LOOP))
            # uvicorn re-raises the signal it handled once it has stopped.
            assert await server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
            log = await server.log()
    assert_told_once(log)
    assert "Traceback" not in log


# ------------------------------------------------------------------ plain hypercorn -k trio
async def test_plain_hypercorn_trio_serves_and_shows_wsactors_lines(app_dir: Path) -> None:
    command = [*HYPERCORN, "-k", "trio", "echoapp:app"]
    with trio.fail_after(30):
        async with server_command(command, app_dir) as server:
            assert await handshake_status(server) == 101
            # wsactors' INFO line, in hypercorn's format, at hypercorn's default level.
            await server.wait_for_log(r"\[INFO\] accepted '/echo'")
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert log.count("accepted '/echo'") == 1
    assert WRONG_LOOP not in log
    assert "Traceback" not in log


async def test_plain_hypercorn_trio_log_level_applies_to_wsactors_lines(
    app_dir: Path,
) -> None:
    command = [*HYPERCORN, "-k", "trio", "--log-level", "warning", "echoapp:app"]
    with trio.fail_after(30):
        # hypercorn logs "Running on" at INFO: the port is learnt from a probe instead.
        async with running_quietly(command, app_dir) as server:
            assert await handshake_status(server) == 101
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert "accepted" not in log  # INFO, below hypercorn's --log-level warning
    assert "Traceback" not in log


@asynccontextmanager
async def running_quietly(command: Sequence[str], cwd: Path) -> AsyncIterator[ServerProcess]:
    """:func:`running` for a server that does not log its port: bound to a port that
    was free a moment ago, then probed until it accepts connections."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [part.replace("127.0.0.1:0", f"127.0.0.1:{port}") for part in command]
    output = cwd / "server-output.txt"
    with output.open("wb") as sink:
        process = await trio.lowlevel.open_process(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
    server = ServerProcess(process, port, output)
    try:
        with trio.fail_after(20):
            await wait_until_listening(process, port, output)
        yield server
    finally:
        await stop_process_group(process)
