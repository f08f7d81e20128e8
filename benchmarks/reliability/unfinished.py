"""Server RSS while 200 connections each hold an unfinished 1 MiB message.

Each client opens ``/hold`` and sends the first fragment of a binary message, 1 MiB
less 64 bytes (the default ``max_message_size`` is 1 MiB), and never the rest: the
server must keep what it received until the message ends or the connection does.
The server runs with its defaults. The figure is the RSS growth once the last
fragment was read (the RSS stops moving), and the RSS after the clients closed.
Goal: at most 128 MiB growth for the 200 (the issue's server-wide bound).
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from ..rawclient import BINARY, WsClient, frame, ws_connect
from ._common import MIB, ServerProcess, native_server, report

__all__ = ["main"]

CONNECTIONS = 200
FRAGMENT = MIB - 64
GOAL = 128 * MIB
#: Seconds the clients may take to open and send their fragments.
SENDING = 20.0


async def _steady_rss(server: ServerProcess, seconds: float = 10.0) -> int:
    """The server's RSS once two samples 0.5 s apart agree within 1 MiB (at most
    ``seconds``)."""
    last = server.rss()
    with trio.move_on_after(seconds):
        while True:
            await trio.sleep(0.5)
            now = server.rss()
            if abs(now - last) < MIB:
                return now
            last = now
    return server.rss()


async def _probe(server: ServerProcess) -> dict[str, Any]:
    warm = await ws_connect(server.port, "/hold")
    await warm.stream.aclose()
    before = await _steady_rss(server, 2.0)
    fragment = frame(BINARY, b"u" * FRAGMENT, fin=False)
    clients: list[WsClient] = []

    limit = trio.CapacityLimiter(20)  # handshakes in flight
    sent = 0  # fragments the server took whole
    refused = 0  # connections the server closed or refused meanwhile

    async def one() -> None:
        nonlocal sent, refused
        try:
            async with limit:
                client = await ws_connect(server.port, "/hold")
            clients.append(client)
            await client.stream.send_all(fragment)
            sent += 1
        except (OSError, EOFError, RuntimeError, trio.BrokenResourceError):
            refused += 1

    # A server that stops reading unfinished messages past a budget (TCP pushes
    # back) leaves some sends blocked: they are measured as they are after SENDING.
    with trio.move_on_after(SENDING):
        async with trio.open_nursery() as nursery:
            for _ in range(CONNECTIONS):
                nursery.start_soon(one)
    held = await _steady_rss(server)
    for client in clients:
        await client.stream.aclose()
    after = await _steady_rss(server, 3.0)
    return {
        "rss_before": before,
        "rss_holding": held,
        "rss_after_close": after,
        "growth": held - before,
        "per_connection": (held - before) / CONNECTIONS,
        "fragments_sent_whole": sent,
        "connections_refused_or_closed": refused,
    }


def main() -> int:
    """Run the probe; 0 when the growth is at most :data:`GOAL`."""
    with native_server() as server:
        result = trio.run(_probe, server)
    figure = (
        f"RSS {result['rss_before'] / MIB:.0f} -> {result['rss_holding'] / MIB:.0f} MiB "
        f"(+{result['growth'] / MIB:.0f} MiB, {result['per_connection'] / MIB:.2f} MiB per "
        f"connection) with {CONNECTIONS} unfinished 1 MiB messages "
        f"({result['fragments_sent_whole']} sent whole, "
        f"{result['connections_refused_or_closed']} refused or closed); "
        f"{result['rss_after_close'] / MIB:.0f} MiB after they closed"
    )
    return report("unfinished", figure, result["growth"] <= GOAL, "<= 128 MiB growth", {**result})


if __name__ == "__main__":
    sys.exit(main())
