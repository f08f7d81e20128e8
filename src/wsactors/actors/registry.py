"""The App's view of its live connections, for the graceful drain."""

from __future__ import annotations

import trio

from .mailbox import Mailbox

__all__ = ["LiveConnections"]


class LiveConnections:
    """The mailboxes of every running connection of one App."""

    __slots__ = ("_boxes", "_empty")

    def __init__(self) -> None:
        self._boxes: set[Mailbox] = set()
        self._empty: trio.Event | None = None

    def __len__(self) -> int:
        return len(self._boxes)

    def add(self, box: Mailbox) -> None:
        """Track a connection that just started."""
        self._boxes.add(box)

    def discard(self, box: Mailbox) -> None:
        """Forget a connection that ended; wakes :meth:`wait_empty` for the last one."""
        self._boxes.discard(box)
        if not self._boxes and self._empty is not None:
            self._empty.set()

    def stop_all(self, error: BaseException) -> None:
        """Ask every connection to close with ``error``'s code. Never blocks."""
        for box in list(self._boxes):
            box.request_stop(error)

    async def wait_empty(self) -> None:
        """Return once no connection is running.

        Cancellation:
            Safe to cancel (use a deadline to bound the drain).
        """
        while self._boxes:
            self._empty = trio.Event()
            await self._empty.wait()
        await trio.lowlevel.checkpoint()
