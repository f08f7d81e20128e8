"""What the reliability probes share: the server process, RSS, and the report.

Each probe starts its own server (:func:`native_server`: ``_server.py`` in a child
process on 127.0.0.1 and an OS-chosen port), measures one figure from outside it,
and ends with :func:`report`: one line on stdout, the details in
``artifacts/reliability/<name>.json``, and the exit code (1 when the goal is missed).
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from ..procstat import rss_bytes

__all__ = [
    "ARTIFACTS",
    "HOST",
    "MIB",
    "ServerProcess",
    "WsClient",
    "frame",
    "native_server",
    "percentile",
    "report",
    "settle",
    "upgrade_request",
    "ws_connect",
]

ARTIFACTS = Path("artifacts/reliability")
MIB = 1024 * 1024
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerProcess:
    """A running probe server: its process and port."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        """The server's resident set size, in bytes."""
        return rss_bytes(self.pid)


@contextlib.contextmanager
def native_server(startup: float = 30.0, **options: Any) -> Iterator[ServerProcess]:
    """Run ``_server.py`` with these native engine options; stop it on exit.

    Stops it with SIGTERM (its drain), then SIGKILL after 15 s; only this process,
    by its PID.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.reliability._server", "--options", json.dumps(options)],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], startup)
        line = process.stdout.readline().decode() if ready else ""
        if not line.startswith("listening "):
            raise RuntimeError(f"the probe server did not start within {startup:g} s: {line!r}")
        yield ServerProcess(process, int(line.split()[1]))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def settle(server: ServerProcess, seconds: float = 0.5) -> int:
    """Wait ``seconds``, then return the server's RSS (after a burst of work)."""
    time.sleep(seconds)
    return server.rss()


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank); ``nan`` when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(name: str, figure: str, ok: bool, goal: str, details: dict[str, Any]) -> int:
    """Print the probe's figure line, write its JSON, return its exit code."""
    verdict = "ok" if ok else "MISSED"
    print(f"{name}: {figure} (goal: {goal}) {verdict}", flush=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    record = {"probe": name, "figure": figure, "goal": goal, "ok": ok, **details}
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0 if ok else 1


# ----------------------------------------------------------------- a raw WebSocket client
# The probes speak the protocol by hand: they must be able to stop reading, flood
# control frames and leave messages unfinished, which no client library allows.
_KEY_REQUEST = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def upgrade_request(path: str) -> bytes:
    """A WebSocket handshake request for ``path``."""
    return _KEY_REQUEST.format(path=path).encode()


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """A client frame, masked with a zero key (RFC 6455 5.3: any key will do)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return head + b"\0\0\0\0" + payload


async def ws_connect(port: int, path: str, *, rcvbuf: int | None = None) -> WsClient:
    """Open a WebSocket to the probe server; ``rcvbuf`` sets ``SO_RCVBUF`` first
    (a small one makes a client that does not read stall the server sooner)."""
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await sock.connect((HOST, port))
    stream = trio.SocketStream(sock)
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await stream.send_all(upgrade_request(path))
    client = WsClient(stream)
    head = await client.read_until(b"\r\n\r\n")
    if b" 101 " not in head.partition(b"\r\n")[0]:
        raise RuntimeError(f"handshake for {path} refused: {head[:60]!r}")
    return client


class WsClient:
    """The client end of one connection: raw writes, and server frames read by hand."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._buffer = bytearray()

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self._buffer += data

    async def read_until(self, end: bytes) -> bytes:
        """Read up to and including ``end``."""
        while (found := self._buffer.find(end)) == -1:
            await self._fill()
        head = bytes(self._buffer[: found + len(end)])
        del self._buffer[: found + len(end)]
        return head

    async def read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            await self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def read_frame(self) -> tuple[int, bytes]:
        """The next server frame (unmasked, RFC 6455 5.1): ``(opcode, payload)``."""
        first, second = await self.read_exact(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.read_exact(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.read_exact(8))
        return first & 0x0F, await self.read_exact(size)
