"""``MemoryBackend``: channels within one process (the default)."""

from __future__ import annotations

from collections import deque

import trio

from .hub import Hub
from .items import Message

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """Topics live in this process: publish dispatches directly to local subscribers.

    History keeps the newest ``history`` messages per topic in a bounded deque, with
    ids of the same ``"ms-seq"`` shape as Redis stream ids (here a counter and 0).
    Nothing is ever lost to a broker: only overflow makes Gaps.
    """

    def __init__(self) -> None:
        self._hub: Hub | None = None
        self._history: dict[str, deque[Message]] = {}
        self._sequence = 0

    @property
    def connected(self) -> bool:
        """Always True: there is no broker to lose."""
        return True

    async def start(self, hub: Hub, nursery: trio.Nursery) -> None:
        """Attach to ``hub``; no task is needed."""
        await trio.lowlevel.checkpoint()
        self._hub = hub

    async def stop(self) -> None:
        """Detach; the history is kept for a later start."""
        await trio.lowlevel.checkpoint()
        self._hub = None

    async def publish(self, topic: str, raw: str, exclude: str | None, history: int) -> str | None:
        """Dispatch to local subscribers now; keep it in the history if ``history`` > 0."""
        await trio.lowlevel.checkpoint()
        message_id = None
        if history > 0:
            self._sequence += 1
            message_id = f"{self._sequence}-0"
        message = Message(topic, raw, message_id)
        if history > 0:
            kept = self._history.get(topic)
            if kept is None or kept.maxlen != history:
                kept = self._history[topic] = deque(kept or (), maxlen=history)
            kept.append(message)
        if self._hub is not None:
            self._hub.dispatch(message, exclude)
        return message_id

    async def watch(self, topic: str) -> None:
        """Nothing to do: every topic is local."""
        await trio.lowlevel.checkpoint()

    async def unwatch(self, topic: str) -> None:
        """Nothing to do: every topic is local."""
        await trio.lowlevel.checkpoint()

    async def history(self, topic: str, count: int) -> list[Message]:
        """The newest ``count`` kept messages of ``topic``, oldest first."""
        await trio.lowlevel.checkpoint()
        kept = self._history.get(topic, ())
        return list(kept)[-count:] if count > 0 else []
