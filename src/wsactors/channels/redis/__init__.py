"""``RedisBackend``: channels across processes and machines, through Redis pub/sub."""

from __future__ import annotations

from .backend import RedisBackend, RedisUnavailableError

__all__ = ["RedisBackend", "RedisUnavailableError"]
