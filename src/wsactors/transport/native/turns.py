"""Turns for idle connections that wake together: a paced line, for the whole server.

When thousands of idle connections become readable at once (a crowd closing, a
proxy restarting, the answers to the drain's close frames), Trio wakes all their
readers in one scheduler batch, and the work each one then starts (parsing the
close frame, the closing handshake, the connection's teardown, spread over the
batches that follow) keeps every other connection waiting for seconds: a batch
runs to its end before the next one starts.

:class:`Turns` keeps the batches short. A connection that reads after being idle
(nothing read for :attr:`Turns.idle_after` seconds) goes on at once while few
others do (:data:`FREE` in :data:`WINDOW` seconds); past that, it waits in a line
before it parses what it read, and one task (:meth:`Turns.run`) lets a share of
the line go each batch: the share grows while batches are short and shrinks
while they are long (:data:`TARGET`). Connections that read recently never wait:
a busy connection keeps its pace whatever the crowd does. Waking the crowd's
readers is Trio's and stays one batch; each of them then only parks (a few
microseconds), and its real work waits for its turn.
"""

from __future__ import annotations

import collections
import math
from typing import Final

import trio

__all__ = ["FREE", "TARGET", "WINDOW", "Turns"]

#: Idle connections that may go on without waiting, per :data:`WINDOW` seconds.
FREE: Final = 32
WINDOW: Final = 0.005
#: The batch length the line's pace aims at, in seconds.
TARGET: Final = 0.015
#: The bounds of the share let go per batch.
_MIN_SHARE: Final = 8
_MAX_SHARE: Final = 4096

#: A place in the line: ``[task]``; ``[None]`` once its task was cancelled.
_Place = list[trio.lowlevel.Task | None]


class Turns:
    """The server's line of idle connections waiting for their turn.

    Args:
        idle_after: Seconds without a read after which a connection counts as idle.

    Attributes:
        waiting: Connections in the line now.
    """

    __slots__ = ("_free", "_line", "_pacer", "_share", "_window", "idle_after", "waiting")

    def __init__(self, idle_after: float = 1.0) -> None:
        self.idle_after = idle_after
        self.waiting = 0
        self._line: collections.deque[_Place] = collections.deque()
        self._pacer: trio.lowlevel.Task | None = None  # parked while the line is empty
        self._window = -math.inf
        self._free = 0
        self._share = FREE

    def admit(self, now: float) -> bool:
        """May an idle connection go on at once? Never blocks.

        No while others wait in the line (they came first), or once :data:`FREE`
        went on in this :data:`WINDOW`.
        """
        if self.waiting:
            return False
        if now - self._window >= WINDOW:
            self._window = now
            self._free = 0
        self._free += 1
        return self._free <= FREE

    async def wait_turn(self) -> None:
        """Wait in the line until :meth:`run` lets this task go.

        Cancellation:
            Leaves the line; ``Cancelled`` propagates.
        """
        place: _Place = [trio.lowlevel.current_task()]
        self._line.append(place)
        self.waiting += 1
        pacer = self._pacer
        if pacer is not None:
            self._pacer = None
            trio.lowlevel.reschedule(pacer)

        def abort(_: object) -> trio.lowlevel.Abort:
            place[0] = None  # skipped by run(), which counts it out then
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def run(self) -> None:
        """Let the line go, a share per batch, for as long as the server runs.

        Cancellation:
            Runs until cancelled (with the server's connections, which are
            cancelled too: nobody is left waiting).
        """
        line = self._line
        last = trio.current_time()
        while True:
            if not line:
                self._share = FREE
                await self._park()
                last = trio.current_time()
            else:
                # One round per batch: the time since the last round is (about)
                # how long the last batch took.
                await trio.lowlevel.checkpoint()
                now = trio.current_time()
                took = max(now - last, 1e-4)
                last = now
                factor = min(2.0, max(0.5, TARGET / took))
                self._share = min(_MAX_SHARE, max(_MIN_SHARE, int(self._share * factor)))
            self._let_go(self._share)

    def _let_go(self, share: int) -> None:
        line = self._line
        while share and line:
            task = line.popleft()[0]
            self.waiting -= 1
            if task is not None:
                trio.lowlevel.reschedule(task)
                share -= 1

    async def _park(self) -> None:
        self._pacer = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._pacer = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
