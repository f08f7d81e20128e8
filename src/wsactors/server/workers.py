"""Several native-engine processes on one port (``workers=N``), with ``SO_REUSEPORT``.

Theory of operation. The parent forks N workers (so the App object needs no import
path); each binds its own listening socket to the same port with ``SO_REUSEPORT``
(the kernel spreads new connections across them), runs its own lifespan and drains
on SIGTERM or SIGINT. The parent serves nothing; it supervises:

- **Stop.** SIGINT or SIGTERM to the parent is forwarded (as SIGTERM) to every
  worker; the parent waits until all of them drained and exited, then returns. A
  signal a worker receives twice (the parent's forward and the terminal's or the
  service manager's own) still stops it once, cleanly.
- **The parent dies**, however (kill -9 included): every worker drains and exits, so
  no orphan keeps the port. Two things tell a worker, whichever comes first: on Linux
  the kernel sends it SIGTERM (``prctl(PR_SET_PDEATHSIG)``); everywhere, a pipe from
  the parent, which the parent never writes, reads end of file once the parent is
  gone. A parent that died before the worker asked the kernel is seen by
  ``os.getppid()`` checked after asking.
- **A worker dies** while the server is not stopping: the parent logs one line and
  starts another in its place after a backoff (:class:`RestartBackoff`: 0.5 s, doubled
  for each rapid failure in a row, one within :data:`STABLE_AFTER` seconds of its
  start or before it served). At the :data:`MAX_RAPID_FAILURES`-th rapid failure in a
  row of one worker, the parent gives up: it stops the others and raises.
- **A worker fails to start** (exits before it served, the first time): the cause
  (the address, the App's startup) would stop every restart too, so the parent stops
  the others and raises at once.

Linux and the BSDs only (``SO_REUSEPORT``, ``fork``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import trio

from ..groups import sole_leaf
from .options import NativeOptions

__all__ = [
    "MAX_RAPID_FAILURES",
    "RESTART_DELAY",
    "STABLE_AFTER",
    "RestartBackoff",
    "WorkersFailedError",
    "reuse_port_listeners",
    "run_workers",
]

logger = logging.getLogger("wsactors.engine")

#: Seconds before a worker that died is replaced; doubled for each rapid failure in a
#: row (0.5 s after a worker that served a while, then 1, 2, 4 and 8 s).
RESTART_DELAY = 0.5
#: A worker that dies sooner than this many seconds after its start (or before it
#: served) failed rapidly.
STABLE_AFTER = 10.0
#: Rapid failures in a row of one worker after which the parent gives up.
MAX_RAPID_FAILURES = 5

#: The signals that stop the server (the parent's and each worker's).
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})

#: An engine's async serve: ``await serve(app, host, port, options, shutdown_trigger=...,
#: reuse_port=True, task_status=...)``, reporting through ``task_status`` once listening.
Serve = Callable[..., Awaitable[None]]


class WorkersFailedError(RuntimeError):
    """Workers could not serve: one failed to start, one kept failing right after its
    restarts, or one did not exit cleanly after the stop."""


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


# -- the worker's side ---------------------------------------------------------------


@dataclass(frozen=True)
class _WorkerPlan:
    """What a forked worker needs to know of its parent."""

    slot: int
    parent_pid: int
    #: The read end of the pipe only the parent holds open for writing.
    parent_alive: int
    #: The parent's own descriptors, closed at once in the worker (the write end of
    #: ``parent_alive`` among them: held here, it would never read end of file).
    parent_only: tuple[int, ...]
    #: One byte per slot, shared with the parent: set once the worker listens.
    served: Any


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent exits.

    Elsewhere, or if the call fails, nothing: the pipe from the parent still tells.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signum), 0, 0, 0) != 0
    except (OSError, AttributeError):
        failed = True
    if failed:
        logger.debug("prctl(PR_SET_PDEATHSIG) unavailable: the parent's pipe alone tells")


def _worker(serve: Serve, app: Any, host: str, port: int, options: Any, plan: _WorkerPlan) -> None:
    """A worker process's body: serve until a stop signal or the parent's death.

    It starts with SIGINT and SIGTERM blocked (the parent blocks them across the
    fork, so that its own handler never runs here). A stop asked before Trio's
    receiver is in place is kept in ``early``; so is one Trio redelivers after its
    receiver closed (a second SIGTERM during the drain), which then does nothing.
    """
    early: list[str] = []

    def keep(signum: int, frame: FrameType | None) -> None:
        early.append(f"received {signal.Signals(signum).name}")

    for fd in plan.parent_only:
        os.close(fd)
    for signum in STOP_SIGNALS:
        signal.signal(signum, keep)
    _die_with_parent(signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    # Checked after prctl: a parent that dies from now on is signalled by the kernel.
    if os.getppid() != plan.parent_pid:
        early.append(f"the parent process (pid {plan.parent_pid}) exited")
    try:
        try:
            trio.run(_serve_worker, serve, app, host, port, options, plan, early)
        except BaseExceptionGroup as group:
            raise (sole_leaf(group) or group) from None
    except (OSError, RuntimeError) as exc:
        # What one process reports in one line (the address taken, the App's startup
        # failed: the App logged its traceback), a worker does too; exit code 1.
        name = multiprocessing.current_process().name
        logger.error("worker %s (pid %d) could not serve: %s", name, os.getpid(), exc)
        sys.exit(1)


async def _serve_worker(
    serve: Serve, app: Any, host: str, port: int, options: Any, plan: _WorkerPlan, early: list[str]
) -> None:
    """Serve until SIGINT, SIGTERM or the parent's death; then drain (``serve``'s
    shutdown) and return.

    A stop asked before the server listens takes effect once it listens (as with one
    process); one asked before this function started serves nothing.

    Cancellation:
        The root of the worker's Trio run: nothing cancels it but its own stop.
    """
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        if early:
            logger.info("%s before serving: not starting", early[0])
            return
        stop = trio.Event()
        parent_exited = f"the parent process (pid {plan.parent_pid}) exited"

        def stopping(reason: str) -> None:
            if not stop.is_set():
                logger.info("%s", reason)
                stop.set()

        async def watch_signals() -> None:
            # Keeps reading: a second signal (the forward, then the group's own) is
            # taken here rather than redelivered when the receiver closes.
            async for signum in signals:
                if os.getppid() != plan.parent_pid:
                    stopping(parent_exited)  # the kernel's SIGTERM (PR_SET_PDEATHSIG)
                else:
                    stopping(f"received {signal.Signals(signum).name}")

        async def watch_parent() -> None:
            # The parent never writes, so the pipe turns readable only at end of file:
            # its death. Nothing is read: the pipe's blocking mode is shared by every
            # worker, and must not be changed (trio's FdStream restores it on close,
            # which would leave another worker's read blocking its whole loop).
            await trio.lowlevel.wait_readable(plan.parent_alive)
            stopping(parent_exited)

        async with trio.open_nursery() as watchers:
            watchers.start_soon(watch_signals)
            watchers.start_soon(watch_parent)
            async with trio.open_nursery() as serving:
                await serving.start(
                    partial(serve, app, host, port, options, shutdown_trigger=stop.wait),
                )
                plan.served[plan.slot] = 1
            watchers.cancel_scope.cancel()


# -- the parent's side ---------------------------------------------------------------


@dataclass
class RestartBackoff:
    """When to restart one worker after it died, or whether to give up: the policy.

    A failure is rapid when the worker died before it served or within
    :data:`STABLE_AFTER` seconds of its start. The delay is :data:`RESTART_DELAY`
    doubled for each rapid failure in a row (0.5 s after a worker that served a while,
    1, 2, 4 and 8 s after the first to the fourth rapid one); at the
    :data:`MAX_RAPID_FAILURES`-th in a row, give up. A worker that ran a while starts
    the count again.
    """

    rapid_failures: int = 0

    def after_exit(self, ran_for: float, served: bool) -> float | None:
        """The seconds to wait before the restart; ``None`` to give up."""
        rapid = not served or ran_for < STABLE_AFTER
        self.rapid_failures = self.rapid_failures + 1 if rapid else 0
        if self.rapid_failures >= MAX_RAPID_FAILURES:
            return None
        return RESTART_DELAY * 2.0**self.rapid_failures


@dataclass
class _Slot:
    """One of the N workers: its current process, and its restart policy."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    starts: int = 0
    backoff: RestartBackoff = field(default_factory=RestartBackoff)
    restart_at: float | None = None


