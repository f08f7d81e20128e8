"""The pub/sub connection of ``RedisBackend``: one session, its reader, its health check.

A session subscribes to every local topic, refills them from history, then reads
pushed messages into the :class:`Hub` until the connection fails; a health check
beside the reader PINGs every ``health_check_interval`` and ends the session when
no PONG comes within ``health_check_timeout``. A lost session gives every local
topic a ``Gap(reason="reconnect")``. The reconnect loop around sessions, and
startup, are :class:`~wsactors.channels.RedisBackend`'s own.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import trio

from ..hub import Hub
from ..items import Message
from .history import refill, text

if TYPE_CHECKING:
    import coredis

__all__ = ["RedisReader"]

logger = logging.getLogger("wsactors.channels.redis")


class RedisReader:
    """The session part of ``RedisBackend`` (a base class: the state is the backend's)."""

    url: str
    prefix: str
    connect_timeout: float
    health_check_interval: float
    health_check_timeout: float
    refill_limit: int
    _client: coredis.Redis[bytes] | None
    _pubsub: Any
    _hub: Hub | None
    _lock: trio.Lock
    _started: bool

    if TYPE_CHECKING:

        def _channel(self, topic: str) -> str: ...

        def _stream(self, topic: str) -> str: ...

    def _lost(self) -> None:
        """The pub/sub connection dropped: every local topic may have lost messages."""
        assert self._hub is not None
        self._pubsub = None
        self._hub.counters.reconnects += 1
        for topic in list(self._hub.topics):
            self._hub.gap(topic, "reconnect")

    async def _session(self, task_status: trio.TaskStatus[None]) -> None:
        """One pub/sub connection: subscribe, refill, then read until it fails."""
        assert self._client is not None
        assert self._hub is not None
        hub = self._hub
        pubsub = self._client.pubsub(retry_policy=None, ignore_subscribe_messages=True)
        # A deadline for connecting, lifted once connected (one scope around the
        # whole context: a scope may not end inside the context's own task group).
        with trio.CancelScope(deadline=trio.current_time() + self.connect_timeout) as scope:
            async with pubsub:
                async with self._lock:
                    topics = list(hub.topics)
                    if topics:
                        await pubsub.subscribe(*(self._channel(t) for t in topics))
                    await refill(self._client, hub, topics, self._stream, self.refill_limit)
                    self._pubsub = pubsub
                scope.deadline = math.inf
                if not self._started:
                    self._started = True
                    task_status.started()
                logger.info("subscribed to Redis at %s (%d topic(s))", self.url, len(topics))
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._health_check)
                    await self._read(pubsub)
        if scope.cancelled_caught:
            raise TimeoutError(f"no Redis connection within {self.connect_timeout}s")

    async def _read(self, pubsub: Any) -> None:
        assert self._hub is not None
        hub = self._hub
        start = len(self.prefix) + 1
        while True:
            message = await pubsub.get_message()
            if message is None or message["type"] != "message":
                continue
            topic = text(message["channel"])[start:]
            parts = text(message["data"]).split("\n", 2)
            if len(parts) != 3:
                # Someone else PUBLISHed on our prefix: not ours to deliver.
                logger.warning("ignored a message on %r not sent by wsactors", topic)
                continue
            message_id, exclude, raw = parts
            hub.dispatch(Message(topic, raw, message_id or None), exclude or None)

    async def _health_check(self) -> None:
        assert self._client is not None
        while True:
            await trio.sleep(self.health_check_interval)
            with trio.move_on_after(self.health_check_timeout):
                await self._client.ping()
                continue
            raise TimeoutError(f"Redis did not answer PING within {self.health_check_timeout}s")
