"""``wsactors run --engine native --workers 2``: the parent's death, a worker's death, the stop.

Real processes, as a user runs them: the command in a session of its own (so its
process group is the parent and its workers), clients over loopback, signals sent
by PID. What a user must be able to count on: no worker outlives its parent (kill -9
included) nor keeps the port; a worker that dies is replaced; SIGTERM drains every
worker and exits 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sys
from pathlib import Path

import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url
from wsproto.events import Message, TextMessage

from cli_helpers import (
    PROCESS_DEADLINE,
    ServerProcess,
    live_processes_in_group,
    server_command,
    stop_process_group,
)
from helpers import DEADLINE, StallingClient

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="forked workers on SO_REUSEPORT"
    ),
]

RUN = [sys.executable, "-m", "wsactors", "run", "pidapp", "--engine", "native", "--port", "0"]
#: The goal of issue 19: no worker left this long after the parent's kill -9.
ORPHAN_DEADLINE = 6.0
TEST_DEADLINE = 2 * PROCESS_DEADLINE + DEADLINE
#: 1001 "Going Away": the drain's close (RFC 6455 7.4.1).
GOING_AWAY = 1001

PID_APP = """\
import os

from wsactors import App, websocket_listener


@websocket_listener("/pid")
async def pid(data: str) -> str:
    return str(os.getpid())


app = App([pid])
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A directory with ``pidapp.py``: an App answering every message on /pid with
    the PID of the worker that serves it."""
    (tmp_path / "pidapp.py").write_text(PID_APP)
    return tmp_path


async def _worker_pid(ws: WebSocketConnection) -> int:
    await ws.send_message("pid?")
    return int(await ws.get_message())


async def _asked(server: ServerProcess) -> StallingClient:
    """A client on /pid whose question was answered: its worker serves it.

    By hand (wsproto): trio-websocket 0.12 leaks its socket when the server closes
    and ends the TCP connection at once, as a worker that drained and exits does.
    """
    # A ServerProcess has the host and port that open() reads of a LiveServer.
    client = await StallingClient.open(server, "/pid")  # type: ignore[arg-type]
    await client.stream.send_all(client.conn.send(TextMessage("pid?")))
    while True:
        chunk = await client.stream.receive_some()
        assert chunk, "the connection ended before the answer"
        client.conn.receive_data(chunk)
        if any(isinstance(event, Message) for event in client.conn.events()):
            return client


async def _close_code_of_the_drain(client: StallingClient) -> int:
    """Read until the server's close, answer it (RFC 6455 5.5.1), return its code."""
    async with client.stream:
        messages, close = await client.read_until_close()
        assert messages == 0  # nothing after the answer but the close
        assert close is not None, "the connection ended without a close frame"
        with contextlib.suppress(trio.BrokenResourceError):
            await client.stream.send_all(client.conn.send(close.response()))
    return close.code


async def _wait_until_no_process_in(pgid: int) -> None:
    """Return once no process of group ``pgid`` runs (the caller's deadline bounds it)."""
    while True:
        if not await live_processes_in_group(pgid):
            return
        await trio.sleep(0.1)


