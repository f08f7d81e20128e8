"""Turns for idle connections that wake together: a paced line, for the whole server.

When thousands of idle connections become readable at once (a crowd closing, a
proxy restarting, the answers to the drain's close frames), Trio wakes all their
readers in one scheduler batch (about 30 µs each on this machine's class, before
any work), and the work each one then starts (parsing the close frame, the
closing handshake, the connection's teardown, over the batches that follow) keeps
every other connection waiting: a batch runs to its end before the next one
starts. Closing 9,900 connections at once stalled the others for 2-3 s.

:class:`Turns` keeps the batches short by not waking the crowd at once. A
connection whose last wait for data was long (:data:`IDLE_AFTER` seconds or more,
and every connection before its first message) waits the next time in the line's own
``epoll`` set instead of Trio's; one task (:meth:`Turns.run`) takes at most a share
of the ready ones per scheduler batch and wakes those readers: the share grows
while batches are short and shrinks while they are long (:data:`TARGET`). A
connection whose last wait was short (a busy one) waits in Trio's set as before,
and is never held back by the crowd. An idle connection's message costs one
scheduler round more (the line's task wakes its reader), no more CPU.

Platforms without ``epoll`` (macOS' kqueue) have no line: every connection waits
in Trio's set.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
from typing import Final

import outcome
import trio

__all__ = ["IDLE_AFTER", "TARGET", "Turns"]

#: A wait for data this long (seconds) makes a connection idle: its next wait is
#: in the line. Long enough that a stalled server (a full garbage collection of
#: a large heap takes most of a second) does not turn its busy connections idle,
#: which would put them behind a crowd in the line.
IDLE_AFTER: Final = 10.0
#: The batch length the line's pace aims at, in seconds.
TARGET: Final = 0.02
#: The first share of a crowd, and the bounds of the share let go per batch.
_START_SHARE: Final = 32
_MIN_SHARE: Final = 4
#: After this many seconds with nobody ready in the line, the share starts over.
_CALM: Final = 0.25
_MAX_SHARE: Final = 4096

_EPOLL = getattr(select, "epoll", None)


class Turns:
    """The server's line of idle connections waiting for data.

    Args:
        idle_after: A wait for data that lasted this many seconds makes the
            connection's next wait one in the line.

    Attributes:
        waiting: Readers waiting in the line now.
    """

    __slots__ = ("_armed", "_epoll", "_running", "_share", "_waiters", "idle_after")

    def __init__(self, idle_after: float = IDLE_AFTER) -> None:
        self.idle_after = idle_after
        self._epoll: select.epoll | None = _EPOLL() if _EPOLL is not None else None
        # fd -> (socket, reader): the readers parked in the line.
        self._waiters: dict[int, tuple[trio.socket.SocketType, trio.lowlevel.Task]] = {}
        self._armed: set[int] = set()  # fds registered in the line's epoll set
        self._share = _START_SHARE
        # The line is open: from here until run() ends (the server runs it from
        # its start); then every wait is in Trio's set.
        self._running = self._epoll is not None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def read(
        self, sock: trio.socket.SocketType, size: int, *, ready: bool, quiet: bool
    ) -> tuple[bytes, bool]:
        """One read of at most ``size`` bytes from ``sock`` (``b""``: the peer
        ended the stream), as :func:`~wsactors.transport.native.sockio.read_socket`
        reads, waiting in the line when ``quiet``.

        Args:
            ready: Data is probably waiting: read at once (after a schedule point).
            quiet: The connection's last wait was long: wait in the line.

        Returns:
            The bytes, and whether the next wait is in the line (this one lasted
            ``idle_after`` seconds or more).

        Raises:
            trio.ClosedResourceError: the socket was closed (:meth:`forget`).
            OSError: the connection broke.

        Cancellation:
            A checkpoint; a cancelled read consumed nothing.
        """
        if ready:
            await trio.lowlevel.checkpoint()
        else:
            quiet = await self._wait(sock, quiet)
        while True:
            fd = sock.fileno()
            if fd < 0:  # closed (aborted) by another task meanwhile
                raise trio.ClosedResourceError("the connection was aborted")
            try:
                return os.read(fd, size), quiet
            except BlockingIOError:
                quiet = await self._wait(sock, quiet)

    async def _wait(self, sock: trio.socket.SocketType, quiet: bool) -> bool:
        """Wait until ``sock`` is readable; whether the wait was long."""
        started = trio.current_time()
        if quiet and self._running:
            await self._wait_in_line(sock)
        else:
            await trio.lowlevel.wait_readable(sock)
        return trio.current_time() - started >= self.idle_after

    async def _wait_in_line(self, sock: trio.socket.SocketType) -> None:
        epoll = self._epoll
        assert epoll is not None
        fd = sock.fileno()
        if fd < 0:
            raise trio.ClosedResourceError("the connection was aborted")
        # One shot: the fd reports once, then stays quiet until armed again.
        mask = select.EPOLLIN | select.EPOLLONESHOT
        try:
            if fd in self._armed:
                try:
                    epoll.modify(fd, mask)
                except FileNotFoundError:  # closed since, and the number reused
                    epoll.register(fd, mask)
            else:
                try:
                    epoll.register(fd, mask)
                except FileExistsError:
                    epoll.modify(fd, mask)
                self._armed.add(fd)
        except OSError as exc:
            if exc.errno != errno.EBADF:
                raise
            raise trio.ClosedResourceError("the connection was aborted") from exc
        task = trio.lowlevel.current_task()
        self._waiters[fd] = (sock, task)

        def abort(_: object) -> trio.lowlevel.Abort:
            # The fd stays armed: if it reports, nobody is woken (one shot).
            if self._waiters.get(fd, (None, None))[1] is task:
                del self._waiters[fd]
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def forget(self, sock: trio.socket.SocketType) -> None:
        """``sock`` is about to be closed: a reader waiting in the line for it gets
        :class:`trio.ClosedResourceError` (as ``trio.lowlevel.notify_closing`` does
        for Trio's waits); closing the fd takes it out of the line's set."""
        fd = sock.fileno()
        if fd < 0:
            return
        self._armed.discard(fd)
        waiter = self._waiters.get(fd)
        if waiter is not None and waiter[0] is sock:
            del self._waiters[fd]
            closed = trio.ClosedResourceError("the connection was aborted")
            trio.lowlevel.reschedule(waiter[1], outcome.Error(closed))
        epoll = self._epoll
        if epoll is not None:
            # Never registered, already gone, or the line is closed (ValueError).
            with contextlib.suppress(OSError, ValueError):
                epoll.unregister(fd)

    async def run(self) -> None:
        """Wake the line's readers whose data arrived, a share per batch, for as
        long as the server runs.

        Cancellation:
            Runs until cancelled (with the server's connections). The readers
            still in the line (connections finishing after that) are woken to
            wait in Trio's set instead; so is every later wait.
        """
        epoll = self._epoll
        if epoll is None:
            await trio.sleep_forever()
        try:
            fd = epoll.fileno()
            full = False
            last = trio.current_time()
            while True:
                if full:
                    # More may be ready: one round per batch. The time since the
                    # last round is (about) how long the last batch took.
                    await trio.lowlevel.checkpoint()
                    now = trio.current_time()
                    factor = min(2.0, max(0.5, TARGET / max(now - last, 1e-4)))
                    self._share = min(_MAX_SHARE, max(_MIN_SHARE, int(self._share * factor)))
                else:
                    await trio.lowlevel.wait_readable(fd)
                    now = trio.current_time()
                    if now - last >= _CALM:
                        self._share = _START_SHARE  # a new crowd: start over
                last = now
                events = epoll.poll(0, self._share)
                waiters = self._waiters
                for ready, _ in events:
                    waiter = waiters.pop(ready, None)
                    if waiter is not None:
                        trio.lowlevel.reschedule(waiter[1])
                full = len(events) >= self._share
        finally:
            # Those still waiting (connections finishing after the server's
            # nursery was cancelled) wait in Trio's set from now on.
            self._running = False
            waiters, self._waiters = self._waiters, {}
            for _, task in waiters.values():
                trio.lowlevel.reschedule(task)
            epoll.close()
