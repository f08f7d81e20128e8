"""``Channels``: publish to topics, subscribe to them, stream them into sockets.

They also implement :class:`~wsactors.actors.feed.TopicHub` for the App's
connections: ``socket.subscribe`` calls :meth:`Channels.attach`, which gives the
connection a :class:`~wsactors.channels.connection.ConnectionSubscription` per
topic (no task), and ``socket.unsubscribe`` and the connection's end call
:meth:`Channels.detach`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import trio

from ..actors.feed import Feed
from ..codec.codec import Codec
from ..connection.closes import Why
from .backend import Backend
from .connection import ConnectionSubscription
from .hub import Hub, owner_key
from .items import OVERFLOWS, ChannelStatistics, Gap, Message, Overflow
from .memory import MemoryBackend
from .subscription import Subscription

if TYPE_CHECKING:
    from ..socket.websocket import WebSocket

__all__ = ["Channels"]

logger = logging.getLogger("wsactors.channels")

#: Seconds an unsubscription from the broker may take when a subscription ends.
LEAVE_TIMEOUT = 2.0


def _checked(max_backlog: int, overflow: str) -> None:
    if not isinstance(max_backlog, int):
        raise ValueError(f"max_backlog must be an int, got {max_backlog!r}")
    if max_backlog < 1:
        raise ValueError(f"max_backlog must be at least 1, got {max_backlog}")
    if overflow not in OVERFLOWS:
        raise ValueError(f"overflow must be one of {sorted(OVERFLOWS)}, got {overflow!r}")


class Channels:
    """Topics with bounded, never-silent fan-out.

    Give it to the App (``App(..., channels=Channels())``): it starts and stops with
    the App's lifespan and handlers, hooks and dependencies ask for it as
    ``channels``. Outside an App, ``async with channels:`` runs it.

    Args:
        backend: :class:`MemoryBackend` (default: one process) or
            ``wsactors.channels.RedisBackend`` (several processes).
        max_backlog: Default bound of each subscription's backlog (messages).
        overflow: Default policy of a full backlog: ``"drop_oldest"``,
            ``"drop_newest"`` or ``"close"``.
        history: Messages kept per topic for replay (0: none, publish returns None).
        codec: The JSON codec; the App sets its own when given the Channels.

    Raises:
        ValueError: a bad ``max_backlog``, ``overflow`` or ``history``.
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        max_backlog: int = 256,
        overflow: Overflow = "drop_oldest",
        history: int = 0,
        codec: Codec | None = None,
    ) -> None:
        _checked(max_backlog, overflow)
        if history < 0:
            raise ValueError(f"history must be 0 or more, got {history}")
        self.backend: Backend = backend if backend is not None else MemoryBackend()
        self.max_backlog = max_backlog
        self.overflow: Overflow = overflow
        self.history = history
        self.codec = codec or Codec()
        self._hub = Hub()
        self._stack: AsyncExitStack | None = None
        self._watch_lock = trio.Lock()

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        """Whether the Channels are started."""
        return self._stack is not None

    async def __aenter__(self) -> Channels:
        """Start the backend (connect, start its tasks).

        Raises:
            RuntimeError: already running.
            Exception: what the backend raised (e.g. Redis unreachable in time).
        """
        if self._stack is not None:
            raise RuntimeError("these Channels are already running")
        stack = AsyncExitStack()
        nursery = await stack.enter_async_context(trio.open_nursery())
        try:
            await self.backend.start(self._hub, nursery)
        except BaseException:
            nursery.cancel_scope.cancel()
            await stack.aclose()
            raise
        stack.push_async_callback(self.backend.stop)
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the backend and its tasks (each backend bounds its own stop)."""
        stack, self._stack = self._stack, None
        if stack is None:
            return
        for subscription in list(self._hub.topics.values()):
            for sub in subscription:
                sub.close()
        await stack.aclose()

    def _require_running(self) -> None:
        if self._stack is None:
            raise RuntimeError(
                "Channels are not running: give them to App(channels=...) and serve the "
                "App, or use `async with channels:`"
            )

    # ------------------------------------------------------------------ publishing
    async def publish(self, topic: str, data: Any, *, exclude: object = None) -> str | None:
        """Publish ``data`` to every subscriber of ``topic``, in every process.

        ``data`` is encoded to JSON once, with the App's codec.

        Args:
            topic: The topic.
            data: Anything the codec can encode.
            exclude: A socket or subscription that should not receive it (do not
                echo a message back to its sender).

        Returns:
            The message id when the Channels keep history, else None.

        Raises:
            RuntimeError: the Channels are not running.
            Exception: the backend could not publish (Redis unreachable).

        Cancellation:
            If cancelled, the message may or may not have been published.
        """
        self._require_running()
        raw = self.codec.dumps(data)
        excluded = owner_key(exclude) if exclude is not None else None
        message_id = await self.backend.publish(topic, raw, excluded, self.history)
        self._hub.counters.published += 1
        return message_id

    # ------------------------------------------------------------------ subscribing
    @asynccontextmanager
    async def subscribe(
        self,
        *topics: str,
        max_backlog: int | None = None,
        overflow: Overflow | None = None,
        history: int = 0,
        owner: object = None,
    ) -> AsyncIterator[Subscription]:
        """Subscribe to ``topics`` for the block; iterate for Messages and Gaps.

        Args:
            topics: One or more topics.
            max_backlog: This subscription's bound (default: the Channels').
            overflow: This subscription's policy (default: the Channels').
            history: Replay up to this many kept messages of each topic first
                (at most ``max_backlog``); duplicates with the live stream are
                dropped by id.
            owner: What ``publish(..., exclude=owner)`` skips (default: the
                subscription itself).

        Raises:
            RuntimeError: the Channels are not running.
            ValueError: no topic, or bad options.

        Cancellation:
            Leaving the block (also by cancellation) unsubscribes, shielded and
            bounded by ``LEAVE_TIMEOUT``.
        """
        self._require_running()
        if not topics:
            raise ValueError("subscribe needs at least one topic")
        backlog = self.max_backlog if max_backlog is None else max_backlog
        policy: Overflow = self.overflow if overflow is None else overflow
        _checked(backlog, policy)
        sub = Subscription(
            tuple(dict.fromkeys(topics)),
            max_backlog=backlog,
            overflow=policy,
            owner=owner,
            counters=self._hub.counters,
        )
        if owner is None:
            sub.owner = sub
        # Live first, history second: nothing published in between is missed.
        new = self._hub.add(sub)
        try:
            async with self._watch_lock:
                for topic in new:
                    await self.backend.watch(topic)
            if history > 0 and self.history > 0:
                for topic in sub.topics:
                    sub.replay(topic, await self.backend.history(topic, min(history, backlog)))
            yield sub
        finally:
            sub.close()
            gone = self._hub.remove(sub)
            if gone:
                with trio.CancelScope(shield=True), trio.move_on_after(LEAVE_TIMEOUT):
                    async with self._watch_lock:
                        for topic in gone:
                            await self.backend.unwatch(topic)

    # ------------------------------------------------------------------ connections
    async def attach(
        self,
        feed: Feed,
        topics: tuple[str, ...],
        *,
        history: int,
        max_backlog: int | None,
        overflow: str | None,
        on_gap: str,
    ) -> None:
        """Subscribe a connection to ``topics`` (``socket.subscribe``).

        Each topic the connection has no subscription of gets one, registered
        before this returns; with ``history`` its kept messages are replayed first.

        Raises:
            RuntimeError: the Channels are not running.
            ValueError: bad options.
            Exception: the backend could not subscribe (Redis unreachable).

        Cancellation:
            If cancelled (or failing), the topics it added are removed again.
        """
        self._require_running()
        backlog = self.max_backlog if max_backlog is None else max_backlog
        policy = self.overflow if overflow is None else overflow
        _checked(backlog, policy)
        if not isinstance(history, int) or history < 0:
            raise ValueError(f"history must be 0 or more, got {history!r}")
        holding = history > 0 and self.history > 0
        hub = self._hub
        added: list[ConnectionSubscription] = []
        new: list[str] = []
        for topic in dict.fromkeys(topics):
            if topic in feed.lanes:
                continue
            sub = ConnectionSubscription(
                topic,
                feed,
                max_backlog=backlog,
                overflow=policy,  # type: ignore[arg-type]  # checked above
                on_gap=on_gap,
                counters=hub.counters,
                dumps=self.codec.dumps,
                holding=holding,
            )
            feed.lanes[topic] = sub
            added.append(sub)
            new += hub.add(sub)
        try:
            async with self._watch_lock:
                for topic in new:
                    await self.backend.watch(topic)
            if holding:
                for sub in added:
                    sub.replay(await self.backend.history(sub.topic, min(history, backlog)))
        except BaseException:
            await self.detach(feed, tuple(sub.topic for sub in added))
            raise
        if not added:
            await trio.lowlevel.checkpoint()
        for sub in added:
            if sub.holding:
                sub.release()

    async def detach(self, feed: Feed, topics: tuple[str, ...]) -> None:
        """End a connection's subscriptions of ``topics`` (``socket.unsubscribe``).

        They end at once; the backend stops receiving a topic nobody here still
        subscribes to (shielded, bounded by ``LEAVE_TIMEOUT``; a failure is logged).

        Cancellation:
            Shielded: it runs when a connection ends.
        """
        gone: list[str] = []
        for topic in dict.fromkeys(topics):
            sub = feed.lanes.pop(topic, None)
            if isinstance(sub, ConnectionSubscription):
                sub.close()
                gone += self._hub.remove(sub)
        await self._leave(gone)

    async def _leave(self, topics: Iterable[str]) -> None:
        """Stop the backend receiving ``topics``; shielded and bounded, failures logged."""
        with trio.CancelScope(shield=True), trio.move_on_after(LEAVE_TIMEOUT):
            await trio.lowlevel.checkpoint()
            if self._stack is None:
                return  # stopped: the backend holds no subscription any more
            try:
                async with self._watch_lock:
                    for topic in topics:
                        await self.backend.unwatch(topic)
            except Exception as exc:
                logger.warning("could not unsubscribe from the broker: %r", exc)

    async def send_to(
        self,
        socket: WebSocket,
        *topics: str,
        max_backlog: int | None = None,
        overflow: Overflow | None = None,
        history: int = 0,
        on_gap: Literal["notify", "close"] = "notify",
        listen_for_disconnect: bool = False,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Stream ``topics`` into an accepted ``socket`` until it closes.

        Messages go out as the publisher's JSON text, unchanged. Run it beside the
        connection's receive loop, as a task of the connection
        (``await socket.start(channels.send_to, socket, topic)``, from a listener's
        ``on_connect`` too) or in a nursery of a handler; publishing with
        ``exclude=socket`` skips this socket. To deliver topics to a connection,
        :meth:`WebSocket.subscribe <wsactors.WebSocket.subscribe>` is usually the
        better answer: no task, a backlog per topic, and it ends with the connection.

        Args:
            socket: An accepted WebSocket.
            topics, max_backlog, overflow, history: As for :meth:`subscribe`.
            on_gap: ``"notify"`` sends ``{"type": "gap", "topic", "reason",
                "count"}``; ``"close"`` closes with 1013 "Try Again Later". The
                ``"close"`` overflow policy always closes with 1013.
            listen_for_disconnect: Also read from the socket, as in
                ``send_websocket_stream`` (only when nothing else reads it).
            task_status: With ``nursery.start(channels.send_to, ...)``, the start
                returns once the subscription is registered: a message published
                after it reaches this socket.

        Raises:
            RuntimeError: the Channels are not running.

        Cancellation:
            Unsubscribes, as :meth:`subscribe`; the socket stays open.
        """
        from ..handlers.stream import send_websocket_stream

        async with self.subscribe(
            *topics, max_backlog=max_backlog, overflow=overflow, history=history, owner=socket
        ) as sub:
            task_status.started()
            closing = False

            async def items() -> AsyncIterator[Any]:
                nonlocal closing
                async for item in sub:
                    if isinstance(item, Gap):
                        socket.context.count_gap(item.count)
                        if on_gap == "close":
                            closing = True
                            return
                    yield item.raw if isinstance(item, Message) else item.as_json()

            async def send(target: WebSocket, item: Any) -> None:
                if isinstance(item, str):
                    await target.send_data(item)
                else:
                    await target.send_json(item)

            await send_websocket_stream(
                socket,
                items(),
                close=False,
                send_handler=send,
                listen_for_disconnect=listen_for_disconnect,
            )
            if closing or sub.close_reason == "overflow":
                await socket.close(Why.TRY_AGAIN.code, Why.TRY_AGAIN.reason)

    # ------------------------------------------------------------------ statistics
    def statistics(self) -> ChannelStatistics:
        """Counts of this Channels (a snapshot)."""
        counters = self._hub.counters
        return ChannelStatistics(
            topics=len(self._hub.topics),
            subscribers=self._hub.subscriptions,
            published=counters.published,
            delivered=counters.delivered,
            dropped=counters.dropped,
            reconnects=counters.reconnects,
            connected=self.backend.connected,
            gaps=dict(counters.gaps),
        )
