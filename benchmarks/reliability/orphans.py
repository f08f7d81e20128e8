"""Orphaned workers: how many native-engine workers outlive their parent's kill -9.

Each round starts ``wsactors run --engine native --workers 2`` in a session of its own
(so its process group is the parent and its workers), on 127.0.0.1 and a port the OS
picks; once both workers serve, it opens :data:`CLIENTS` WebSocket connections (which
answer the server's close, as a browser does), kills the parent with SIGKILL and
watches the group for :data:`GRACE` seconds. Counted: the workers still running then
(zombies are not running: PID 1 need not reap them), and whether the port is free
again (a bind without ``SO_REUSEPORT``). Goal: no orphan after 6 s, in any round.

``python -m benchmarks.reliability.orphans`` prints one line; the exit status is 1
when the goal is missed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from ..rawclient import CLOSE, HOST, frame, ws_connect

__all__ = ["main", "measure"]

ROUNDS = 3
WORKERS = 2
CLIENTS = 4
#: Seconds after the parent's kill -9 by which no worker may run (issue 19's goal).
GRACE = 6.0
STARTUP = 30.0

_APP = """\
from wsactors import App, websocket_listener


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


app = App([echo])
"""
_SERVING = re.compile(rf"serving on http://{re.escape(HOST)}:(\d+)")


def live_in_group(pgid: int) -> list[int]:
    """PIDs of the running (not zombie) processes of group ``pgid``, from ``ps``."""
    listing = subprocess.run(
        ["ps", "-A", "-o", "pid=,pgid=,stat="], capture_output=True, text=True, check=True
    ).stdout
    live = []
    for line in listing.splitlines():
        pid, group, stat = line.split()[:3]
        if int(group) == pgid and not stat.startswith("Z"):
            live.append(int(pid))
    return live


def port_free(port: int) -> bool:
    """Whether a socket without SO_REUSEPORT may listen on ``port`` (no one holds it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        try:
            sock.bind((HOST, port))
            sock.listen()
        except OSError:
            return False
    return True


async def _client(port: int, opened: trio.MemorySendChannel[None]) -> None:
    """Open a WebSocket on /echo, then answer the server's close and leave.

    Cancellation: the connection is dropped.
    """
    client = await ws_connect(port, "/echo")
    async with client.stream:
        await opened.send(None)
        with contextlib.suppress(EOFError, trio.BrokenResourceError):
            while True:
                opcode, payload = await client.read_frame()
                if opcode == CLOSE:
                    # The answer echoes the code (RFC 6455 5.5.1).
                    await client.stream.send_all(frame(CLOSE, payload[:2]))
                    return


async def _round(app_dir: Path) -> dict[str, Any]:
    """One start, kill -9 of the parent and watch; what was left after GRACE."""
    output = app_dir / "server-output.txt"
    command = [sys.executable, "-m", "wsactors", "run", "echoapp:app", "--engine", "native"]
    command += ["--port", "0", "--workers", str(WORKERS)]
    with output.open("wb") as sink:
        process = await trio.lowlevel.open_process(
            command,
            cwd=app_dir,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    pgid = process.pid
    try:
        port = 0
        with trio.fail_after(STARTUP):
            while True:
                found = _SERVING.findall(output.read_text())
                if len(found) >= WORKERS:
                    port = int(found[0])
                    break
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited: {output.read_text()}")
                await trio.sleep(0.05)
        async with trio.open_nursery() as nursery:
            opened_send, opened_receive = trio.open_memory_channel[None](CLIENTS)
            with trio.fail_after(STARTUP):
                for _ in range(CLIENTS):
                    nursery.start_soon(_client, port, opened_send)
                for _ in range(CLIENTS):
                    await opened_receive.receive()
            workers = [pid for pid in live_in_group(pgid) if pid != pgid]
            killed = time.monotonic()
            process.kill()
            await process.wait()
            last_exit = None
            with trio.move_on_after(GRACE):
                while True:
                    if not live_in_group(pgid):
                        last_exit = time.monotonic() - killed
                        break
                    await trio.sleep(0.1)
            orphans = live_in_group(pgid)
            nursery.cancel_scope.cancel()
        return {
            "workers": workers,
            "orphans": len(orphans),
            "seconds_until_none": last_exit,
            "port_free": port_free(port),
        }
    finally:
        # Only what this round started: its own process group.
        if process.poll() is None or live_in_group(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            with trio.move_on_after(5) as waiting:
                waiting.shield = True
                await process.wait()


async def measure(rounds: int = ROUNDS) -> dict[str, Any]:
    """Run ``rounds`` rounds; the orphans counted in all of them, and each round."""
    with tempfile.TemporaryDirectory(prefix="wsactors-orphans-") as directory:
        app_dir = Path(directory)
        (app_dir / "echoapp.py").write_text(_APP)
        results = [await _round(app_dir) for _ in range(rounds)]
    return {"orphans": sum(r["orphans"] for r in results), "rounds": results}


def main() -> int:
    """Print the figure in one line; 0 when the goal is met, 1 when missed."""
    if not sys.platform.startswith("linux"):
        print("orphaned workers 6 s after kill -9 of the parent: skipped (Linux only)")
        return 0
    found = trio.run(measure)
    print(f"orphaned workers 6 s after kill -9 of the parent: {found['orphans']} (goal: 0)")
    return 0 if found["orphans"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
