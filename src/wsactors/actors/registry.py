"""The App's view of its live connections, for the graceful drain."""

from __future__ import annotations

import trio

from .watcher import Watcher

__all__ = ["LiveConnections"]


class LiveConnections:
    """The watchers of every running connection of one App."""

    __slots__ = ("_empty", "_watchers")

    def __init__(self) -> None:
        self._watchers: set[Watcher] = set()
        self._empty: trio.Event | None = None

    def __len__(self) -> int:
        return len(self._watchers)

    def add(self, watcher: Watcher) -> None:
        """Track a connection that just started."""
        self._watchers.add(watcher)

    def discard(self, watcher: Watcher) -> None:
        """Forget a connection that ended; wakes :meth:`wait_empty` for the last one."""
        self._watchers.discard(watcher)
        if not self._watchers and self._empty is not None:
            self._empty.set()

    def stop_all(self, error: BaseException) -> None:
        """Ask every connection to close with ``error``'s code. Never blocks."""
        for watcher in list(self._watchers):
            watcher.stop(error)

    async def wait_empty(self) -> None:
        """Return once no connection is running.

        Cancellation:
            Safe to cancel (use a deadline to bound the drain).
        """
        while self._watchers:
            self._empty = trio.Event()
            await self._empty.wait()
        await trio.lowlevel.checkpoint()
