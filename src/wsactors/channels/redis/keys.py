"""Where the Channels live in Redis: the keys of a topic, and replies read as text.

Every process of a deployment must agree on these names: under the prefix ``p``,
the topic ``t`` is published on the channel ``p:t`` and kept in the stream
``p:history:t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Keys", "text"]


@dataclass(frozen=True, slots=True)
class Keys:
    """The Redis keys of every topic under one ``prefix``."""

    prefix: str

    def channel(self, topic: str) -> str:
        """The pub/sub channel of ``topic``: ``{prefix}:{topic}``."""
        return f"{self.prefix}:{topic}"

    def stream(self, topic: str) -> str:
        """The history stream of ``topic``: ``{prefix}:history:{topic}``."""
        return f"{self.prefix}:history:{topic}"

    def topic(self, channel: str) -> str:
        """The topic of a pub/sub channel named by :meth:`channel`."""
        return channel[len(self.prefix) + 1 :]


def text(value: Any) -> str:
    """A Redis reply as text (coredis gives bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)
