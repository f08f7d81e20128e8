"""The ``wsactors`` command line: argument handling in-process, serving in a subprocess."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from trio_websocket import open_websocket_url

import wsactors
from cli_helpers import PROCESS_DEADLINE, assert_one_line_usage_error, wait_until_listening
from helpers import DEADLINE
from wsactors.cli.apps import AppImportError, import_app
from wsactors.cli.main import main
from wsactors.demo.app import StaticFiles
from wsactors.demo.app import app as demo_app


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``wsactors run`` puts the working directory on sys.path; undo it after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"wsactors {wsactors.__version__}\n"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_unknown_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--log-level", "loud"]) == 2
    assert "--log-level" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["http", "-1", "65536"])
def test_bad_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--port", port]) == 2
    assert "--port" in capsys.readouterr().err


def test_a_module_alone_means_its_app_attribute() -> None:
    # As in hypercorn and uvicorn: "module" is "module:app".
    assert import_app("wsactors.demo.app") is demo_app


@pytest.mark.parametrize(
    ("import_string", "message"),
    [
        ("bad", "could not import module 'bad': No module named 'bad'"),
        ("wsactors.routing", "module 'wsactors.routing' has no attribute 'app' (MODULE alone"),
        ("nosuchmodule:app", "could not import module 'nosuchmodule'"),
        ("wsactors.nosuchmodule:app", "could not import module 'wsactors.nosuchmodule'"),
        ("wsactors.demo:nope", "module 'wsactors.demo' has no attribute 'nope'"),
        ("wsactors.demo:", "is not an import string"),
        (":app", "is not an import string"),
        ("wsactors.demo:app:app", "is not an import string"),
        ("wsactors.demo:__doc__", "is a str, not an ASGI application"),
        ("wsactors.demo:app", "is a module, not an ASGI application"),
    ],
)
def test_run_with_a_bad_import_string(
    import_string: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", import_string]) == 2
    assert_one_line_usage_error(capsys.readouterr().err, message)


def test_import_app_finds_dotted_attributes() -> None:
    assert import_app("wsactors.demo.app:app") is demo_app
    assert isinstance(import_app("wsactors.demo.app:app.http_app"), StaticFiles)
    with pytest.raises(AppImportError, match=re.escape("no attribute 'app.nope'")):
        import_app("wsactors.demo.app:app.nope")


def test_import_app_keeps_errors_from_inside_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module that exists but fails to import is not a bad import string: its own
    # traceback is what the user needs, so the error propagates unchanged.
    (tmp_path / "wsactors_test_broken_app.py").write_text("import wsactors_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "wsactors_test_broken_app", raising=False)
    with pytest.raises(ModuleNotFoundError, match="wsactors_no_such_dependency"):
        import_app("wsactors_test_broken_app:app")


@pytest.mark.e2e
async def test_run_reports_a_port_in_use(tmp_path: Path) -> None:
    # In a subprocess: hypercorn 0.18 leaks the socket whose bind failed, and its
    # ResourceWarning would fail whichever test of this process collects it.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "wsactors", "run", "wsactors.demo.app:app"]
        with trio.fail_after(PROCESS_DEADLINE):
            result = await trio.run_process(
                [*command, "--port", str(port)],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                cwd=tmp_path,
            )
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert f"could not serve on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def fetch(url: str) -> tuple[int, str, str]:
    """GET ``url`` (blocking, bounded by a timeout); return status, type and text."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return response.status, response.headers["content-type"], body.decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read().decode()


