"""The pub/sub connection of ``RedisBackend``: one per process, kept up until stopped.

:class:`PubSubConnection` carries every topic this process has subscribers for. Each
session subscribes to every local topic, refills them from history, then reads
pushed messages into the :class:`Hub` until the connection fails; a health check
beside the reader PINGs every ``health_check_interval`` and ends the session when
no PONG comes within ``health_check_timeout``. A lost session gives every local
topic a ``Gap(reason="reconnect")``, and the loop connects again after a jittered
backoff capped by ``reconnect_max_delay``, reset once connected (coredis' own
retry is off). The first session decides the startup: it reports the connection
started once subscribed, or at once with ``start_degraded``.
"""

from __future__ import annotations

import logging
import math
import random
from typing import TYPE_CHECKING, Any

import trio

from ..hub import Hub
from ..items import Message
from .errors import RedisUnavailableError, first_error, is_broker_error
from .history import StreamHistory
from .keys import Keys, text

if TYPE_CHECKING:
    import coredis

__all__ = ["PubSubConnection"]

logger = logging.getLogger("wsactors.channels.redis")


class PubSubConnection:
    """The one pub/sub connection of a :class:`~wsactors.channels.RedisBackend` run.

    Made by ``RedisBackend.start``, one per start, with its collaborators: it reads
    into ``hub``, refills through ``history`` and names channels with ``keys``. Its
    own state is the current session (None while disconnected), the lock that
    orders SUBSCRIBE and UNSUBSCRIBE against a new session's subscribing, and
    whether it has reported started.

    Args:
        client: The backend's client; :meth:`run` keeps its pool open.
        hub: Where pushed messages, refills and Gaps go.
        history: The history streams, for the refill after a reconnect.
        keys: The names of each topic's channel.
        url: Where Redis is, for log lines and the startup error.
        connect_timeout: Seconds to connect, subscribe and refill, per session.
        start_degraded: Report started before the first connection.
        reconnect_max_delay: Cap of the backoff between attempts.
        health_check_interval: Seconds between health-check PINGs.
        health_check_timeout: Seconds a PING may take before Redis counts as lost.
    """

    def __init__(
        self,
        client: coredis.Redis[bytes],
        hub: Hub,
        history: StreamHistory,
        keys: Keys,
        *,
        url: str,
        connect_timeout: float,
        start_degraded: bool,
        reconnect_max_delay: float,
        health_check_interval: float,
        health_check_timeout: float,
    ) -> None:
        self._client = client
        self._hub = hub
        self._history = history
        self._keys = keys
        self._url = url
        self._connect_timeout = connect_timeout
        self._start_degraded = start_degraded
        self._reconnect_max_delay = reconnect_max_delay
        self._health_check_interval = health_check_interval
        self._health_check_timeout = health_check_timeout
        #: coredis' PubSub of the current session; None while disconnected.
        self._pubsub: Any = None
        self._lock = trio.Lock()
        self._started = False

    @property
    def connected(self) -> bool:
        """Whether the pub/sub connection is up and subscribed."""
        return self._pubsub is not None

    # ------------------------------------------------------------------ the loop
    async def run(self, task_status: trio.TaskStatus[None]) -> RedisUnavailableError:
        """Connect, read, reconnect, for ever once started.

        The client's pool runs its task group in the task that enters the client:
        this one, so the pool stays open for as long as the connection runs.

        Returns:
            The startup error, when the first connection fails (not with
            ``start_degraded``); ``task_status`` is then never started.

        Cancellation:
            The way it ends. coredis may raise its lost connection beside the
            Cancelled (grouped); the caller decides what of that is noise.
        """
        try:
            async with self._client:
                return await self._reconnecting(task_status)
        finally:
            self._pubsub = None

    async def _reconnecting(self, task_status: trio.TaskStatus[None]) -> RedisUnavailableError:
        """Reconnect for ever once started; return the error if the first connect fails."""
        attempt = 0
        if self._start_degraded:
            task_status.started()
            self._started = True
        while True:
            try:
                await self._session(task_status)
            except Exception as exc:
                if not self._started:
                    return RedisUnavailableError(
                        f"Redis at {self._url} unreachable within {self._connect_timeout}s: "
                        f"{first_error(exc)!r} (RedisBackend(start_degraded=True) starts anyway)"
                    )
                if is_broker_error(exc):
                    logger.warning("Redis connection lost: %r; reconnecting", first_error(exc))
                else:
                    logger.exception("the Redis reader failed; reconnecting")
            if self._pubsub is not None:
                self._lost()
                attempt = 0
            attempt += 1
            # Full jitter under a capped exponential: a fleet does not reconnect in step.
            delay = min(self._reconnect_max_delay, 0.05 * 2 ** min(attempt, 16))
            await trio.sleep(random.uniform(delay / 2, delay))

    def _lost(self) -> None:
        """The pub/sub connection dropped: every local topic may have lost messages."""
        hub = self._hub
        self._pubsub = None
        hub.counters.reconnects += 1
        for topic in list(hub.topics):
            hub.gap(topic, "reconnect")

    # ------------------------------------------------------------------ one session
    async def _session(self, task_status: trio.TaskStatus[None]) -> None:
        """One pub/sub connection: subscribe, refill, then read until it fails."""
        hub = self._hub
        pubsub = self._client.pubsub(retry_policy=None, ignore_subscribe_messages=True)
        # A deadline for connecting, lifted once connected (one scope around the
        # whole context: a scope may not end inside the context's own task group).
        with trio.CancelScope(deadline=trio.current_time() + self._connect_timeout) as scope:
            async with pubsub:
                async with self._lock:
                    topics = list(hub.topics)
                    if topics:
                        await pubsub.subscribe(*(self._keys.channel(t) for t in topics))
                    await self._history.refill(hub, topics)
                    self._pubsub = pubsub
                scope.deadline = math.inf
                if not self._started:
                    self._started = True
                    task_status.started()
                logger.info("subscribed to Redis at %s (%d topic(s))", self._url, len(topics))
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._health_check)
                    await self._read(pubsub)
        if scope.cancelled_caught:
            raise TimeoutError(f"no Redis connection within {self._connect_timeout}s")

    async def _read(self, pubsub: Any) -> None:
        hub = self._hub
        keys = self._keys
        while True:
            message = await pubsub.get_message()
            if message is None or message["type"] != "message":
                continue
            topic = keys.topic(text(message["channel"]))
            parts = text(message["data"]).split("\n", 2)
            if len(parts) != 3:
                # Someone else PUBLISHed on our prefix: not ours to deliver.
                logger.warning("ignored a message on %r not sent by wsactors", topic)
                continue
            message_id, exclude, raw = parts
            hub.dispatch(Message(topic, raw, message_id or None), exclude or None)

    async def _health_check(self) -> None:
        while True:
            await trio.sleep(self._health_check_interval)
            with trio.move_on_after(self._health_check_timeout):
                await self._client.ping()
                continue
            raise TimeoutError(f"Redis did not answer PING within {self._health_check_timeout}s")

    # ------------------------------------------------------------------ topics
    async def subscribe(self, topic: str) -> None:
        """SUBSCRIBE ``topic`` on the current session; while disconnected, a Gap instead.

        A topic that could not be subscribed is subscribed by the next session.

        Raises:
            Exception: SUBSCRIBE failed other than by a broker failure (which
                only logs a warning and gives the topic a Gap).

        Cancellation:
            Unbounded here, also while waiting for a session's subscribing; if
            cancelled, the topic may or may not be subscribed.
        """
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None:
                # Nothing reaches this topic until the next session.
                self._hub.gap(topic, "reconnect")
                return
            try:
                await pubsub.subscribe(self._keys.channel(topic))
            except Exception as exc:
                if not is_broker_error(exc):
                    raise
                logger.warning("SUBSCRIBE %s failed: %r", topic, exc)
                self._hub.gap(topic, "reconnect")

    async def unsubscribe(self, topic: str) -> None:
        """UNSUBSCRIBE ``topic``, unless it has local subscribers again; a lost
        session needs nothing (the next one subscribes only the local topics).

        Raises:
            Exception: UNSUBSCRIBE failed other than by a broker failure (which
                only logs).

        Cancellation:
            Unbounded here (the caller bounds it); if cancelled, the topic may
            stay subscribed, and its messages find no local subscriber.
        """
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None or topic in self._hub.topics:
                await trio.lowlevel.checkpoint()
                return
            try:
                await pubsub.unsubscribe(self._keys.channel(topic))
            except Exception as exc:
                if not is_broker_error(exc):
                    raise
                logger.info("UNSUBSCRIBE %s failed: %r", topic, exc)
