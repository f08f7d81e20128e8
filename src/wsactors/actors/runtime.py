"""One connection's runtime: its state, channels, counters and watcher, by owner.

:class:`ConnectionRuntime` is what the actors and the ``WebSocket`` handle share.
Handler kinds see it only through :class:`HandlerContext` (``socket.context``), a
narrow, documented view: the codec and limits, whether the connection was
accepted, the data-discard rule, settling the close and ending the connection's own
tasks before a hook runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol, cast

import trio

from ..codec.codec import Codec
from ..connection.closes import Why, stop_error
from ..connection.endings import deciding_error, final_events
from ..connection.events import Close, Outgoing, Send
from ..connection.limits import RuntimeConfig
from ..connection.state import ConnectionState
from ..exceptions import WebSocketDisconnect
from ..transport.base import Capabilities, DirectWrites, Transport
from .counters import ConnectionStatistics, Counters
from .discard import DiscardRule
from .feed import Feed, TopicHub
from .mailbox import Mailbox
from .tasks import ConnectionTasks
from .watcher import Watcher

__all__ = ["ConnectionObserver", "ConnectionRuntime", "HandlerContext"]


class ConnectionObserver(Protocol):
    """Told what a connection's counters cannot say: its end, its keepalive round trips.

    The App's metrics implement it (:mod:`wsactors.metrics`); without metrics there
    is none. Its methods are called synchronously from the connection's own tasks,
    never per message, and must not block.
    """

    def pong(self, latency: float) -> None:
        """A keepalive round trip, in seconds (transports that ping)."""
        ...

    def ended(self, rt: ConnectionRuntime, duration: float) -> None:
        """The connection is over: every task has stopped and its counters are final.

        Called in the same step as the connection leaves the App's
        :class:`~wsactors.actors.registry.LiveConnections`.
        """
        ...


class HandlerContext(Protocol):
    """What a handler kind (listener, stream, class listener) may use of a connection."""

    @property
    def codec(self) -> Codec:
        """The App's codec (JSON and validation)."""
        ...

    @property
    def config(self) -> RuntimeConfig:
        """The route's sizes and time limits."""
        ...

    @property
    def accepted(self) -> bool:
        """Whether the connection was accepted (stays True after the close)."""
        ...

    def listening(self, allow: bool, warn: bool) -> contextlib.AbstractContextManager[DiscardRule]:
        """Apply the data-discard rule while the block runs (see ``DiscardRule``)."""
        ...

    async def settle(self, error: BaseException | None) -> None:
        """Queue the close that ``error`` (the behaviour's ending) calls for, now.

        So that ``on_disconnect`` sees the final ``close_code``.
        """
        ...

    def count_gap(self, lost: int | None) -> None:
        """Count a loss a fan-out met on its way to this connection (``statistics()``)."""
        ...

    async def end_tasks(self) -> None:
        """Cancel the connection's own tasks (``socket.start_soon``) and wait for them.

        Handler kinds call it before ``on_disconnect``; shielded and bounded.
        """
        ...


