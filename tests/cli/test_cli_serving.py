"""``wsactors run`` (and plain ``hypercorn``) as subprocesses: the settings take effect.

Each test starts a real server process on an ephemeral port of 127.0.0.1, talks to
it with trio-websocket and reads what it logged.
"""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from cli_helpers import ECHO_APP, PROCESS_DEADLINE, ServerProcess, close_code_after, server_command
from helpers import DEADLINE, open_non_reader

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals"),
]

RUN = [sys.executable, "-m", "wsactors", "run"]
LOGGING_TOML = Path(__file__).parents[2] / "docs" / "examples" / "logging.toml"
#: The "accepted" line of wsactors.connection; the path may be quoted (repr).
ACCEPTED = r"INFO +wsactors\.connection: accepted '?/echo"
# A test starts a server process and stops it (PROCESS_DEADLINE) and talks to it.
TEST_DEADLINE = PROCESS_DEADLINE + DEADLINE
# Two processes: two workers, or the reloader restarting the server.
SLOW_TEST_DEADLINE = TEST_DEADLINE + DEADLINE


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A directory with ``echoapp.py``: an App echoing text on /echo."""
    (tmp_path / "echoapp.py").write_text(ECHO_APP)
    return tmp_path


@asynccontextmanager
async def _echoed_under_the_limit(server: ServerProcess) -> AsyncIterator[WebSocketConnection]:
    """A client on /echo whose 1000-byte message (under a 1024 limit) came back.

    Also waits for the server's "accepted" INFO line for it.
    """
    async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:
        await ws.send_message("x" * 1000)
        assert await ws.get_message() == "x" * 1000
        await server.wait_for_log(ACCEPTED)
        yield ws


async def test_run_max_message_size_closes_1009_and_info_lines_show(app_dir: Path) -> None:
    # "echoapp" alone means echoapp:app.
    command = [*RUN, "echoapp", "--port", "0", "--max-message-size", "1024", "--log-level", "info"]
    with trio.fail_after(TEST_DEADLINE):
        async with server_command(command, app_dir) as server:
            async with _echoed_under_the_limit(server):
                pass
            assert await close_code_after(server.port, "/echo", "x" * 1025) == 1009
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert "Traceback" not in log


async def test_run_access_log(app_dir: Path) -> None:
    command = [*RUN, "echoapp:app", "--port", "0", "--access-log"]
    with trio.fail_after(TEST_DEADLINE):
        async with server_command(command, app_dir) as server:
            async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == "hi"
            await server.wait_for_log(r"hypercorn\.access: 127\.0\.0\.1:\d+ .*GET /echo")
            assert await server.stop(signal.SIGTERM) == 0


async def test_run_read_timeout_drops_a_silent_client(app_dir: Path) -> None:
    command = [*RUN, "echoapp", "--port", "0", "--read-timeout", "0.5"]
    with trio.fail_after(TEST_DEADLINE):
        async with server_command(command, app_dir) as server:
            # By hand: hypercorn drops the TCP connection without a close frame, and
            # trio-websocket 0.12 then leaks its socket (a ResourceWarning).
            stream = await open_non_reader(server, "/echo")  # type: ignore[arg-type]
            async with stream:
                start = trio.current_time()
                with trio.fail_after(5):
                    while await stream.receive_some():  # until EOF, sending nothing
                        pass
            assert trio.current_time() - start >= 0.4
            assert await server.stop(signal.SIGTERM) == 0


async def test_run_with_two_workers(app_dir: Path) -> None:
    command = [*RUN, "echoapp", "--port", "0", "--workers", "2"]
    with trio.fail_after(SLOW_TEST_DEADLINE):
        async with server_command(command, app_dir) as server:
            for n in range(4):
                async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:
                    await ws.send_message(f"hello {n}")
                    assert await ws.get_message() == f"hello {n}"
            await server.wait_for_log(ACCEPTED)  # the workers log in our format too
            # Both workers came up (each logs the address it serves).
            bound = re.escape(f"Running on http://127.0.0.1:{server.port}")
            await server.wait_for_log(f"(?s){bound}.*{bound}")
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert "Traceback" not in log


async def test_plain_hypercorn_with_the_docs_log_config_shows_info_lines(app_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "hypercorn",
        "-k",
        "trio",
        "-b",
        "127.0.0.1:0",
        "--log-config",
        f"toml:{LOGGING_TOML}",
        "echoapp:app",
    ]
    with trio.fail_after(TEST_DEADLINE):
        async with server_command(command, app_dir) as server:
            async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == "hi"
            await server.wait_for_log(ACCEPTED)
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    # hypercorn's own handler was replaced: its lines are printed once, in our format.
    assert log.count(f"Running on http://127.0.0.1:{server.port}") == 1
    assert "Traceback" not in log


async def test_run_reload_serves_the_changed_code(app_dir: Path) -> None:
    command = [*RUN, "echoapp", "--port", "0", "--reload"]
    url_of = "ws://127.0.0.1:{}/echo".format
    with trio.fail_after(SLOW_TEST_DEADLINE):
        async with server_command(command, app_dir) as server:
            async with open_websocket_url(url_of(server.port)) as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == "hi"
            source = app_dir / "echoapp.py"
            source.write_text(ECHO_APP.replace("return data", "return data.upper()"))
            # hypercorn's supervisor checks for changes every second, then restarts
            # the worker, which logs its address again.
            bound = re.escape(f"Running on http://127.0.0.1:{server.port}")
            await server.wait_for_log(f"(?s){bound}.*{bound}")
            async with open_websocket_url(url_of(server.port)) as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == "HI"
            assert await server.stop(signal.SIGTERM) == 0


# ------------------------------------------------------------------ --engine native
async def test_run_native_engine_applies_the_settings_and_reports_close_codes(
    app_dir: Path,
) -> None:
    command = [
        *RUN,
        "echoapp",
        "--engine",
        "native",
        "--port",
        "0",
        "--max-message-size",
        "1024",
        "--ping-interval",
        "5",
        "--ping-timeout",
        "5",
    ]
    with trio.fail_after(TEST_DEADLINE):
        async with server_command(command, app_dir) as server:
            async with _echoed_under_the_limit(server) as ws:
                await ws.aclose(code=4001, reason="bye")
            # The client's own close code reaches the App on this engine.
            await server.wait_for_log(r"closed '/echo' by the client code=4001 reason='bye'")
            assert await close_code_after(server.port, "/echo", "x" * 1025) == 1009
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert "native engine" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        (["--read-timeout", "1"], "--read-timeout: the native engine checks liveness with pongs"),
        (["--reload"], "--reload: the native engine has no reloader"),
        (["--access-log"], "--access-log: the native engine logs each accepted connection"),
    ],
)
async def test_run_native_engine_refuses_what_it_cannot_honour(
    app_dir: Path, option: list[str], needle: str
) -> None:
    command = [*RUN, "echoapp", "--engine", "native", "--port", "0", *option]
    with trio.fail_after(TEST_DEADLINE):
        done = await trio.run_process(command, cwd=app_dir, capture_stderr=True, check=False)
    assert done.returncode == 2
    assert needle in done.stderr.decode()
