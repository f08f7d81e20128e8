"""What :class:`~wsactors.channels.Channels` needs from a backend."""

from __future__ import annotations

from typing import Protocol

import trio

from .hub import Hub
from .items import Message

__all__ = ["Backend"]


class Backend(Protocol):
    """A message broker as the Channels use it.

    A backend delivers every message published to a topic, from any process, to
    :meth:`Hub.dispatch` of every process that has a subscriber on the topic, once.
    """

    @property
    def connected(self) -> bool:
        """Whether messages published elsewhere reach this process now."""
        ...

    async def start(self, hub: Hub, nursery: trio.Nursery) -> None:
        """Connect and start background tasks in ``nursery`` (the Channels' own)."""
        ...

    async def stop(self) -> None:
        """Release the broker connection; bounded in time, never hangs."""
        ...

    async def publish(self, topic: str, raw: str, exclude: str | None, history: int) -> str | None:
        """Publish ``raw``; with ``history`` > 0 keep about that many and return the id."""
        ...

    async def watch(self, topic: str) -> None:
        """Start receiving ``topic`` (its first local subscriber arrived)."""
        ...

    async def unwatch(self, topic: str) -> None:
        """Stop receiving ``topic`` (its last local subscriber left)."""
        ...

    async def history(self, topic: str, count: int) -> list[Message]:
        """The newest ``count`` messages kept for ``topic``, oldest first."""
        ...