class _Supervisor:
    """The parent: starts the workers, replaces the ones that die, forwards the stop.

    Its signal handler only records the signal and wakes the loop (a byte on a pipe);
    the loop forwards it, so that nothing is logged or forked from inside a handler.
    """

    def __init__(
        self, serve: Serve, app: Any, host: str, port: int, options: NativeOptions, workers: int
    ) -> None:
        self.context = multiprocessing.get_context("fork")
        self.target_args = (serve, app, host, port, options)
        self.port = port
        self.slots = [_Slot(n) for n in range(workers)]
        self.served = self.context.RawArray("b", workers)
        self.parent_alive_r, self.parent_alive_w = os.pipe()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.received: list[int] = []
        self.stopping = False
        self.failures: list[str] = []

    def close(self) -> None:
        """Close the pipes (the workers' parent pipe reads end of file if still up)."""
        for fd in (self.parent_alive_r, self.parent_alive_w, self.wake_r, self.wake_w):
            os.close(fd)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_w, b"\0")

    def run(self) -> None:
        """Start the workers; return once all exited after a stop.

        Raises:
            WorkersFailedError: as :func:`run_workers`.
        """
        for slot in self.slots:
            self._start(slot)
        logger.info("started %d native-engine workers on port %d", len(self.slots), self.port)
        while True:
            alive = {slot.process.sentinel: slot for slot in self.slots if slot.process}
            if not alive and self.stopping:
                break
            ready = multiprocessing.connection.wait([self.wake_r, *alive], self._timeout())
            # Signals first, even when the wake byte is not among ``ready``: a worker
            # that got the group's SIGTERM may exit before this wait saw the byte
            # (the signal may have gone to another thread, or the wait returned first),
            # and its exit is then part of the stop, not a death to restart.
            self._take_signals()
            for sentinel in ready:
                if sentinel in alive:
                    self._exited(alive[sentinel])
            self._restart_due()
        if self.failures:
            raise WorkersFailedError("; ".join(self.failures))
        logger.info("all workers stopped")

    def _start(self, slot: _Slot) -> None:
        self.served[slot.index] = 0
        plan = _WorkerPlan(
            slot=slot.index,
            parent_pid=os.getpid(),
            parent_alive=self.parent_alive_r,
            parent_only=(self.parent_alive_w, self.wake_r, self.wake_w),
            served=self.served,
        )
        process = self.context.Process(
            target=_worker, args=(*self.target_args, plan), name=f"wsactors-worker-{slot.index}"
        )
        # Blocked across the fork: the child inherits the mask and unblocks them once
        # its own handlers are in place (this process's handler must not run there).
        # A signal meanwhile waits here, and is handled once the worker is registered.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
            slot.process = process
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        slot.started_at = time.monotonic()
        slot.starts += 1
        slot.restart_at = None
        if slot.starts > 1:
            logger.info("restarted worker %s (pid %s)", process.name, process.pid)

    def _timeout(self) -> float | None:
        due = [slot.restart_at for slot in self.slots if slot.restart_at is not None]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def _take_signals(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wake_r, 64):
                pass
        received, self.received = self.received, []
        if received and not self.stopping:
            self._stop(f"received {signal.Signals(received[0]).name}", logging.INFO)

    def _stop(self, reason: str, level: int) -> None:
        """Forward SIGTERM to every live worker; restart none from now on."""
        self.stopping = True
        live: list[BaseProcess] = []
        for slot in self.slots:
            slot.restart_at = None
            # exitcode polls (and may reap) the child: a reaped pid is never signalled.
            if slot.process is not None and slot.process.exitcode is None:
                live.append(slot.process)
        logger.log(level, "%s: stopping %d worker(s)", reason, len(live))
        for process in live:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)  # type: ignore[arg-type]

    def _exited(self, slot: _Slot) -> None:
        """One line for a worker's exit; replace it, or stop all, as the policy says."""
        process = slot.process
        assert process is not None
        process.join()
        slot.process = None
        what = f"worker {process.name} (pid {process.pid}) exited with code {process.exitcode}"
        served = bool(self.served[slot.index])
        if self.stopping:
            if process.exitcode != 0:
                logger.error("%s while stopping", what)
                self.failures.append(what)
            return
        if not served and slot.starts == 1:
            self.failures.append(f"{what} before it served")
            self._stop(f"{what} before it served", logging.ERROR)
            return
        delay = slot.backoff.after_exit(time.monotonic() - slot.started_at, served)
        if delay is None:
            failure = f"{what}: {MAX_RAPID_FAILURES} rapid failures in a row"
            self.failures.append(failure)
            self._stop(f"{failure}, giving up", logging.ERROR)
            return
        slot.restart_at = time.monotonic() + delay
        logger.error("%s; restarting it in %g s", what, delay)

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.restart_at is not None and slot.restart_at <= now and not self.stopping:
                self._start(slot)


