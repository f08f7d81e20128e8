"""Running the ``wsactors`` (or ``hypercorn``) command as a subprocess in a test.

Imported as ``cli_helpers`` (``tests/conftest.py`` puts ``tests/`` on ``sys.path``).
The server listens on 127.0.0.1 on a port the OS picks; its output goes to a file
the test reads. None of these sets a deadline except where noted (PROCESS_DEADLINE):
callers wrap them in ``trio.fail_after``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)

from helpers import DEADLINE

#: A server subprocess imports Python, wsactors and the app before it serves, and may
#: fork workers: its start, and its stop, may take twice the usual DEADLINE.
PROCESS_DEADLINE = 2 * DEADLINE

#: The line that names the bound port: wsactors' own, or hypercorn's in its workers.
_BOUND = re.compile(r"(?:serving|Running) on https?://127\.0\.0\.1:(\d+)")

ECHO_APP = """\
from wsactors import App, websocket_listener


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


app = App([echo])
"""


@dataclass
class ServerProcess:
    """A server subprocess and where its output (stdout and stderr) goes."""

    process: trio.Process
    port: int
    output: Path
    host: str = "127.0.0.1"  # what helpers.open_non_reader and friends read

    async def log(self) -> str:
        """Everything the process printed so far."""
        return await trio.Path(self.output).read_text()

    async def wait_for_log(self, pattern: str) -> re.Match[str]:
        """Return the first match of ``pattern`` in the output, once it is there."""
        while True:
            found = re.search(pattern, await self.log())
            if found:
                return found
            if self.process.poll() is not None:
                pytest.fail(f"exited with {self.process.returncode}:\n{await self.log()}")
            await trio.sleep(0.05)

    async def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        """Send ``signum``; return the exit code, failing after PROCESS_DEADLINE."""
        self.process.send_signal(signum)
        with trio.fail_after(PROCESS_DEADLINE):
            return await self.process.wait()


@asynccontextmanager
async def server_command(
    command: Sequence[str],
    cwd: Path,
    *,
    output: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[ServerProcess]:
    """Start ``command`` (which must log its bound port at INFO) until it listens.

    The port comes from the "serving on" (or hypercorn's "Running on") line, so
    give the command ``--port 0`` (``-b 127.0.0.1:0`` for hypercorn). On exit a
    process that still runs gets SIGTERM, then SIGKILL after 5 s: only the process
    (and its workers) this helper started.

    Args:
        command: the program and its arguments.
        cwd: the working directory of the process.
        output: where stdout and stderr go (default ``cwd / "server-output.txt"``:
            give a path under ``tmp_path`` when ``cwd`` is a source directory).
        env: variables set on top of ``os.environ`` (``PYTHONUNBUFFERED=1`` always).
    """
    output = cwd / "server-output.txt" if output is None else output
    with output.open("wb") as sink:
        # A session of its own: with --workers the command has children, and a
        # failed test kills the group (only what this helper started).
        process = await trio.lowlevel.open_process(
            list(command),
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,
        )
    try:
        with trio.fail_after(PROCESS_DEADLINE):
            found = await ServerProcess(process, 0, output).wait_for_log(_BOUND.pattern)
        yield ServerProcess(process, int(found.group(1)), output)
    finally:
        await stop_process_group(process)


async def stop_process_group(process: trio.Process) -> None:
    """SIGTERM, then SIGKILL, to ``process``'s own process group, 5 s for each.

    Cancellation:
        Shielded: this cleanup runs even when the test's deadline expired.
    """
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        with trio.move_on_after(5) as waiting:
            waiting.shield = True
            await process.wait()


async def wait_until_listening(process: trio.Process, port: int, output: Path) -> None:
    """Return once something accepts TCP connections on ``port``; fail if it exits.

    Cancellation:
        Stops waiting; the caller's deadline bounds it.
    """
    while True:
        if process.poll() is not None:
            log = await trio.Path(output).read_text()
            pytest.fail(f"the server exited with {process.returncode}:\n{log}")
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
        except OSError:
            await trio.sleep(0.05)
        else:
            await stream.aclose()
            return


async def live_processes_in_group(pgid: int) -> list[int]:
    """The PIDs of the processes of group ``pgid`` that still run (zombies excluded).

    From ``ps`` (Linux and the BSDs alike): a worker whose parent died is reparented
    to PID 1, which may not reap it, so "the group is empty" cannot be asked of kill(2).
    """
    listing = await trio.run_process(
        ["ps", "-A", "-o", "pid=,pgid=,stat="], capture_stdout=True, check=True
    )
    live = []
    for line in listing.stdout.decode().splitlines():
        pid, group, stat = line.split()[:3]
        if int(group) == pgid and not stat.startswith("Z"):
            live.append(int(pid))
    return live


def assert_one_line_usage_error(err: str, message: str, command: str = "run") -> None:
    """``err`` is the subcommand's usage, then one line: the error, naming ``message``
    (no traceback)."""
    error = err.splitlines()[-1]
    assert err.startswith(f"usage: wsactors {command} ")
    assert error.startswith(f"wsactors {command}: error: ")
    assert message in error
    assert "Traceback" not in err


async def close_code_after(port: int, path: str, message: str) -> int | None:
    """Connect by hand (wsproto), send ``message`` and return the server's close code.

    By hand because hypercorn drops the TCP connection right after some of its close
    frames (1009), and trio-websocket 0.12 then leaks its socket (a ResourceWarning).
    ``None`` if the connection ended without a close frame.
    """
    conn = WSConnection(ConnectionType.CLIENT)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(conn.send(Request(host=f"127.0.0.1:{port}", target=path)))
        sent = False
        while chunk := await stream.receive_some():
            conn.receive_data(chunk)
            for event in conn.events():
                if isinstance(event, AcceptConnection) and not sent:
                    await stream.send_all(conn.send(TextMessage(data=message)))
                    sent = True
                elif isinstance(event, CloseConnection):
                    return event.code
                elif isinstance(event, RejectConnection):
                    pytest.fail(f"handshake refused with {event.status_code}")
    return None
