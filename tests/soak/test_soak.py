"""Soak: many connections over real sockets leave nothing behind.

- ``SOAK_CYCLES`` (default 10,000) connect / send / receive / disconnect cycles from
  ``SOAK_WORKERS`` (default 8) concurrent clients. Afterwards the live Trio tasks and
  open file descriptors are back to their baseline, and RSS grew less than a small
  tolerance between the middle and the end of the run (a leak of a few hundred bytes
  per connection would show).
- ``SOAK_IDLE`` (default 2,000) idle connections held at once, then all closed
  cleanly; RSS per idle connection is measured and printed.

The LiveServer runs in the test's own Trio run, so the client and the server share
the process: the task count covers both (hypercorn's and wsactors' tasks per
connection, trio-websocket's reader task per client), and the RSS figures are client
plus server. ``test_server_rss_per_idle_connection`` serves from a subprocess
(``python -m wsactors run``) to measure the server alone.

The figures measured on the reference machine are in docs/limits-and-security.md.
"""

from __future__ import annotations

import gc
import os
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from helpers import DEADLINE, live_tasks, port_from_log
from wsactors import App, websocket_listener
from wsactors.testing import LiveServer, open_client

# Deselected from the default run (pyproject addopts): `nox -s soak` runs it.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.soak]

CYCLES = int(os.environ.get("SOAK_CYCLES", "10000"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "8"))
IDLE = int(os.environ.get("SOAK_IDLE", "2000"))
# Thousands of connections take minutes, not seconds: thirty times the usual bound.
SOAK_DEADLINE = float(os.environ.get("SOAK_DEADLINE", 30 * DEADLINE))
OPENING = 50  # handshakes in flight at once (hypercorn's listen backlog is 100)

# Tolerances (see the module docstring and docs/limits-and-security.md).
RSS_GROWTH_KIB = 4 * 1024  # second half of the cycles vs. the first: < 4 MiB
SETTLE = 10.0  # seconds the server may take to finish the last closes


# --------------------------------------------------------------------- measurements
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib(pid: int | str = "self") -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert found, status
    return int(found.group(1))


@dataclass(frozen=True)
class Snapshot:
    tasks: int
    fds: int
    rss_kib: int

    def __str__(self) -> str:
        return f"tasks={self.tasks} fds={self.fds} rss={self.rss_kib / 1024:.1f} MiB"


def snapshot() -> Snapshot:
    gc.collect()
    return Snapshot(live_tasks(), open_fds(), rss_kib())


async def settled(app: App, target: Snapshot | None = None) -> Snapshot:
    """A snapshot once the server has no connection left and, with a ``target``, the
    tasks and fds are back to it (else: they stopped changing). After ``SETTLE``
    seconds, whatever it is then."""
    previous = None
    with trio.move_on_after(SETTLE):
        while True:
            now = snapshot()
            if len(app.connections) == 0:
                if target is None and previous is not None and previous[:2] == (now.tasks, now.fds):
                    return now
                if target is not None and (now.tasks, now.fds) <= (target.tasks, target.fds):
                    return now
                previous = (now.tasks, now.fds)
            await trio.sleep(0.1)
    return snapshot()


@contextmanager
def nofile_soft_limit_raised() -> Iterator[int]:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit for the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        yield hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --------------------------------------------------------------------- client
# --------------------------------------------------------------------- the app
@websocket_listener("/soak")
async def soak_echo(data: str) -> str:
    return data


def make_app() -> App:
    return App([soak_echo])


async def run_cycles(server: LiveServer, first: int, count: int, workers: int) -> None:
    """``count`` connect/send/receive/close cycles, ``workers`` at a time."""
    numbers = iter(range(first, first + count))

    async def worker() -> None:
        for n in numbers:  # shared: each number is taken by one worker
            async with open_client(server.host, server.port, "/soak") as ws:
                await ws.send_message(f"cycle {n}")
                assert await ws.get_message() == f"cycle {n}"
            assert ws.closed is not None
            assert ws.closed.code == 1000

    async with trio.open_nursery() as nursery:
        for _ in range(workers):
            nursery.start_soon(worker)


