"""Channels: topics with bounded, never-silent fan-out, in one process or through Redis.

Modules: :mod:`.api` (``Channels``), :mod:`.subscription` (one bounded
subscription), :mod:`.hub` (this process's subscriptions by topic), :mod:`.items`
(``Message``, ``Gap``, statistics, ids), :mod:`.backend` (what a backend is),
:mod:`.memory` (``MemoryBackend``) and the package :mod:`.redis` (``RedisBackend``
and its parts).

``RedisBackend`` needs the optional extra ``wsactors[redis]`` (coredis); it is
imported from here lazily, so the memory backend works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import Channels
from .items import ChannelStatistics, Gap, Message, SubscriptionStatistics
from .memory import MemoryBackend
from .subscription import Subscription

if TYPE_CHECKING:
    from .redis import RedisBackend

__all__ = [
    "ChannelStatistics",
    "Channels",
    "Gap",
    "MemoryBackend",
    "Message",
    "RedisBackend",
    "Subscription",
    "SubscriptionStatistics",
]


def __getattr__(name: str) -> Any:
    if name == "RedisBackend":
        from .redis import RedisBackend

        return RedisBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
