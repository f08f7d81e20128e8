"""Memory per idle connection on the native engine, deterministically.

Runs the native server in this process (the ``wsactors_raw`` App: ``@websocket``
echo) and opens ``--connections`` idle WebSocket connections from a child process
that speaks a minimal handshake over blocking sockets (no client library, so the
child costs the server nothing but the sockets). Reports, per connection:

- with ``--tracemalloc`` (default): the Python heap growth, grouped by
  ``file:line`` (top ``--top``), from ``tracemalloc`` snapshots taken before and
  after (``gc.collect()`` first), after a warm-up that touched every code path;
- always: the server's RSS growth (``VmRSS``). tracemalloc's own bookkeeping
  inflates RSS, so compare RSS from runs with ``--no-tracemalloc``.

Usage::

    python -m benchmarks.memory_native --connections 500
    python -m benchmarks.memory_native --connections 2000 --no-tracemalloc

Unlike the load benchmark's idle phase (``benchmarks.loadgen``), nothing else runs
on the server while it measures, so two runs agree to a few bytes.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tracemalloc
from typing import Any

import trio

from .procstat import raise_nofile_limit, rss_bytes
from .rawclient import HOST, open_idle, upgrade_request

__all__ = ["main"]


def _client(port: int, count: int) -> None:
    """The child: open ``count`` connections, say ``ok``, hold them until stdin ends."""
    held = open_idle(port, upgrade_request("/echo", host=f"{HOST}:{port}"), count)
    print("ok", flush=True)
    sys.stdin.read()
    for sock in held:
        sock.close()


async def _hold(port: int, count: int, measure: Any) -> Any:
    """Run a child holding ``count`` connections; call ``measure()`` while they are open."""
    command = [sys.executable, "-m", "benchmarks.memory_native", "--client", str(port), str(count)]
    child = await trio.lowlevel.open_process(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        with trio.fail_after(120):
            got = b""
            while not got.endswith(b"\n"):
                chunk = await child.stdout.receive_some(16)
                if not chunk:
                    raise RuntimeError("the client failed")
                got += chunk
            await trio.sleep(0.5)  # let every connection reach its idle wait
            result = measure()
            await child.stdin.aclose()
            await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            with trio.CancelScope(shield=True):
                await child.wait()
    await trio.sleep(0.5)  # the server notices the closes
    return result


def _snapshot() -> tuple[tracemalloc.Snapshot | None, int]:
    gc.collect()
    snap = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
    return snap, rss_bytes(os.getpid())


async def _measure(args: argparse.Namespace) -> None:
    from wsactors.serving.native import NativeOptions, serve_native_async

    from .servers.wsactors_raw import app

    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve_native_async, app, HOST, 0, NativeOptions())
        port = int(binds[0].rsplit(":", 1)[1])
        await _hold(port, 50, lambda: None)  # warm-up: imports, caches, free lists
        before = _snapshot()
        after = await _hold(port, args.connections, _snapshot)
        nursery.cancel_scope.cancel()
    count = args.connections
    rss = (after[1] - before[1]) / count
    print(f"connections: {count}")
    print(f"RSS delta per connection: {rss / 1024:.1f} KiB ({rss:.0f} B)")
    if before[0] is None or after[0] is None:
        return
    if args.frames > 1:
        _by_caller(after[0].compare_to(before[0], "traceback"), count, args.top)
        return
    stats = after[0].compare_to(before[0], "lineno")
    total = sum(stat.size_diff for stat in stats)
    blocks = sum(stat.count_diff for stat in stats)
    print(
        f"tracemalloc delta per connection: {total / count / 1024:.2f} KiB "
        f"({total / count:.0f} B, {blocks / count:.1f} blocks)"
    )
    print(f"top {args.top} by size (bytes per connection, blocks per connection, where):")
    for stat in stats[: args.top]:
        frame = stat.traceback[0]
        where = f"{_short(frame.filename)}:{frame.lineno}"
        print(f"{stat.size_diff / count:8.0f} {stat.count_diff / count:6.1f}  {where}")


def _by_caller(stats: list[tracemalloc.StatisticDiff], count: int, top: int) -> None:
    """Group by the innermost wsactors line on each allocation's stack: what wsactors
    code caused it (through trio, websockets...), not where it was allocated."""
    groups: dict[str, list[int]] = {}
    for stat in stats:
        where = "(no wsactors frame)"
        for frame in reversed(stat.traceback):  # oldest first: start at the newest
            if "/wsactors/" in frame.filename:
                where = f"{_short(frame.filename)}:{frame.lineno}"
                break
        group = groups.setdefault(where, [0, 0])
        group[0] += stat.size_diff
        group[1] += stat.count_diff
    total = sum(size for size, _ in groups.values())
    print(f"tracemalloc delta per connection: {total / count:.0f} B")
    print(f"top {top} wsactors lines causing it (bytes/conn, blocks/conn, where):")
    ranked = sorted(groups.items(), key=lambda item: -item[1][0])
    for where, (size, blocks) in ranked[:top]:
        print(f"{size / count:8.0f} {blocks / count:6.1f}  {where}")


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main() -> None:
    """Command line entry point (see the module docstring)."""
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        _client(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--frames",
        type=int,
        default=1,
        help="stack depth kept; above 1, group by the innermost wsactors line",
    )
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    args = parser.parse_args()
    raise_nofile_limit()
    if args.tracemalloc:
        tracemalloc.start(args.frames)
    trio.run(_measure, args)


if __name__ == "__main__":
    main()