@dataclass
class DemoProcess:
    """A ``python -m wsactors demo`` subprocess and where its output goes."""

    process: trio.Process
    port: int
    output: Path

    async def log(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        return await trio.Path(self.output).read_text()

    async def stop(self, signum: signal.Signals) -> int:
        """Send ``signum``; return the exit code, failing after PROCESS_DEADLINE."""
        self.process.send_signal(signum)
        with trio.fail_after(PROCESS_DEADLINE):
            return await self.process.wait()


@asynccontextmanager
async def demo_command(tmp_path: Path, engine: str = "hypercorn") -> AsyncIterator[DemoProcess]:
    """Run ``python -m wsactors demo`` on a free port until it listens; kill it on exit."""
    port = free_port()
    output = tmp_path / "output.txt"
    command = [sys.executable, "-m", "wsactors", "demo", "--port", str(port), "--engine", engine]
    with output.open("wb") as sink:
        process = await trio.lowlevel.open_process(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    try:
        with trio.fail_after(PROCESS_DEADLINE):
            await wait_until_listening(process, port, output)
        yield DemoProcess(process, port, output)
    finally:
        if process.returncode is None:
            process.kill()  # only the process this test started
            with trio.move_on_after(5):
                await process.wait()


posix_signals = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")


@pytest.mark.e2e
@pytest.mark.slow
@posix_signals
@pytest.mark.parametrize("engine", ["hypercorn", "native"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_demo_command_serves_and_stops_on_signal(
    signum: signal.Signals, engine: str, tmp_path: Path
) -> None:
    async with demo_command(tmp_path, engine) as server:
        base = f"http://127.0.0.1:{server.port}"
        with trio.fail_after(DEADLINE):
            status, content_type, page = await trio.to_thread.run_sync(fetch, f"{base}/")
            missing, _, _ = await trio.to_thread.run_sync(fetch, f"{base}/nope")
        assert (status, missing) == (200, 404)
        assert content_type == "text/html; charset=utf-8"
        assert 'id="message"' in page
        assert 'id="send"' in page

        with trio.fail_after(DEADLINE):
            async with open_websocket_url(f"ws://127.0.0.1:{server.port}/ws/echo") as ws:
                await ws.send_message("text frame")
                assert await ws.get_message() == "text frame"
                await ws.send_message(b"\x00binary frame")
                assert await ws.get_message() == b"\x00binary frame"

        returncode = await server.stop(signum)
        log = await server.log()
        assert returncode == 0, log
        assert f"open {base}/" in log
        assert f"serving on {base}" in log
        assert "Traceback" not in log


async def open_raw_websocket(port: int, path: str) -> trio.SocketStream:
    """A TCP connection to ``port`` on which a WebSocket handshake for ``path`` succeeded.

    Done by hand so the test sees the server's frames byte for byte, and because
    trio-websocket 0.12 leaks its socket when a server drops the TCP connection
    without a close frame (``aclose`` returns early once the abnormal closure is
    recorded): if the drain regressed, a ResourceWarning would hide the real failure.
    """
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n"
        f"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    )
    await stream.send_all(request.encode("ascii"))
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = await stream.receive_some()
        if not chunk:
            break
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        await stream.aclose()
        pytest.fail(f"handshake failed: {response!r}")
    return stream


@pytest.mark.e2e
@pytest.mark.slow
@posix_signals
async def test_demo_command_stops_with_a_connection_open(tmp_path: Path) -> None:
    # The serve() path drains: an open connection gets a close frame with 1001
    # "Going Away" (RFC 6455 section 7.4.1) and does not hold the shutdown up.
    async with demo_command(tmp_path) as server:
        with trio.fail_after(PROCESS_DEADLINE):
            stream = await open_raw_websocket(server.port, "/ws/echo")
            async with stream:
                returncode = await server.stop(signal.SIGINT)
                received = b""
                with contextlib.suppress(trio.BrokenResourceError):
                    while chunk := await stream.receive_some():  # until EOF
                        received += chunk
        log = await server.log()
        assert returncode == 0, log
        assert "Traceback" not in log
    # An unmasked server frame (RFC 6455 section 5.2): FIN + opcode 0x8 (close), the
    # payload length, then the status code as two bytes in network order.
    assert received[:1] == b"\x88", received
    assert int.from_bytes(received[2:4], "big") == 1001, received
