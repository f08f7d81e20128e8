"""``RedisBackend``: the Channels' backend through Redis, made of its parts.

The backend owns its options, the client, and the one background task with its
bounded shutdown; it answers the :class:`~wsactors.channels.backend.Backend`
calls. Each start makes the client and the parts, objects with their own state
that it hands their collaborators: a :class:`~.pubsub.PubSubConnection` (the
pub/sub connection: sessions, health check, reconnect loop; its task keeps the
client's pool open) and a :class:`~.history.StreamHistory` (publishing with an
id, refill, replay), both naming keys through one :class:`~.keys.Keys`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ..hub import Hub
from ..items import Message
from .errors import RedisUnavailableError, is_broker_error, raise_unless_stopping_noise
from .history import StreamHistory
from .keys import Keys
from .pubsub import PubSubConnection

if TYPE_CHECKING:
    import coredis

__all__ = ["RedisBackend"]

logger = logging.getLogger("wsactors.channels.redis")


class RedisBackend:
    """Channels through Redis pub/sub, with history in Redis streams.

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS, ``unix://`` sockets).
        prefix: Prefix of every channel and stream key (``{prefix}:{topic}``).
        connect_timeout: Seconds to connect (at startup and on each reconnect).
        start_degraded: Start even when Redis is unreachable, and keep trying;
            otherwise startup fails with
            :class:`~wsactors.channels.redis.RedisUnavailableError`.
        reconnect_max_delay: Cap of the backoff between reconnect attempts.
        health_check_interval: Seconds between health-check PINGs.
        health_check_timeout: Seconds a PING may take before Redis counts as lost.
        stop_timeout: Bound of the shutdown, also with Redis down.
        refill_limit: Most messages a topic is refilled with after a reconnect.

    Raises:
        ImportError: coredis is not installed (``pip install 'wsactors[redis]'``).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "wsactors",
        connect_timeout: float = 5.0,
        start_degraded: bool = False,
        reconnect_max_delay: float = 0.5,
        health_check_interval: float = 5.0,
        health_check_timeout: float = 2.0,
        stop_timeout: float = 2.0,
        refill_limit: int = 1000,
    ) -> None:
        import coredis  # noqa: F401 (fail here, with a clear ImportError, not at start)

        self.url = url
        self.prefix = prefix
        self.connect_timeout = connect_timeout
        self.start_degraded = start_degraded
        self.reconnect_max_delay = reconnect_max_delay
        self.health_check_interval = health_check_interval
        self.health_check_timeout = health_check_timeout
        self.stop_timeout = stop_timeout
        self.refill_limit = refill_limit
        self._client: coredis.Redis[bytes] | None = None
        self._keys = Keys(prefix)
        # The parts of the latest start (kept after stop: they answer "disconnected").
        self._history: StreamHistory | None = None
        self._pubsub: PubSubConnection | None = None
        # The background task's scope, and its end.
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()

    @property
    def connected(self) -> bool:
        """Whether the pub/sub connection is up and subscribed."""
        return self._pubsub is not None and self._pubsub.connected

    # ------------------------------------------------------------------ lifecycle
    async def start(self, hub: Hub, nursery: trio.Nursery) -> None:
        """Make the client and the parts, and start the background task in ``nursery``.

        Returns once subscribed (at once with ``start_degraded``).

        Raises:
            RedisUnavailableError: no connection within ``connect_timeout`` (unless
                ``start_degraded``).

        Cancellation:
            Cancels the start; the task ends with it.
        """
        import coredis

        self._done = trio.Event()
        client: coredis.Redis[bytes] = coredis.Redis.from_url(
            self.url, connect_timeout=self.connect_timeout
        )
        keys = self._keys = Keys(self.prefix)
        history = StreamHistory(client, keys, self.refill_limit)
        pubsub = PubSubConnection(
            client,
            hub,
            history,
            keys,
            url=self.url,
            connect_timeout=self.connect_timeout,
            start_degraded=self.start_degraded,
            reconnect_max_delay=self.reconnect_max_delay,
            health_check_interval=self.health_check_interval,
            health_check_timeout=self.health_check_timeout,
        )
        self._client, self._history, self._pubsub = client, history, pubsub
        await nursery.start(self._run, pubsub)

    async def stop(self) -> None:
        """Cancel the background task and wait for it, at most ``stop_timeout`` seconds.

        Cancellation:
            Ends the wait at once (the task is cancelled already); the client is
            then kept until the next start.
        """
        if self._scope is not None:
            self._scope.cancel()
        with trio.move_on_after(self.stop_timeout) as bound:
            await self._done.wait()
        if bound.cancelled_caught:
            logger.warning("the Redis reader did not stop within %ss", self.stop_timeout)
        self._client = None

    async def _run(
        self,
        pubsub: PubSubConnection,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """The background task: the pub/sub connection, until cancelled by :meth:`stop`.

        Raises:
            RedisUnavailableError: the first connection failed (not with
                ``start_degraded``).
        """
        try:
            with trio.CancelScope() as self._scope:
                failure = await pubsub.run(task_status)
                # Raised out here, not through the pool's task group: no ExceptionGroup.
                raise failure
        except RedisUnavailableError:
            raise
        except BaseException as exc:
            # Only while stopping: what coredis raised beside our own cancellation.
            if not (self._scope is not None and self._scope.cancel_called):
                raise
            raise_unless_stopping_noise(exc)
        finally:
            self._done.set()

    # ------------------------------------------------------------------ commands
    async def publish(self, topic: str, raw: str, exclude: str | None, history: int) -> str | None:
        """PUBLISH, or with ``history`` the XADD+PUBLISH script; bounded by ``connect_timeout``.

        Raises:
            RuntimeError: the backend is not started.
            coredis.exceptions.ConnectionError: Redis is unreachable.
            trio.TooSlowError: no answer within ``connect_timeout``.

        Cancellation:
            The message may or may not have been published.
        """
        client, streams = self._client, self._history
        if client is None or streams is None:
            raise RuntimeError("the RedisBackend is not started")
        with trio.fail_after(self.connect_timeout):
            if history <= 0:
                await client.publish(self._keys.channel(topic), f"\n{exclude or ''}\n{raw}")
                return None
            return await streams.publish(topic, raw, exclude, history)

    async def watch(self, topic: str) -> None:
        """SUBSCRIBE on the shared connection; while disconnected, a Gap instead.

        Cancellation:
            As ``PubSubConnection.subscribe``: the topic may or may not be subscribed.
        """
        assert self._pubsub is not None
        await self._pubsub.subscribe(topic)

    async def unwatch(self, topic: str) -> None:
        """UNSUBSCRIBE (bounded by the caller); a lost connection needs nothing.

        Cancellation:
            The topic may stay subscribed; its messages find no local subscriber.
        """
        if self._pubsub is None:
            await trio.lowlevel.checkpoint()
            return
        await self._pubsub.unsubscribe(topic)

    async def history(self, topic: str, count: int) -> list[Message]:
        """XREVRANGE of the topic's stream, oldest first; empty when Redis is down.

        Bounded by ``connect_timeout``.

        Cancellation:
            Safe: it only reads.
        """
        client, streams = self._client, self._history
        if client is None or streams is None or count <= 0:
            await trio.lowlevel.checkpoint()
            return []
        try:
            with trio.fail_after(self.connect_timeout):
                return await streams.read(topic, count)
        except Exception as exc:
            if not is_broker_error(exc):
                raise
            logger.warning("reading the history of %s failed: %r", topic, exc)
            return []