def _assert_port_free(port: int) -> None:
    """Something may listen on ``port`` again, without SO_REUSEPORT: no one holds it."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        sock.bind(("127.0.0.1", port))
        sock.listen()


async def _both_workers_serving(server: ServerProcess) -> None:
    bound = re.escape(f"serving on http://127.0.0.1:{server.port}")
    await server.wait_for_log(f"(?s){bound}.*{bound}")


async def test_kill_9_of_the_parent_drains_and_stops_every_worker(app_dir: Path) -> None:
    with trio.fail_after(TEST_DEADLINE):
        async with server_command([*RUN, "--workers", "2"], app_dir) as server:
            await _both_workers_serving(server)
            parent = server.process.pid
            client = await _asked(server)
            server.process.kill()
            assert await server.process.wait() == -signal.SIGKILL
            try:
                with trio.fail_after(ORPHAN_DEADLINE):
                    assert await _close_code_of_the_drain(client) == GOING_AWAY
                    await _wait_until_no_process_in(parent)
            finally:
                # server_command stops the group only while the parent runs: the
                # workers of a failed test must not outlive it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(parent, signal.SIGKILL)
            _assert_port_free(server.port)
            log = await server.log()
    assert log.count(f"the parent process (pid {parent}) exited") == 2
    assert "Traceback" not in log


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGKILL, -9), (signal.SIGTERM, 0)])
async def test_a_worker_that_ends_is_replaced_and_the_replacement_serves(
    app_dir: Path, signum: signal.Signals, code: int
) -> None:
    """Killed, or stopped on its own (it drains and exits 0): either way another
    takes its place and serves. Each of the two first workers ends in turn."""
    with trio.fail_after(TEST_DEADLINE):
        async with server_command([*RUN, "--workers", "2"], app_dir) as server:
            await _both_workers_serving(server)
            url = f"ws://127.0.0.1:{server.port}/pid"
            # The kernel spreads connections over the listeners: ask until each
            # worker answered (each try reaches a given one with even odds).
            first: set[int] = set()
            while len(first) < 2:
                async with open_websocket_url(url) as ws:
                    first.add(await _worker_pid(ws))
            for ended, rounds in zip(sorted(first), (1, 2), strict=True):
                os.kill(ended, signum)
                await server.wait_for_log(
                    rf"worker wsactors-worker-\d \(pid {ended}\) exited with code {code};"
                    r" restarting it in [\d.]+ s"
                )
                pattern = r"restarted worker wsactors-worker-\d \(pid (\d+)\)"
                found = await server.wait_for_log(f"(?s)(?:{pattern}.*){{{rounds}}}")
                replacement = int(re.findall(pattern, found.group(0))[-1])
                served_by: set[int] = set()
                while replacement not in served_by:
                    async with open_websocket_url(url) as ws:
                        served_by.add(await _worker_pid(ws))
                assert ended not in served_by
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert len(re.findall(r"restarting it in", log)) == 2


@pytest.mark.parametrize("to", ["parent", "group"])
async def test_sigterm_drains_every_worker_and_exits_0(app_dir: Path, to: str) -> None:
    """SIGTERM to the parent alone (``kill PID``), or to the whole group (a service
    manager's stop, Ctrl+C in a terminal): each worker then gets it twice."""
    with trio.fail_after(TEST_DEADLINE):
        async with server_command([*RUN, "--workers", "2"], app_dir) as server:
            await _both_workers_serving(server)
            parent = server.process.pid
            client = await _asked(server)
            if to == "parent":
                server.process.send_signal(signal.SIGTERM)
            else:
                os.killpg(parent, signal.SIGTERM)
            assert await _close_code_of_the_drain(client) == GOING_AWAY
            with trio.fail_after(PROCESS_DEADLINE):
                assert await server.process.wait() == 0
            assert await live_processes_in_group(parent) == []
            log = await server.log()
    # To the group, a worker may have drained and exited on its own SIGTERM before the
    # parent handled its own: it stops the ones still running, and restarts none.
    stopping = (
        r"received SIGTERM: stopping 2 worker\(s\)"
        if to == "parent"
        else r"received SIGTERM: stopping [12] worker\(s\)"
    )
    assert re.search(stopping, log), log
    assert "restarting it" not in log
    assert "all workers stopped" in log
    assert "Traceback" not in log


async def test_a_worker_that_fails_to_start_stops_the_others_and_exits_1(
    app_dir: Path,
) -> None:
    (app_dir / "failapp.py").write_text(
        "from wsactors import App\n\n\n"
        "async def refuse() -> None:\n"
        "    raise RuntimeError('no database')\n\n\n"
        "app = App([], on_startup=[refuse])\n"
    )
    command = [*RUN[:4], "failapp", *RUN[5:], "--workers", "2"]
    output = app_dir / "output.txt"
    with output.open("wb") as sink:
        # A session of its own, as server_command does: its group is killed after.
        process = await trio.lowlevel.open_process(
            command, cwd=app_dir, stdout=sink, stderr=sink, start_new_session=True
        )
    try:
        with trio.fail_after(PROCESS_DEADLINE):
            await process.wait()
    finally:
        await stop_process_group(process)
    log = output.read_text()
    assert process.returncode == 1, log
    assert re.search(
        r"worker wsactors-worker-\d \(pid \d+\) exited with code 1 before it served", log
    )
    assert "restart" not in log
