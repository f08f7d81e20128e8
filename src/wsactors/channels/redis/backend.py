"""``RedisBackend``: channels across processes and machines, through Redis pub/sub.

Needs the optional extra ``wsactors[redis]``: coredis 6.x, the one Redis client
that runs natively on Trio (through anyio). One pub/sub connection per process
carries every topic this process has subscribers for; the :class:`Hub` fans each
message out locally. What coredis leaves to its user, handled here:

- it re-subscribes by itself after a reconnect, silently losing what was
  published meanwhile: this backend runs its own reconnect loop instead (coredis'
  retry is off) and gives every subscriber a ``Gap(reason="reconnect")``;
- its default backoff grows across outages and never resets: ours is capped by
  ``reconnect_max_delay`` and resets once connected;
- entering a pub/sub with Redis unreachable waits without bound, and leaving one
  can hang: both are bounded (``connect_timeout``, ``stop_timeout``);
- it buffers pushed messages without bound when nobody reads: the reader task
  reads continuously into the subscribers' bounded backlogs;
- its keepalive PING has no deadline, so a frozen Redis goes unnoticed: a health
  check PINGs every ``health_check_interval`` and reconnects when no PONG comes
  within ``health_check_timeout``.

This module owns the backend's options, its startup (``connect_timeout``,
``start_degraded``), the reconnect loop, shutdown and the commands; one
pub/sub session with its reader and health check is in :mod:`.pubsub`,
the history streams (publish with an id, refill, replay) in :mod:`.history`.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

import trio

from ..hub import Hub
from ..items import Message
from .errors import first_error, is_broker_error, raise_unless_stopping_noise
from .history import PUBLISH_WITH_HISTORY, publish_with_history, read_history
from .pubsub import RedisReader

if TYPE_CHECKING:
    import coredis

__all__ = ["RedisBackend", "RedisUnavailableError"]

logger = logging.getLogger("wsactors.channels.redis")


class RedisUnavailableError(ConnectionError):
    """Redis could not be reached within ``connect_timeout`` at startup."""


class RedisBackend(RedisReader):
    """Channels through Redis pub/sub, with history in Redis streams.

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS, ``unix://`` sockets).
        prefix: Prefix of every channel and stream key (``{prefix}:{topic}``).
        connect_timeout: Seconds to connect (at startup and on each reconnect).
        start_degraded: Start even when Redis is unreachable, and keep trying;
            otherwise startup fails with :class:`RedisUnavailableError`.
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
        self._pubsub: Any = None
        self._hub: Hub | None = None
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self._lock = trio.Lock()
        self._script: Any = None
        self._started = False

    # ------------------------------------------------------------------ names
    def _channel(self, topic: str) -> str:
        return f"{self.prefix}:{topic}"

    def _stream(self, topic: str) -> str:
        return f"{self.prefix}:history:{topic}"

    @property
    def connected(self) -> bool:
        """Whether the pub/sub connection is up and subscribed."""
        return self._pubsub is not None

    # ------------------------------------------------------------------ lifecycle
    async def start(self, hub: Hub, nursery: trio.Nursery) -> None:
        """Connect and start the reader task.

        Raises:
            RedisUnavailableError: no connection within ``connect_timeout`` (unless
                ``start_degraded``).
        """
        import coredis

        self._hub = hub
        self._done = trio.Event()
        self._client = coredis.Redis.from_url(self.url, connect_timeout=self.connect_timeout)
        self._script = self._client.register_script(PUBLISH_WITH_HISTORY)
        await nursery.start(self._reader)

    async def stop(self) -> None:
        """Cancel the reader and wait for it, at most ``stop_timeout`` seconds."""
        if self._scope is not None:
            self._scope.cancel()
        with trio.move_on_after(self.stop_timeout) as bound:
            await self._done.wait()
        if bound.cancelled_caught:
            logger.warning("the Redis reader did not stop within %ss", self.stop_timeout)
        self._client = None

    # ------------------------------------------------------------------ the reader
    async def _reader(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, read, reconnect, until cancelled by :meth:`stop`."""
        assert self._client is not None
        try:
            with trio.CancelScope() as self._scope:
                # The pool's task group lives in this task, for as long as the reader.
                async with self._client:
                    failure = await self._reconnecting(task_status)
                # Raised out here, not through the pool's task group: no ExceptionGroup.
                if failure is not None:
                    raise failure
        except RedisUnavailableError:
            raise
        except BaseException as exc:
            # Only while stopping: what coredis raised beside our own cancellation.
            if not (self._scope is not None and self._scope.cancel_called):
                raise
            raise_unless_stopping_noise(exc)
        finally:
            self._pubsub = None
            self._done.set()

    async def _reconnecting(self, task_status: trio.TaskStatus[None]) -> RedisUnavailableError:
        """Reconnect for ever once started; return the error if the first connect fails."""
        attempt = 0
        self._started = False
        if self.start_degraded:
            task_status.started()
            self._started = True
        while True:
            try:
                await self._session(task_status)
            except Exception as exc:
                if not self._started:
                    return RedisUnavailableError(
                        f"Redis at {self.url} unreachable within {self.connect_timeout}s: "
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
            delay = min(self.reconnect_max_delay, 0.05 * 2 ** min(attempt, 16))
            await trio.sleep(random.uniform(delay / 2, delay))

    # ------------------------------------------------------------------ commands
    async def publish(self, topic: str, raw: str, exclude: str | None, history: int) -> str | None:
        """PUBLISH, or with ``history`` the XADD+PUBLISH script; bounded by ``connect_timeout``.

        Raises:
            coredis.exceptions.ConnectionError: Redis is unreachable.
            trio.TooSlowError: no answer within ``connect_timeout``.
        """
        client = self._client
        if client is None:
            raise RuntimeError("the RedisBackend is not started")
        with trio.fail_after(self.connect_timeout):
            if history <= 0:
                await client.publish(self._channel(topic), f"\n{exclude or ''}\n{raw}")
                return None
            return await publish_with_history(
                self._script, self._stream(topic), self._channel(topic), raw, exclude, history
            )

    async def watch(self, topic: str) -> None:
        """SUBSCRIBE on the shared connection; while disconnected, a Gap instead."""
        assert self._hub is not None
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None:
                # Nothing reaches this topic until the reader reconnects.
                self._hub.gap(topic, "reconnect")
                return
            try:
                await pubsub.subscribe(self._channel(topic))
            except Exception as exc:
                if not is_broker_error(exc):
                    raise
                logger.warning("SUBSCRIBE %s failed: %r", topic, exc)
                self._hub.gap(topic, "reconnect")

    async def unwatch(self, topic: str) -> None:
        """UNSUBSCRIBE (bounded by the caller); a lost connection needs nothing."""
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None or (self._hub is not None and topic in self._hub.topics):
                await trio.lowlevel.checkpoint()
                return
            try:
                await pubsub.unsubscribe(self._channel(topic))
            except Exception as exc:
                if not is_broker_error(exc):
                    raise
                logger.info("UNSUBSCRIBE %s failed: %r", topic, exc)

    async def history(self, topic: str, count: int) -> list[Message]:
        """XREVRANGE of the topic's stream, oldest first; empty when Redis is down."""
        client = self._client
        if client is None or count <= 0:
            await trio.lowlevel.checkpoint()
            return []
        try:
            with trio.fail_after(self.connect_timeout):
                return await read_history(client, self._stream(topic), topic, count)
        except Exception as exc:
            if not is_broker_error(exc):
                raise
            logger.warning("reading the history of %s failed: %r", topic, exc)
            return []
