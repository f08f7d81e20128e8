"""The load generator: drives one server with the ``websockets`` asyncio client.

Run by the harness as ``python -m benchmarks.loadgen --url ws://127.0.0.1:PORT
--server-pid PID ...`` on its own CPU; prints progress to stderr and one JSON object
(the figures of every phase) to stdout. The ``websockets`` client spends about a
third of the CPU per message of trio-websocket's, so the server stays the
bottleneck. Compression and keepalive pings are off: they are not what is measured.

Phases, in this order (the idle one first, so its memory delta is not blurred by
what the others left in the allocator):

``idle``
    Open ``--idle`` connections to ``/echo`` and leave them idle; server RSS after
    minus before, divided by the count.
``echo50`` / ``echo1``
    ``--connections`` (then 1) clients each send a message, await the echo, repeat;
    after ``--warmup`` seconds, round trips and their latencies are recorded for
    ``--duration`` seconds.
``push``
    One connection asks ``/push`` for ``--push-count`` messages of ``--size`` bytes;
    messages per second from connect to the server's close. A raw socket that only
    counts frames reads them (:mod:`benchmarks.pushreader`): a client library would
    be slower than the fastest servers.

Every phase reads the server's CPU time (utime + stime) at its window's start and
end, giving server CPU microseconds per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .procstat import cpu_seconds, raise_nofile_limit, rss_bytes
from .pushreader import receive_pushed
from .rounds import Option, add_options, client_parser

__all__ = ["OPTIONS", "main"]

#: The options :mod:`benchmarks.harness` takes and hands on.
OPTIONS = (
    Option("duration", float, 3.0, "seconds per echo phase"),
    Option("warmup", float, 1.0, "seconds before measuring"),
    Option("connections", int, 50, "echo connections"),
    Option("size", int, 64, "message size in bytes"),
    Option("push_count", int, 100_000, "pushed messages"),
    Option("idle", int, 2000, "idle connections"),
)

#: Handshakes in flight at once: below hypercorn's default listen backlog (100).
_CONNECT_CONCURRENCY = 50


#: New handshakes timed while the idle connections are held.
HANDSHAKES = 200


def _log(text: str) -> None:
    print(f"    {text}", file=sys.stderr, flush=True)


async def _connect(url: str) -> ClientConnection:
    return await connect(
        url,
        compression=None,
        ping_interval=None,
        proxy=None,
        open_timeout=30,
        close_timeout=5,
        max_size=None,
    )


async def _open_many(url: str, count: int) -> list[ClientConnection]:
    gate = asyncio.Semaphore(_CONNECT_CONCURRENCY)

    async def one() -> ClientConnection:
        async with gate:
            return await _connect(url)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _close_many(sockets: Sequence[ClientConnection]) -> None:
    gate = asyncio.Semaphore(_CONNECT_CONCURRENCY * 2)

    async def one(ws: ClientConnection) -> None:
        async with gate:
            await ws.close()

    await asyncio.gather(*(one(ws) for ws in sockets), return_exceptions=True)


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass
class _Window:
    """The measured part of a phase, after the warm-up."""

    start: float
    end: float
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    own_cpu_start: float = 0.0
    own_cpu_end: float = 0.0


async def echo_phase(
    url: str, pid: int, connections: int, warmup: float, duration: float, size: int
) -> dict[str, Any]:
    """Closed-loop echo on ``connections`` sockets; round trips/s, latency, server CPU."""
    sockets = await _open_many(f"{url}/echo", connections)
    payload = "x" * size
    now = time.perf_counter()
    window = _Window(start=now + warmup, end=now + warmup + duration)
    latencies: list[float] = []

    async def client(ws: ClientConnection) -> None:
        while True:
            sent = time.perf_counter()
            await ws.send(payload)
            reply = await ws.recv()
            done = time.perf_counter()
            if reply != payload:
                raise RuntimeError(f"echo mismatch: {reply!r:.80}")
            if done > window.end:
                return
            if done >= window.start:
                latencies.append(done - sent)

    async def sample_cpu() -> None:
        await asyncio.sleep(window.start - time.perf_counter())
        window.cpu_start = cpu_seconds(pid)
        window.own_cpu_start = time.process_time()
        await asyncio.sleep(window.end - time.perf_counter())
        window.cpu_end = cpu_seconds(pid)
        window.own_cpu_end = time.process_time()

    try:
        async with asyncio.timeout(warmup + duration + 30):
            await asyncio.gather(sample_cpu(), *(client(ws) for ws in sockets))
    finally:
        await _close_many(sockets)
    latencies.sort()
    count = len(latencies)
    cpu = window.cpu_end - window.cpu_start
    own_cpu = window.own_cpu_end - window.own_cpu_start
    return {
        "connections": connections,
        "round_trips": count,
        "seconds": duration,
        "round_trips_per_s": count / duration,
        "p50_us": _percentile(latencies, 0.50) * 1e6,
        "p99_us": _percentile(latencies, 0.99) * 1e6,
        "server_cpu_s": cpu,
        "server_cpu_us_per_msg": cpu / count * 1e6 if count else float("nan"),
        "server_busy": cpu / duration,
        "client_busy": own_cpu / duration,
    }


async def push_phase(url: str, pid: int, count: int, size: int) -> dict[str, Any]:
    """One connection receives ``count`` pushed messages; messages/s and server CPU.

    The messages are counted by :mod:`benchmarks.pushreader` (a raw socket), not by
    the ``websockets`` client: the server must be the bottleneck.
    """
    cpu_start = cpu_seconds(pid)
    own_cpu_start = time.process_time()
    started = time.perf_counter()
    async with asyncio.timeout(120):
        await receive_pushed(url, count, size)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_start
    own_cpu = time.process_time() - own_cpu_start
    return {
        "messages": count,
        "seconds": elapsed,
        "messages_per_s": count / elapsed,
        "server_cpu_s": cpu,
        "server_cpu_us_per_msg": cpu / count * 1e6,
        "server_busy": cpu / elapsed,
        "client_busy": own_cpu / elapsed,
    }


async def idle_phase(url: str, pid: int, count: int, settle: float) -> dict[str, Any]:
    """Hold ``count`` idle connections; server RSS per connection (and handshake cost)."""
    rss_before = rss_bytes(pid)
    cpu_start = cpu_seconds(pid)
    started = time.perf_counter()
    sockets = await _open_many(f"{url}/echo", count)
    opened = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_start
    try:
        await asyncio.sleep(settle)
        rss_after = rss_bytes(pid)
        # With all of them held: how long a new client waits for its handshake,
        # one after another (each opened, answered with 101, then closed).
        waits: list[float] = []
        for _ in range(HANDSHAKES):
            begun = time.perf_counter()
            ws = await _connect(f"{url}/echo")
            waits.append(time.perf_counter() - begun)
            await ws.close()
        waits.sort()
    finally:
        await _close_many(sockets)
    return {
        "handshakes": len(waits),
        "handshake_p50_ms": _percentile(waits, 0.50) * 1e3,
        "handshake_p99_ms": _percentile(waits, 0.99) * 1e3,
        "connections": count,
        "rss_before_bytes": rss_before,
        "rss_after_bytes": rss_after,
        "rss_bytes_per_conn": (rss_after - rss_before) / count,
        "connects_per_s": count / opened,
        "server_cpu_us_per_connect": cpu / count * 1e6,
    }


async def warm_up(url: str, pid: int, size: int) -> None:
    """Touch every code path once so imports and caches are not measured."""
    sockets = await _open_many(f"{url}/echo", 4)
    try:
        for ws in sockets:
            for _ in range(100):
                await ws.send("x" * size)
                await ws.recv()
    finally:
        await _close_many(sockets)
    await push_phase(url, pid, 1000, size)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """All phases against one server; the result the harness reads."""
    url: str = args.url
    pid: int = args.server_pid
    await warm_up(url, pid, args.size)
    results: dict[str, Any] = {}
    _log(f"idle: {args.idle} connections")
    results["idle"] = await idle_phase(url, pid, args.idle, args.settle)
    _log(f"echo: {args.connections} connections, {args.duration:g} s")
    results["echo50"] = await echo_phase(
        url, pid, args.connections, args.warmup, args.duration, args.size
    )
    _log(f"echo: 1 connection, {args.duration:g} s")
    results["echo1"] = await echo_phase(url, pid, 1, args.warmup, args.duration, args.size)
    _log(f"push: {args.push_count} messages of {args.size} bytes")
    results["push"] = await push_phase(url, pid, args.push_count, args.size)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run every phase, print the JSON result."""
    parser = client_parser(__doc__)
    add_options(parser, OPTIONS)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before reading RSS")
    args = parser.parse_args(argv)
    raise_nofile_limit()
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
