"""Several native-engine processes on one port (``workers=N``), with ``SO_REUSEPORT``.

The parent forks N workers (so the App object needs no import path); each binds its
own listening socket to the same port with ``SO_REUSEPORT`` (the kernel spreads new
connections across them), runs its own lifespan and drains on SIGTERM. The parent
serves nothing: it forwards SIGINT and SIGTERM to every worker, reports a worker
that exits unexpectedly, and returns once all have exited. Linux and the BSDs only
(``SO_REUSEPORT``, ``fork``).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any, cast

import trio

from .options import NativeOptions

__all__ = ["WorkersFailedError", "reuse_port_listeners", "run_workers"]

logger = logging.getLogger("wsactors.engine")


class WorkersFailedError(RuntimeError):
    """One or more worker processes exited with an error or were killed."""


async def reuse_port_listeners(host: str, port: int) -> list[trio.SocketListener]:
    """Listening sockets on ``host:port`` that other processes may bind too.

    Raises:
        OSError: the address could not be bound.
    """
    listeners: list[trio.SocketListener] = []
    for family, kind, proto, _, address in await trio.socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        sock = trio.socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            await sock.bind(address)
            sock.listen(socket.SOMAXCONN)
        except BaseException:
            sock.close()
            for listener in listeners:
                await listener.aclose()
            raise
        listeners.append(trio.SocketListener(sock))
    return listeners


def _pick_port(host: str) -> tuple[socket.socket, int]:
    """A free port for every worker: bound here with SO_REUSEPORT, never listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, 0))
    return holder, int(holder.getsockname()[1])


def _worker(serve: Callable[..., Any], app: Any, host: str, port: int, options: Any) -> None:
    # The parent's Python signal handlers survive fork: restore the defaults
    # before trio installs its own receiver.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    trio.run(serve, app, host, port, options)


def run_workers(
    serve: Callable[..., Any], app: Any, host: str, port: int, options: NativeOptions, workers: int
) -> None:
    """Run ``serve(app, host, port, options)`` in ``workers`` forked processes.

    Args:
        serve: The async function each worker runs (it binds with SO_REUSEPORT and
            stops on SIGINT or SIGTERM).
        app: The App.
        host: Interface to listen on.
        port: TCP port; 0 picks one free port for all workers.
        options: The engine's options.
        workers: How many processes (>= 2).

    Raises:
        WorkersFailedError: a worker exited with an error or was killed (the others
            went on serving until they were stopped).
    """
    context = multiprocessing.get_context("fork")
    holder: socket.socket | None = None
    if port == 0:
        holder, port = _pick_port(host)
    processes = [
        context.Process(
            target=_worker, args=(serve, app, host, port, options), name=f"wsactors-worker-{n}"
        )
        for n in range(workers)
    ]
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    failures: list[str] = []
    try:
        for process in processes:
            process.start()
        logger.info("started %d native-engine workers on port %d", workers, port)
        alive = {process.sentinel: process for process in processes}
        while alive:
            for sentinel in multiprocessing.connection.wait(list(alive), timeout=1.0):
                process = alive.pop(cast(int, sentinel))
                process.join()
                if process.exitcode != 0 or not stopping:
                    failure = (
                        f"worker {process.name} (pid {process.pid}) exited with code"
                        f" {process.exitcode}"
                    )
                    logger.error("%s; %d worker(s) left", failure, len(alive))
                    failures.append(failure)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if holder is not None:
            holder.close()
    if failures:
        raise WorkersFailedError("; ".join(failures))
