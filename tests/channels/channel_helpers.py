"""Helpers of the Channels tests: a restartable redis-server, and polling with a deadline."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import trio

from helpers import DEADLINE

#: No RDB snapshots, no AOF: a restart starts empty, as a crashed cache would.
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds; the caller sets the deadline.

    The conditions are counters and flags of the code under test, which offers no
    event to wait on: polling every 5 ms is the honest way to watch them.
    """
    while not condition():  # noqa: ASYNC110
        await trio.sleep(0.005)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server process this test started; restartable on the same port."""

    def __init__(self, binary: str, log: Path) -> None:
        self.binary = binary
        self.port = _free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start the server and wait (at most 10 s) until it answers PING."""
        with self.log.open("ab") as log:
            # Popen returns at once (fork and exec); the wait for PING below is async.
            self.process = subprocess.Popen(  # noqa: ASYNC220
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", *NO_PERSISTENCE],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        with trio.fail_after(DEADLINE):
            while not await self._pong():
                assert self.process.poll() is None, self.log.read_text()
                await trio.sleep(0.02)

    async def _pong(self) -> bool:
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        except OSError:
            return False
        async with stream:
            await stream.send_all(b"PING\r\n")
            return (await stream.receive_some(64)).startswith(b"+PONG")

    def kill(self) -> None:
        """SIGKILL this server (by its PID) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets open and answers nothing."""
        assert self.process is not None
        self.process.send_signal(19)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(18)

    async def restart(self) -> None:
        self.kill()
        await self.start()
