"""Instructions per message, counted by ``valgrind --tool=callgrind`` on the server.

``python -m benchmarks.instructions [--only NAME,...]`` starts each benchmark server
(``benchmarks/servers``) under callgrind twice per workload, once for a short and
once for a long run of the same client, and reports the difference divided by the
extra messages: the cost of one echo round trip and of one pushed message, with
the start-up, the handshake and the shutdown cancelled out. Unlike timings on a
shared machine, the counts repeat to a few parts in ten thousand for the same code
whatever else the machine does, so they compare configurations that differ by a few
percent (metrics on and off: docs/observability.md).

The client is ``websockets``' sync client in this process: one connection, one
message at a time for the echo; for the push, the server's ``/push?n=N&size=64``
and the client reading every frame. Bounded: every wait has a deadline, and each
server is stopped with SIGTERM (then SIGKILL) by its PID.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
#: Benchmark server modules (benchmarks/servers) compared by default.
SERVERS = ("wsactors_raw", "wsactors_metrics", "wsactors_native", "wsactors_native_metrics")
#: (short, long) runs: the difference is what one message costs, times long - short.
ECHOES = (200, 1200)
PUSHES = (1000, 6000)
START_DEADLINE = 120.0  # python and hypercorn start slowly under callgrind
STOP_DEADLINE = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _connect(url: str) -> ClientConnection:
    deadline = time.monotonic() + START_DEADLINE
    while True:
        try:
            return connect(url, open_timeout=5, max_size=None)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _echo(port: int, count: int) -> None:
    with _connect(f"ws://{HOST}:{port}/echo") as ws:
        for _ in range(count):
            ws.send("x" * 64)
            ws.recv(timeout=30)


def _push(port: int, count: int) -> None:
    with _connect(f"ws://{HOST}:{port}/push?n={count}&size=64") as ws:
        for _ in range(count):
            ws.recv(timeout=60)


def count_instructions(server: str, workload: str, messages: int) -> int:
    """Instructions the server ran for one client session of ``messages`` messages."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            f"benchmarks.servers.{server}",
            "--port",
            str(port),
        ]
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            (_echo if workload == "echo" else _push)(port, messages)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        found = re.search(r"^summary: (\d+)$", out.read_text(), re.MULTILINE)
        if found is None:
            raise RuntimeError(f"no callgrind summary for {server} ({workload})")
        return int(found.group(1))


def per_message(server: str, workload: str) -> float:
    """Instructions per echo round trip or per pushed message."""
    short, long = ECHOES if workload == "echo" else PUSHES
    return (
        count_instructions(server, workload, long) - count_instructions(server, workload, short)
    ) / (long - short)


def main(argv: list[str] | None = None) -> int:
    """Print a table of instructions per message and write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", default="", help="comma-separated server modules")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench")
    args = parser.parse_args(argv)
    if subprocess.run(["valgrind", "--version"], capture_output=True).returncode != 0:
        print("valgrind is not installed: skipped", file=sys.stderr)
        return 0
    servers = [name for name in args.only.split(",") if name] or list(SERVERS)
    results: dict[str, dict[str, float]] = {}
    print("| server | instructions per echo | per pushed message |")
    print("| --- | ---: | ---: |")
    for server in servers:
        results[server] = {w: per_message(server, w) for w in ("echo", "push")}
        row = results[server]
        print(f"| {server} | {row['echo'] / 1000:.1f}k | {row['push'] / 1000:.1f}k |", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "instructions.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
