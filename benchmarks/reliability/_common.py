"""What the reliability probes share: the server process, RSS, and the report.

Each probe starts its own server (:func:`native_server`: ``_server.py`` in a child
process on 127.0.0.1 and an OS-chosen port), measures one figure from outside it,
and ends with :func:`report`: one line on stdout, the details in
``artifacts/reliability/<name>.json``, and the exit code (1 when the goal is missed).
The probes speak to the server with :mod:`benchmarks.rawclient`.
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..procstat import rss_bytes

__all__ = [
    "ARTIFACTS",
    "MIB",
    "ServerProcess",
    "native_server",
    "percentile",
    "report",
    "settle",
]

ARTIFACTS = Path("artifacts/reliability")
MIB = 1024 * 1024


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