# --------------------------------------------------------------------- cycles
@pytest.mark.engine("hypercorn", reason="one engine keeps nox -s soak within its CI budget")
@pytest.mark.usefixtures("live_engine")
async def test_connect_send_disconnect_cycles_leave_nothing_behind() -> None:
    app = make_app()
    warmup = min(500, CYCLES // 10)
    half = (CYCLES - warmup) // 2
    with trio.fail_after(SOAK_DEADLINE), nofile_soft_limit_raised():
        async with LiveServer(app) as server:
            await run_cycles(server, 0, warmup, WORKERS)  # caches, free lists, arenas
            before = await settled(app)
            started = trio.current_time()
            await run_cycles(server, warmup, half, WORKERS)
            middle = await settled(app, before)
            await run_cycles(server, warmup + half, CYCLES - warmup - half, WORKERS)
            took = trio.current_time() - started
            after = await settled(app, before)
    done = CYCLES - warmup
    print(
        f"\nsoak: {done} cycles in {took:.1f} s ({done / took:.0f} per second, "
        f"{WORKERS} workers, plus {warmup} warm-up)\n  before: {before}\n  middle: {middle}"
        f"\n  after:  {after}"
    )
    assert len(app.connections) == 0
    assert after.tasks == before.tasks
    assert after.fds == before.fds
    assert after.rss_kib - middle.rss_kib < RSS_GROWTH_KIB, (middle, after)


# --------------------------------------------------------------------- idle connections
async def hold_idle(
    host: str,
    port: int,
    count: int,
    opening: trio.Semaphore,
    opened: list[int],
    release: trio.Event,
) -> list[int]:
    """Open ``count`` idle connections, wait for ``release``, close them all; the close
    codes the server answered the clients' closes with."""
    codes: list[int] = []
    all_open = trio.Event()

    async def one() -> None:
        await opening.acquire()
        acquired = True
        try:
            async with open_client(host, port, "/soak") as ws:
                opening.release()
                acquired = False
                opened.append(1)
                if len(opened) == count:
                    all_open.set()
                await release.wait()
            assert ws.closed is not None
            codes.append(ws.closed.code)
        finally:
            if acquired:
                opening.release()

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)
    return codes


@pytest.mark.engine("hypercorn", reason="one engine keeps nox -s soak within its CI budget")
@pytest.mark.usefixtures("live_engine")
async def test_two_thousand_idle_connections_then_all_closed_cleanly() -> None:
    app = make_app()
    opened: list[int] = []
    release = trio.Event()
    codes: list[int] = []
    with trio.fail_after(SOAK_DEADLINE), nofile_soft_limit_raised() as nofile:
        assert nofile >= 2 * IDLE + 100, f"RLIMIT_NOFILE hard limit {nofile} is too low"
        async with LiveServer(app) as server:
            await run_cycles(server, 0, 200, WORKERS)  # warm up
            before = await settled(app)

            async def clients() -> None:
                codes.extend(
                    await hold_idle(
                        server.host, server.port, IDLE, trio.Semaphore(OPENING), opened, release
                    )
                )

            async with trio.open_nursery() as nursery:
                nursery.start_soon(clients)
                while len(opened) < IDLE or len(app.connections) < IDLE:  # noqa: ASYNC110
                    await trio.sleep(0.05)
                await trio.sleep(0.5)
                held = snapshot()
                release.set()
            after = await settled(app, before)
    per_connection = (held.rss_kib - before.rss_kib) / IDLE
    print(
        f"\nidle: {IDLE} connections held\n  before: {before}\n  held:   {held}\n  after:  {after}"
        f"\n  RSS per idle connection, client + server in one process: {per_connection:.1f} KiB"
        f"\n  tasks per connection, client + server: {(held.tasks - before.tasks) / IDLE:.1f}"
        f"\n  fds per connection, client + server: {(held.fds - before.fds) / IDLE:.1f}"
    )
    assert held.fds - before.fds == 2 * IDLE  # one socket at each end
    assert codes == [1000] * IDLE
    assert len(app.connections) == 0
    assert after.tasks == before.tasks
    assert after.fds == before.fds
    assert per_connection < 256, per_connection  # KiB; far above the measured figure


# --------------------------------------------------------------------- the server alone
FIXTURE_APP = Path(__file__).parent / "soak_app.py"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
async def test_server_rss_per_idle_connection(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "wsactors", "run", "soak_app:app", "--port", "0"],
            cwd=FIXTURE_APP.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    opened: list[int] = []
    release = trio.Event()
    try:
        with trio.fail_after(SOAK_DEADLINE), nofile_soft_limit_raised():
            port = await port_from_log(log_path, process)
            # Warm the server up, then measure it alone.
            for n in range(100):
                async with open_client("127.0.0.1", port, "/soak") as ws:
                    await ws.send_message(f"warm {n}")
                    await ws.get_message()
            await trio.sleep(0.5)
            before = rss_kib(process.pid)
            async with trio.open_nursery() as nursery:

                async def clients() -> None:
                    await hold_idle(
                        "127.0.0.1", port, IDLE, trio.Semaphore(OPENING), opened, release
                    )

                nursery.start_soon(clients)
                while len(opened) < IDLE:  # noqa: ASYNC110
                    await trio.sleep(0.05)
                await trio.sleep(1.0)
                held = rss_kib(process.pid)
                release.set()
    finally:
        if process.returncode is None:
            process.terminate()  # only the process this test started
            with trio.move_on_after(10):
                await process.wait()
        if process.returncode is None:
            process.kill()
            with trio.move_on_after(5):
                await process.wait()
    per_connection = (held - before) / IDLE
    print(
        f"\nserver alone: RSS {before / 1024:.1f} MiB -> {held / 1024:.1f} MiB with {IDLE}"
        f" idle connections: {per_connection:.1f} KiB per connection"
    )
    assert per_connection < 128, per_connection  # KiB; far above the measured figure
    assert process.returncode == 0, log_path.read_text()