def run_workers(
    serve: Serve, app: Any, host: str, port: int, options: NativeOptions, workers: int
) -> None:
    """Run ``serve`` in ``workers`` forked processes until SIGINT or SIGTERM.

    Returns once every worker drained and exited 0 after the stop. Workers that die
    meanwhile are replaced, and all of them stop when this process dies (see the
    module's docstring).

    Args:
        serve: The engine's async serve (``serve_native_async``): called as
            ``serve(app, host, port, options, shutdown_trigger=..., reuse_port=True,
            task_status=...)`` in each worker.
        app: The App.
        host: Interface to listen on.
        port: TCP port; 0 picks one free port for all workers.
        options: The engine's options.
        workers: How many processes (>= 2).

    Raises:
        WorkersFailedError: a worker failed to start, one failed
            :data:`MAX_RAPID_FAILURES` times in a row, or one did not exit 0 after the
            stop (the others were stopped and drained first).
    """
    holder: socket.socket | None = None
    if port == 0:
        holder, port = _pick_port(host)
    supervisor = _Supervisor(partial(serve, reuse_port=True), app, host, port, options, workers)
    previous = {signum: signal.signal(signum, supervisor.on_signal) for signum in STOP_SIGNALS}
    try:
        supervisor.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        supervisor.close()
        if holder is not None:
            holder.close()
