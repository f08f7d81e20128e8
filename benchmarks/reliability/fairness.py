"""Fairness: control clients' echo round trips while thousands of connections close.

A native server with its defaults; a crowd process (``_crowd.py``) opens ``COUNT``
idle connections (9,900, fewer when the fd limit does not allow it), then 20
control clients echo 16-byte messages back to back on ``/echo``. After a second
of that, the crowd closes all its connections at once (a close frame 1000 on each,
then the sockets). The figure is the 99th percentile (and the maximum) of the
control round trips started from that moment for ``WINDOW`` seconds. Goal: p99
under 250 ms (the issue measured stalls of up to 2.4 s).
"""

from __future__ import annotations

import resource
import select
import subprocess
import sys
from typing import Any

import trio

from ..procstat import raise_nofile_limit
from ..rawclient import TEXT, frame, ws_connect
from ._common import ServerProcess, native_server, percentile, report

__all__ = ["main"]

WANTED = 9900
CONTROLS = 20
BASELINE = 1.0
WINDOW = 5.0
GOAL = 0.250
#: File descriptors kept free in each process beside the crowd's sockets.
_SPARE = 200


def crowd_size() -> int:
    """:data:`WANTED`, or fewer when the hard fd limit is lower (each process: the
    server and the crowd, hold one descriptor per connection)."""
    raise_nofile_limit()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(0, min(WANTED, soft - _SPARE))


async def _controls(
    server: ServerProcess, crowd: subprocess.Popen[bytes], how: str
) -> dict[str, Any]:
    samples: list[tuple[float, float]] = []  # (started, round trip)
    clients = [await ws_connect(server.port, "/echo") for _ in range(CONTROLS)]
    message = frame(TEXT, b"c" * 16)
    closing: list[float] = []

    pending: dict[int, float] = {}  # control -> when its round trip in flight began

    async def control(index: int) -> None:
        client = clients[index]
        while True:
            pending[index] = started = trio.current_time()
            await client.stream.send_all(message)
            await client.read_frame()
            samples.append((started, trio.current_time() - started))

    async with trio.open_nursery() as nursery:
        for index in range(CONTROLS):
            nursery.start_soon(control, index)
        await trio.sleep(BASELINE)
        assert crowd.stdin is not None
        assert crowd.stdout is not None
        closing.append(trio.current_time())
        crowd.stdin.write(b"close\n")
        crowd.stdin.flush()
        await trio.sleep(WINDOW)
        nursery.cancel_scope.cancel()
    # A round trip still in flight at the end counts with what it took so far.
    end = trio.current_time()
    samples.extend((began, end - began) for began in pending.values())
    line = await trio.to_thread.run_sync(crowd.stdout.readline)
    for client in clients:
        await client.stream.aclose()
    start = closing[0]
    during = [rtt for began, rtt in samples if began >= start]
    before = [rtt for began, rtt in samples if began < start]
    return {
        "how": how,
        "controls": CONTROLS,
        "round_trips_before": len(before),
        "round_trips_during": len(during),
        "p50_before": percentile(before, 0.5),
        "p99_before": percentile(before, 0.99),
        "p50_during": percentile(during, 0.5),
        "p99_during": percentile(during, 0.99),
        "max_during": max(during, default=float("nan")),
        # The slow round trips (over 50 ms): when they began after the close, and took.
        "slow": [(round(began - start, 3), round(rtt, 4)) for began, rtt in samples if rtt > 0.05][
            :500
        ],
        "crowd_close_seconds": float(line.split()[1]) if line.startswith(b"closed") else None,
    }


def measure(count: int, how: str = "frame") -> dict[str, Any]:
    """Open the crowd, run the controls, close the crowd; the figures."""
    with native_server() as server:
        crowd = subprocess.Popen(
            [
                sys.executable, "-m", "benchmarks.reliability._crowd",
                "--port", str(server.port), "--count", str(count), "--how", how,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert crowd.stdout is not None
            ready, _, _ = select.select([crowd.stdout], [], [], 120)
            line = crowd.stdout.readline() if ready else b""
            if not line.startswith(b"open"):
                raise RuntimeError(f"the crowd did not open its connections: {line!r}")
            return {"count": count, **trio.run(_controls, server, crowd, how)}
        finally:
            if crowd.stdin is not None:
                crowd.stdin.close()
            try:
                crowd.wait(10)
            except subprocess.TimeoutExpired:
                crowd.kill()
                crowd.wait()


def main() -> int:
    """Run the probe; 0 when the p99 during the close is under :data:`GOAL`."""
    count = crowd_size()
    result = measure(count)
    figure = (
        f"control echo p99 {result['p99_during'] * 1000:.0f} ms "
        f"(max {result['max_during'] * 1000:.0f} ms, {result['round_trips_during']:,} round "
        f"trips) while {count:,} connections close; before: p99 "
        f"{result['p99_before'] * 1000:.1f} ms"
    )
    ok = count >= WANTED and result["p99_during"] < GOAL
    if count < WANTED:
        figure += f" (fd limit: {count:,} of {WANTED:,} connections)"
    return report("fairness", figure, ok, "p99 < 250 ms with 9,900 closing", result)


if __name__ == "__main__":
    sys.exit(main())
