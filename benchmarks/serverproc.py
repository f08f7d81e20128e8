"""Starting and stopping the servers under test: CPU pinning, a free port, waiting
until one listens, terminating it (and any other child process). Used by
:mod:`benchmarks.rounds` for :mod:`benchmarks.harness` (echo and push) and
:mod:`benchmarks.fanout`."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["free_port", "missing", "pinning", "stop", "wait_listening"]


def missing(requires: Iterable[str]) -> list[str]:
    """The importable names among ``requires`` that this interpreter cannot find."""
    return [name for name in requires if importlib.util.find_spec(name) is None]


def pinning() -> tuple[list[str], list[str]]:
    """Command prefixes pinning the server to CPU 0 and the load to CPU 1, if possible."""
    cpus = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if taskset is None or len(cpus) < 2:
        return [], []
    return [taskset, "-c", str(cpus[0])], [taskset, "-c", str(cpus[1])]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_listening(port: int, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once ``server`` accepts connections on ``port``.

    Raises:
        RuntimeError: it exited first, or ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server not listening on port {port} after {timeout:g} s")


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate a process this one started (SIGTERM); kill it if it lingers over
    10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
