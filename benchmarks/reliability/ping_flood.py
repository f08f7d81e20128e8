"""RSS growth of the native server under a ping flood while the client does not read.

Two cases, each on a fresh server with the defaults (``send_timeout`` 30 s, so the
stalled write outlives the flood):

- **unread /push**: the server pushes 64 KiB messages to a client that never
  reads (a 4 KiB receive buffer); once its write is stalled, the client sends
  pings (125-byte payloads) for ``FLOOD_SECONDS``;
- **stalled /echo**: the client sends four messages of 1,000,000 bytes (within
  ``STALL_SECONDS``) and reads none of the echoes, which stalls the server's
  write, then sends pings for ``FLOOD_SECONDS``.

RSS is sampled every 0.2 s; the figure is the peak minus the RSS just before the
pings. RFC 6455 5.5.3 lets a server answer only the most recent ping, so the pongs
waiting for the socket need not grow with the pings. Goal: at most 32 MiB growth
in each case.
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from ..rawclient import BINARY, PING, frame, ws_connect
from ._common import MIB, ServerProcess, native_server, report

__all__ = ["main"]

FLOOD_SECONDS = 10.0
STALL_SECONDS = 3.0
ECHOED = 4
GOAL = 32 * MIB
_PINGS = frame(PING, b"p" * 125) * 64  # one write: 64 pings


async def _sample(server: ServerProcess, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], server.rss())
        await trio.sleep(0.2)


async def _flood(server: ServerProcess, path: str, stall_with_echo: bool) -> dict[str, Any]:
    client = await ws_connect(server.port, path, rcvbuf=4096)
    sent_before = 0
    if stall_with_echo:
        # A few large messages: their echoes stall the server's write, while its
        # inbox keeps room, so the server goes on reading what comes next.
        message = frame(BINARY, b"e" * 1_000_000)
        with trio.move_on_after(STALL_SECONDS):
            for _ in range(ECHOED):
                await client.stream.send_all(message)
                sent_before += len(message)
        await trio.sleep(1.0)
    else:
        await trio.sleep(1.0)  # the push fills the socket buffers; the write stalls
    before = server.rss()
    peak = [before]
    pings = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_sample, server, peak)
        with trio.move_on_after(FLOOD_SECONDS):
            while True:
                await client.stream.send_all(_PINGS)
                pings += 64
        nursery.cancel_scope.cancel()
    end = server.rss()
    await client.stream.aclose()
    await trio.sleep(1.0)
    return {
        "rss_before": before,
        "rss_peak": peak[0],
        "rss_end_of_flood": end,
        "rss_1s_after_close": server.rss(),
        "growth": peak[0] - before,
        "pings_sent": pings,
        "bytes_sent_before_pings": sent_before,
    }


def main() -> int:
    """Run both cases; 0 when neither grew more than :data:`GOAL`."""
    results: dict[str, dict[str, Any]] = {}
    for case, path, echo in (
        ("unread /push", "/push?size=65536", False),
        ("stalled /echo", "/echo", True),
    ):
        with native_server() as server:
            results[case] = trio.run(_flood, server, path, echo)
    figure = "; ".join(
        f"{case}: {r['rss_before'] / MIB:.0f} -> {r['rss_peak'] / MIB:.0f} MiB "
        f"(+{r['growth'] / MIB:.1f}, {r['pings_sent']:,} pings in {FLOOD_SECONDS:g} s, "
        f"{r['rss_1s_after_close'] / MIB:.0f} MiB after close)"
        for case, r in results.items()
    )
    ok = all(r["growth"] <= GOAL for r in results.values())
    return report("ping_flood", f"RSS {figure}", ok, "<= 32 MiB growth each", {"cases": results})


if __name__ == "__main__":
    sys.exit(main())
