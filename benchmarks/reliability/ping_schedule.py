"""The keepalive ping schedule of the native engine, seen by a client that answers.

A server with ``ping_interval=1`` and ``ping_timeout=2``; the client opens
``/hold``, answers every ping at once with its pong (RFC 6455 5.5.2-5.5.3) and
records when each ping arrives, for ``SECONDS``. Goal: a ping every
``ping_interval`` (each interval within 1.25 s; ``max(interval, timeout)``, 2 s
here, is the defect of issue 19).
"""

from __future__ import annotations

import itertools
import statistics
import sys
from typing import Any

import trio

from ..rawclient import PING, PONG, frame, ws_connect
from ._common import ServerProcess, native_server, report

__all__ = ["main"]

INTERVAL = 1.0
TIMEOUT = 2.0
SECONDS = 7.5
#: The longest interval that counts as "every ping_interval" (timer and scheduling
#: slack included).
TOLERANCE = 1.25


async def _probe(server: ServerProcess) -> dict[str, Any]:
    client = await ws_connect(server.port, "/hold")
    arrivals: list[float] = []
    with trio.move_on_after(SECONDS):
        while True:
            opcode, payload = await client.read_frame()
            if opcode == PING:
                arrivals.append(trio.current_time())
                await client.stream.send_all(frame(PONG, payload))
    await client.stream.aclose()
    intervals = [b - a for a, b in itertools.pairwise(arrivals)]
    return {"pings": len(arrivals), "intervals": [round(i, 3) for i in intervals]}


def main() -> int:
    """Run the probe; 0 when every interval is at most :data:`TOLERANCE` seconds."""
    with native_server(ping_interval=INTERVAL, ping_timeout=TIMEOUT) as server:
        result = trio.run(_probe, server)
    intervals: list[float] = result["intervals"]
    ok = len(intervals) >= 3 and max(intervals) <= TOLERANCE
    figure = (
        f"ping_interval={INTERVAL:g} s, ping_timeout={TIMEOUT:g} s: {result['pings']} pings in "
        f"{SECONDS:g} s, intervals median {statistics.median(intervals or [0]):.2f} s, "
        f"max {max(intervals or [0]):.2f} s"
    )
    return report(
        "ping_schedule",
        figure,
        ok,
        f"every ping_interval (each interval <= {TOLERANCE:g} s)",
        {**result, "ping_interval": INTERVAL, "ping_timeout": TIMEOUT},
    )


if __name__ == "__main__":
    sys.exit(main())
