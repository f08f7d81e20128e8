"""The server-wide budget for bytes held in unfinished incoming messages.

Each native connection may hold one unfinished message of up to its
``max_message_size`` (plus one read); with thousands of connections that is more
memory than the machine has. :class:`IncomingBudget` counts what all connections
of one server hold: past ``limit``, a connection that holds an unfinished message
is not read any more (the kernel's buffers fill, and TCP pushes back on the
peer) until memory frees; one that stays paused ``timeout`` seconds is failed
with 1013 "Try Again Later" (:data:`~wsactors.connection.closes.Why.BUFFERS_FULL`).
Connections holding nothing keep being read, so a busy server still serves its
small messages. A paused connection looks every :data:`LOOK_EVERY` seconds whether
its peer has gone (the caller's ``ended``), so a peer that leaves frees its
message then, not at the timeout. docs/limits-and-security.md gives the whole server's worst case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import trio

__all__ = ["LOOK_EVERY", "IncomingBudget"]

#: Seconds between two looks of a paused connection at whether its peer has gone.
LOOK_EVERY: Final = 1.0


class IncomingBudget:
    """Bytes held in unfinished incoming messages, for the whole server.

    Args:
        limit: Bytes all connections may hold together before those holding an
            unfinished message are paused.
        timeout: Seconds a paused connection waits before it is failed with 1013.

    Attributes:
        used: Bytes held now.
        paused: Connections paused now.
    """

    __slots__ = ("_freed", "limit", "paused", "timeout", "used")

    def __init__(self, limit: int, timeout: float) -> None:
        self.limit = limit
        self.timeout = timeout
        self.used = 0
        self.paused = 0
        self._freed = trio.Event()

    def adjust(self, delta: int) -> None:
        """A connection now holds ``delta`` bytes more (less, when negative)."""
        used = self.used = self.used + delta
        if delta < 0 and used < self.limit and self.paused:
            # Wake the paused connections: each checks again (one read each at most).
            self._freed.set()
            self._freed = trio.Event()

    @property
    def over(self) -> bool:
        """Whether the budget is spent: connections holding a message must wait."""
        return self.used >= self.limit

    async def wait(self, ended: Callable[[], bool] | None = None) -> bool:
        """Wait until the budget has room again, at most :attr:`timeout` seconds.

        Args:
            ended: Whether the connection has ended meanwhile (its peer closed or
                reset it), asked every :data:`LOOK_EVERY` seconds.

        Returns:
            Whether there is room, or the connection ended (False: the wait
            timed out).

        Cancellation:
            A cancellation point; nothing is held by the wait.
        """
        deadline = trio.current_time() + self.timeout
        self.paused += 1
        try:
            await trio.lowlevel.checkpoint()
            while self.used >= self.limit:
                now = trio.current_time()
                if now >= deadline:
                    return False
                with trio.move_on_at(
                    deadline if ended is None else min(deadline, now + LOOK_EVERY)
                ):
                    await self._freed.wait()
                if ended is not None and ended():
                    return True
        finally:
            self.paused -= 1
        return True
