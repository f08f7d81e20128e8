"""A real ``redis-server`` for the tests that need one (``redis`` marker, ``nox -s redis``).

:func:`started_redis` starts Debian's ``redis-server`` on 127.0.0.1 and a free
port, without persistence (``--save '' --appendonly no``), waits for PING, and
stops it by PID. Without the binary (or without coredis) the test skips, except
when ``CI=true``: there a missing Redis fails the run instead of passing it
silently. The ``redis_server`` and ``make_channels`` fixtures are defined here
and imported by the conftest.py of each folder that uses them (tests/channels,
tests/examples).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from helpers import DEADLINE
from wsactors import Channels

__all__ = ["NO_PERSISTENCE", "RedisServer", "make_channels", "redis_server", "started_redis"]

#: No RDB snapshots, no AOF: a restart starts empty, as a crashed cache would.
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


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


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing, and CI=true: the Redis tests must run in CI")
    pytest.skip(f"{what} is missing (apt-get install redis-server; pip install coredis)")


@asynccontextmanager
async def started_redis(log: Path) -> AsyncIterator[RedisServer]:
    """A redis-server for one test (skips, or fails with ``CI=true``, without one)."""
    try:
        import coredis  # noqa: F401
    except ImportError:
        _missing("coredis")
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server")
        raise AssertionError("unreachable")
    server = RedisServer(binary, log)
    try:
        await server.start()
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.thaw()  # a frozen server dies by SIGKILL too; this only tidies up
        server.kill()


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    async with started_redis(tmp_path / "redis.log") as server:
        yield server


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_channels(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[..., Channels]]:
    """``make_channels(**options)``: Channels on the memory backend or on a real Redis."""
    if request.param == "memory":
        yield lambda **options: Channels(**options)
        return
    async with started_redis(tmp_path / "redis.log") as server:
        from wsactors.channels import RedisBackend

        yield lambda **options: Channels(RedisBackend(server.url, connect_timeout=2), **options)
