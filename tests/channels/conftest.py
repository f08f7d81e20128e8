"""Fixtures of the Channels tests: a real ``redis-server`` and Channels on either backend.

``redis_server`` starts Debian's ``redis-server`` on 127.0.0.1 and a free port,
without persistence (``--save '' --appendonly no``), waits for PING, and stops it
by PID. Without the binary (or without coredis) the Redis tests skip, except when
``CI=true``: there a missing Redis fails the run instead of passing it silently.
Redis tests carry the ``redis`` marker and run in ``nox -s redis``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from channel_helpers import RedisServer

from wsactors import Channels


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