class ConnectionRuntime:
    """Everything the actors of one connection share (one Trio thread: no locks).

    Args:
        capabilities: What the transport can do.
        subprotocols: The subprotocols the client offered.
        config: Sizes and time limits.
        codec: The App's codec.
        path: The request path (for log lines).
        reader: The handler kind always reads (listeners).
        observer: Told how the connection ends (the App's metrics), or None.
        transport: The transport (only for its direct writes: :meth:`send`, ``feed``).
        topics: The App's Channels, for ``socket.subscribe``, or None.
    """

    __slots__ = (
        "capabilities",
        "close_sent",
        "codec",
        "config",
        "counters",
        "direct",
        "direct_armed",
        "feed",
        "latency",
        "mailbox",
        "observer",
        "path",
        "sender_done",
        "sender_scope",
        "state",
        "tasks",
        "topics",
        "transport",
        "undelivered",
        "watcher",
    )

    def __init__(
        self,
        capabilities: Capabilities,
        subprotocols: tuple[str, ...],
        config: RuntimeConfig,
        codec: Codec,
        path: str,
        *,
        reader: bool = False,
        observer: ConnectionObserver | None = None,
        transport: Transport | None = None,
        topics: TopicHub | None = None,
    ) -> None:
        self.capabilities = capabilities
        self.config = config
        self.codec = codec
        self.path = path
        self.state = ConnectionState(subprotocols, http_denials=capabilities.http_denials)
        self.mailbox = Mailbox(config.inbox_size, config.outbox_size)
        self.counters = Counters()
        self.watcher = Watcher(config.disconnect_grace, reader=reader)
        #: The last ping round trip, in seconds (transports that can ping).
        self.latency: float | None = None
        self.observer = observer
        self.transport = transport
        #: The transport's direct write of a message (``DirectWrites.send_data_now``),
        #: or None: see :meth:`send`.
        self.direct: Callable[[str | bytes], int] | None = None
        if transport is not None and capabilities.direct_writes:
            self.direct = cast(DirectWrites, transport).send_data_now
        #: One direct write per received message or queued send (see :meth:`send`);
        #: re-armed by the receiver and by a queued send.
        self.direct_armed = True
        self.topics = topics
        #: The connection's subscriptions, from its first ``socket.subscribe``.
        self.feed: Feed | None = None
        #: The close frame the transport accepted, once it did (for the log line).
        self.close_sent: Close | None = None
        #: Why the close frame could not be delivered, when it could not.
        self.undelivered: str | None = None
        self.sender_done = trio.Event()
        # Shielded: the sender must outlive an outer cancellation (server shutdown)
        # long enough to send the final close; the supervisor ends it, bounded by
        # close_timeout, by closing the outbox or cancelling this scope.
        self.sender_scope = trio.CancelScope(shield=True)
        #: The user's tasks (``socket.start_soon``); the supervisor gives them its nursery.
        self.tasks = ConnectionTasks(self.watcher, self.state, path, config.cleanup_timeout)

    @property
    def accepted(self) -> bool:
        """Whether the connection was accepted."""
        return self.state.accepted

    def peer_left(self, code: int, reason: str, by_peer: bool = True) -> None:
        """Record the peer leaving, apply the watcher's policy, close the inbox."""
        if self.state.peer_left(code, reason, by_peer):
            self.watcher.peer_left(self.mailbox)
            self.mailbox.inbox.close()

    def engine_failing(self, code: int, reason: str) -> None:
        """The transport fails the connection once the behaviour answered what came
        before (``events.Failing``): the peer's input is over, as if
        it had left, but sends still go out until the close."""
        if self.state.engine_failing(code, reason):
            self.watcher.peer_left(self.mailbox)
            self.mailbox.inbox.close()

    @contextlib.contextmanager
    def listening(self, allow: bool, warn: bool) -> Iterator[DiscardRule]:
        """Route client messages to a data-discard rule while the block runs.

        Messages queued before it began are judged by the rule first. Leaving the
        block restores normal receiving.
        """
        rule = DiscardRule(allow, warn, self.counters, self.path)
        inbox = self.mailbox.inbox
        with contextlib.suppress(trio.WouldBlock, trio.EndOfChannel):
            while True:
                rule.take(inbox.get_nowait())
        if self.state.peer_gone:
            rule.peer_left()
        watcher = self.watcher
        watcher.listening = rule
        try:
            yield rule
        finally:
            watcher.listening = None

    def ending(self, error: BaseException | None, *, cancelled: bool) -> BaseException | None:
        """The error that decides the close for how the behaviour ended.

        Args:
            error: What the behaviour raised (not a ``Cancelled``), or ``None``.
            cancelled: The behaviour was cancelled from outside the connection (the
                server shutting down): 1001 unless another reason is known.
        """
        decided = deciding_error(error)
        if decided is None:
            decided = self.watcher.stop_reason
        if decided is None and cancelled:
            decided = stop_error(Why.GOING_AWAY)
        return decided

    async def queue_final(self, decided: BaseException | None) -> None:
        """Queue what :func:`~wsactors.connection.endings.final_events` owes the peer.

        Cancellation:
            Must run shielded; bounded by ``close_timeout``. What could not be
            queued in time is left to the supervisor (which then gives up).
        """
        events = final_events(self.state, decided, debug=self.config.debug)
        if not events:
            await trio.lowlevel.checkpoint()
            return
        with trio.move_on_after(self.config.close_timeout):
            for event in events:
                await self.queue(event)

    async def queue(self, event: Outgoing) -> None:
        """Put ``event`` in the outbox, then record it in the state.

        Raises:
            WebSocketDisconnect: the sender is gone (the connection is over).

        Cancellation:
            A cancellation point; if cancelled, nothing was queued or recorded.
        """
        await self.put(event)
        self.state.queued(event)

    async def put(self, event: Outgoing) -> None:
        """Put ``event`` in the outbox (a ``Send`` changes no state: see :meth:`queue`).

        Raises:
            WebSocketDisconnect: the sender is gone (the connection is over).

        Cancellation:
            A cancellation point; if cancelled, nothing was queued.
        """
        # A cancellation point; it yields to the scheduler only when the outbox is
        # full (backpressure), saving a round trip per message (docs/performance.md).
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._offer(event):
            await self._put_waiting(event)

    def _offer(self, event: Outgoing) -> bool:
        """Queue ``event`` if the outbox has room (False: it is full). A plain call:
        the per-message path pays no coroutine frame for it."""
        try:
            self.mailbox.outbox.put_nowait(event)
        except trio.WouldBlock:
            return False
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self.state.disconnect_error() from None
        return True

    async def _put_waiting(self, event: Outgoing) -> None:
        """Wait for room in the full outbox (backpressure), then queue ``event``."""
        self.counters.send_waits += 1  # only on this slow path: no per-message cost
        try:
            await self.mailbox.outbox.put(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self.state.disconnect_error() from None

    async def send(self, data: str | bytes) -> None:
        """Send the handler's message: written at once while the sender is idle, else
        queued in the outbox as a ``Send`` (counted by the caller either way).

        One hop fewer: when the transport has direct writes, the wire is open and the
        sender is parked on an empty outbox, the message is framed and written here,
        under the sender's ownership (:class:`~wsactors.transport.base.DirectWrites`),
        instead of waking the sender to do it. That is what the sender would do with
        it: the state machine lets a ``Send`` go out exactly while the wire is open
        (``ConnectionState.hand_over``), and nothing is queued ahead of it. A direct
        write never blocks: what the socket does not take is kept by the transport,
        which wakes the sender to write it first (timed by ``send_timeout`` as any
        write of the sender's); later sends then queue behind it.

        One direct write per message received (the reply of a request-response
        handler): a handler that sends a burst, or pushes without reading, writes
        its first message directly and queues the rest, so they join in the outbox
        and the sender writes them together instead of one write per message.

        Raises:
            WebSocketDisconnect: the sender is gone (the connection is over).

        Cancellation:
            A cancellation point; if cancelled, nothing was written or queued. A
            direct write ends with a schedule point that cannot be cancelled (the
            message is out), so a handler that sends in a loop lets others run.
        """
        # direct_armed first: a pushing handler pays one attribute check per message.
        if (
            self.direct_armed
            and (direct := self.direct) is not None
            and self.state.wire_open
            and self.mailbox.outbox.consumer_waiting()
        ):
            await trio.lowlevel.checkpoint_if_cancelled()
            if direct(data):
                self.direct_armed = False
                await trio.lowlevel.cancel_shielded_checkpoint()
                return
        # Queued: the sender is woken, and the sends right after this one join it in
        # the outbox (one write for the lot). Not re-armed here: a pushing handler
        # keeps the sender's batched writes (one direct write per queued send cost
        # a push 9 % more instructions); the next received message re-arms it.
        # put() inlined, to the outbox's put_nowait: no frame or call per message.
        event = Send(data)
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self.mailbox.outbox.put_nowait(event)
        except trio.WouldBlock:
            await self._put_waiting(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self.state.disconnect_error() from None

    async def settle(self, error: BaseException | None) -> None:
        """See :meth:`HandlerContext.settle`.

        Cancellation:
            Shielded and bounded by ``close_timeout``: it runs in ``finally`` blocks
            of cancelled behaviours.
        """
        cancelled = isinstance(error, trio.Cancelled)
        decided = self.ending(None if cancelled else error, cancelled=cancelled)
        # The sender being gone means there is no one left to tell.
        with trio.CancelScope(shield=True), contextlib.suppress(WebSocketDisconnect):
            await self.queue_final(decided)

    def count_gap(self, lost: int | None) -> None:
        """See :meth:`HandlerContext.count_gap`."""
        counters = self.counters
        counters.channel_gaps += 1
        if lost:
            counters.channel_lost += lost

    async def end_tasks(self) -> None:
        """See :meth:`HandlerContext.end_tasks`.

        Cancellation:
            Shielded and bounded by ``cleanup_timeout`` (:meth:`ConnectionTasks.end`).
        """
        await self.tasks.end()

    def open_feed(self, owner: object) -> Feed:
        """The connection's :class:`Feed` (made on first use), ``owner`` its handle.

        Raises:
            RuntimeError: the App has no Channels.
        """
        feed = self.feed
        if feed is None:
            if self.topics is None:
                raise RuntimeError(
                    "socket.subscribe needs the App's Channels: App(..., channels=Channels())"
                )
            direct = None
            if self.transport is not None and self.capabilities.direct_writes:
                direct = cast(DirectWrites, self.transport).send_now
            mailbox = self.mailbox
            feed = Feed(self.topics, owner, self.state, mailbox.outbox, self.counters, direct)
            self.feed = feed
        return feed

    def statistics(self) -> ConnectionStatistics:
        """A snapshot of the counters and queue depths."""
        feed = self.feed
        return self.counters.snapshot(self.mailbox, feed.backlog() if feed is not None else 0)
