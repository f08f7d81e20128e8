"""One task that keeps the time of every native connection of a server.

Each native connection has deadlines (its next keepalive ping, the pong that is
due, the write in progress reaching ``send_timeout``) but is idle almost all the
time. A sleeping task per connection costs about 4 KiB (the task, its nursery, its
cancel scopes and coroutine frames: see ``benchmarks/memory_native.py``);
:class:`Deadlines` instead keeps one heap entry per connection and one task for
the whole server. When a deadline passes, the connection decides synchronously
what is due (:meth:`Timed.on_deadline`); only work that must wait on the socket (a
ping to write, an abort, a failing close frame) runs as a short task in the
timer's nursery, bounded by the connection's own time limits, and cancelled when
the connection ends (:meth:`Deadlines.cancel`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

__all__ = ["Deadlines", "Timed"]

logger = logging.getLogger("wsactors.engine")

#: A heap entry: ``[when, tie-breaker, owner]``; the owner is ``None`` once cancelled.
Entry = list[Any]
Action = Callable[[], Awaitable[None]]


class Timed(Protocol):
    """What :class:`Deadlines` needs of a connection (slots it owns on it)."""

    #: The connection's entry in the heap, if it has a deadline.
    _timer_entry: Entry | None
    #: The cancel scope of the connection's action in progress, if any.
    _timer_scope: trio.CancelScope | None

    def on_deadline(self, now: float) -> Action | None:
        """The deadline passed: reschedule, or return the work to run as a task."""


class Deadlines:
    """The deadlines of many connections, kept by one task (:meth:`run`)."""

    __slots__ = ("_heap", "_order", "_sleep")

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._order = itertools.count()
        # The timer's sleep, moved earlier when an earlier deadline arrives.
        self._sleep: trio.CancelScope | None = None

    @staticmethod
    def due(owner: Timed) -> float:
        """When ``owner``'s deadline is (``inf``: none)."""
        entry = owner._timer_entry
        return math.inf if entry is None else float(entry[0])

    def schedule(self, owner: Timed, when: float) -> None:
        """Set ``owner``'s deadline to ``when`` (replacing the one it had)."""
        old = owner._timer_entry
        if old is not None:
            if old[0] == when:
                return
            old[2] = None  # stays in the heap until its time, owning nothing
        entry: Entry = [when, next(self._order), owner]
        owner._timer_entry = entry
        heapq.heappush(self._heap, entry)
        sleep = self._sleep
        if sleep is not None and when < sleep.deadline:
            sleep.deadline = when

    def cancel(self, owner: Timed) -> None:
        """Forget ``owner``: no deadline any more, its action in progress cancelled."""
        entry = owner._timer_entry
        if entry is not None:
            entry[2] = None
            owner._timer_entry = None
        scope = owner._timer_scope
        if scope is not None:
            scope.cancel()

    async def run(self) -> None:
        """Call each owner's :meth:`Timed.on_deadline` when its deadline passes.

        Cancellation:
            Runs until cancelled (with the server); the actions in progress are
            cancelled with it.
        """
        heap = self._heap
        async with trio.open_nursery() as nursery:
            while True:
                now = trio.current_time()
                while heap and heap[0][0] <= now:
                    entry = heapq.heappop(heap)
                    owner: Timed | None = entry[2]
                    if owner is None:
                        continue  # cancelled or replaced
                    owner._timer_entry = None
                    action = owner.on_deadline(now)
                    if action is not None:
                        nursery.start_soon(self._act, owner, action)
                wake = heap[0][0] if heap else math.inf
                with trio.CancelScope(deadline=wake) as sleep:
                    self._sleep = sleep
                    await trio.sleep_forever()
                self._sleep = None

    @staticmethod
    async def _act(owner: Timed, action: Action) -> None:
        with trio.CancelScope() as scope:
            owner._timer_scope = scope
            try:
                await action()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                logger.debug("connection dropped by its timer: %r", exc)
            except Exception:
                # One connection's failure must not stop the other connections' timer.
                logger.exception("error in a connection's timer")
            finally:
                if owner._timer_scope is scope:
                    owner._timer_scope = None
