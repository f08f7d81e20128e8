"""Request sizes around ``max_request_size`` (64 KiB): the status each one gets.

Sends WebSocket handshake requests of 63, 64, 65, 70, 98 and 126 KiB (request line
and headers, each header line 4 KiB so that websockets' own limits, 8 KiB a line
and 128 headers, never answer first), each in one write and in 512-byte writes,
to the native engine with its defaults. Goal: 101 up to 64 KiB, 431 beyond, for
both ways of sending; nothing over the limit gets a 101.
"""

from __future__ import annotations

import base64
import os
import socket
import sys

import trio

from ..rawclient import HOST
from ._common import native_server, report

__all__ = ["main", "request_of", "status_of"]

KIB = 1024
SIZES_KIB = (63, 64, 65, 70, 98, 126)
LIMIT = 64 * KIB  # NativeOptions.max_request_size's default
SMALL_WRITE = 512


def request_of(size: int, path: str = "/echo") -> bytes:
    """A valid WebSocket handshake request of exactly ``size`` bytes."""
    key = base64.b64encode(os.urandom(16)).decode()
    head = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    ).encode()
    padding: list[bytes] = []
    left = size - len(head) - 2  # the final CRLF
    index = 0
    while left > 0:
        name = f"X-Pad-{index}: ".encode()
        # 4 KiB lines; the last takes what is left (at least its name and CRLF).
        line_size = min(4 * KIB, left) if left - 4 * KIB >= 32 or left <= 4 * KIB else left - 64
        value = b"a" * max(line_size - len(name) - 2, 1)
        padding.append(name + value + b"\r\n")
        left -= len(padding[-1])
        index += 1
    request = head + b"".join(padding) + b"\r\n"
    if len(request) != size:
        raise AssertionError(f"built {len(request)} bytes, wanted {size}")
    return request


async def status_of(port: int, request: bytes, chunk: int | None) -> str:
    """Send ``request`` (in writes of ``chunk`` bytes, or one), return the status code
    of the answer (``"closed"`` when the server closed without one)."""
    stream = await trio.open_tcp_stream(HOST, port)
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answer = bytearray()

    async def write() -> None:
        try:
            if chunk is None:
                await stream.send_all(request)
                return
            for start in range(0, len(request), chunk):
                await stream.send_all(request[start : start + chunk])
                await trio.lowlevel.checkpoint()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return  # the server answered and closed before the end

    async def read(cancel: trio.CancelScope) -> None:
        try:
            while b"\r\n" not in answer:
                data = await stream.receive_some(4096)
                if not data:
                    break
                answer.extend(data)
        except trio.BrokenResourceError:
            pass
        cancel.cancel()

    with trio.move_on_after(10.0) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            nursery.start_soon(read, nursery.cancel_scope)
    await stream.aclose()
    if scope.cancelled_caught:
        return "timeout"
    line = bytes(answer).split(b"\r\n", 1)[0].split()
    return line[1].decode() if len(line) >= 2 else "closed"


async def _probe(port: int) -> dict[str, dict[str, str]]:
    results: dict[str, dict[str, str]] = {}
    for kib in SIZES_KIB:
        request = request_of(kib * KIB)
        results[f"{kib} KiB"] = {
            "one write": await status_of(port, request, None),
            f"{SMALL_WRITE}-byte writes": await status_of(port, request, SMALL_WRITE),
        }
    return results


def main() -> int:
    """Run the probe; 0 when every size got the status of its side of the limit."""
    with native_server() as server:
        results = trio.run(_probe, server.port)
    missed = []
    for kib, statuses in zip(SIZES_KIB, results.values(), strict=True):
        wanted = "101" if kib * KIB <= LIMIT else "431"
        missed += [f"{kib} KiB {how}: {got}" for how, got in statuses.items() if got != wanted]
    figure = ", ".join(
        f"{size} " + "/".join(statuses.values()) for size, statuses in results.items()
    )
    return report(
        "request_size",
        f"status (one write/{SMALL_WRITE}-byte writes): {figure}",
        not missed,
        "101 up to 64 KiB, 431 beyond",
        {"statuses": results, "limit": LIMIT, "missed": missed},
    )


if __name__ == "__main__":
    sys.exit(main())
