"""The App's view of its live connections: for the graceful drain, and the metrics."""

from __future__ import annotations

from collections.abc import Iterator

import trio

from .runtime import ConnectionRuntime

__all__ = ["LiveConnections"]


class LiveConnections:
    """The runtimes of every running connection of one App."""

    __slots__ = ("_empty", "_live")

    def __init__(self) -> None:
        self._live: set[ConnectionRuntime] = set()
        self._empty: trio.Event | None = None

    def __len__(self) -> int:
        return len(self._live)

    def __iter__(self) -> Iterator[ConnectionRuntime]:
        """The live connections (do not add or discard while iterating)."""
        return iter(self._live)

    def add(self, rt: ConnectionRuntime) -> None:
        """Track a connection that just started."""
        self._live.add(rt)

    def discard(self, rt: ConnectionRuntime) -> None:
        """Forget a connection that ended; wakes :meth:`wait_empty` for the last one."""
        self._live.discard(rt)
        if not self._live and self._empty is not None:
            self._empty.set()

    def stop_all(self, error: BaseException) -> None:
        """Ask every connection to close with ``error``'s code. Never blocks."""
        for rt in list(self._live):
            rt.watcher.stop(error)

    async def wait_empty(self) -> None:
        """Return once no connection is running.

        Cancellation:
            Safe to cancel (use a deadline to bound the drain).
        """
        while self._live:
            self._empty = trio.Event()
            await self._empty.wait()
        await trio.lowlevel.checkpoint()
