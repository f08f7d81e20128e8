"""The ``WebSocket`` handle: what handlers use to talk to their connection.

The handle never touches the transport. Receives read the connection's inbox
(filled by the receiver actor); sends go through the runtime, which queues them in
its outbox (drained by the sender actor) or, while the sender is idle, has the
transport write them directly (``ConnectionRuntime.send``). Errors are translated
here, once: a closed or broken channel means the connection is over and surfaces
as :class:`~wsactors.WebSocketDisconnect`.

Subclass it and pass ``websocket_class=`` (App, Router or handler) to change what
handlers see; listeners read through :meth:`WebSocket.receive_data` and reply
through :meth:`WebSocket.send_data`, so overriding those changes listeners too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import trio

from ..actors.counters import payload_size
from ..codec.codec import Mode, Payload, to_frame
from ..connection.events import HeadersArg
from ..connection.state import ProtocolError, State
from ..exceptions import WebSocketDisconnect
from .scope import ScopeViews

if TYPE_CHECKING:
    from ..actors.counters import ConnectionStatistics
    from ..actors.runtime import ConnectionRuntime, HandlerContext

__all__ = ["WebSocket"]

logger = logging.getLogger("wsactors.connection")

_T = TypeVar("_T")

_WANT: dict[str, type[str] | type[bytes]] = {"text": str, "binary": bytes}


class _Stream(Generic[_T]):
    """An async iterator over received messages that ends quietly on disconnect."""

    __slots__ = ("_next",)

    def __init__(self, next_item: Any) -> None:
        self._next = next_item

    def __aiter__(self) -> _Stream[_T]:
        return self

    async def __anext__(self) -> _T:
        try:
            return await self._next()  # type: ignore[no-any-return]
        except WebSocketDisconnect:
            raise StopAsyncIteration from None


class WebSocket(ScopeViews):
    """One WebSocket connection, as a handler sees it.

    The handshake request's views (``path``, ``headers``, ``query_params``, ...)
    are defined in ``wsactors/socket/scope.py``, an internal base class.

    Created by the framework for every connection (never by users); subclass it to
    customise behaviour and register the subclass with ``websocket_class=``.

    Every async method is a cancellation point on every path. Those that queue
    something (accept, sends, close) are safe to cancel: a cancelled call queued
    nothing and changed no state, so a cancelled ``close()`` still leaves the
    connection's close frame to the framework, which sends exactly one.
    """

    def __init__(
        self,
        runtime: ConnectionRuntime,
        scope: dict[str, Any],
        *,
        path_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, path_params)
        self._rt = runtime

    @property
    def context(self) -> HandlerContext:
        """The connection, as handler kinds (listeners, streams) see it.

        A narrow view for code that builds on the runtime (docs/architecture.md):
        the codec and limits, ``accepted``, the data-discard rule and ``settle``.
        """
        return self._rt

    @property
    def accepted_subprotocol(self) -> str | None:
        """The subprotocol chosen at accept, if any."""
        return self._rt.state.subprotocol

    @property
    def connection_state(self) -> str:
        """``"init"``, ``"connected"`` or ``"disconnected"``."""
        return self._rt.state.public_state

    @property
    def close_code(self) -> int | None:
        """The close code, once the connection is closing or closed.

        It is the code this side sent (or queued), or the client's when it closed
        first (hypercorn reports 1006 for every client close, its issue #127; the
        native engine reports the client's code).
        """
        return self._rt.state.close_code

    @property
    def close_reason(self) -> str:
        """The reason that goes with :attr:`close_code` (``""`` if none)."""
        return self._rt.state.close_reason

    @property
    def latency(self) -> float | None:
        """The last keepalive ping's round trip in seconds (``None`` until one was
        answered, and always on transports that cannot ping, such as hypercorn)."""
        return self._rt.latency

    def statistics(self) -> ConnectionStatistics:
        """Message and byte counts, drops, and queue depths of this connection."""
        return self._rt.statistics()

    # ------------------------------------------------------------------ handshake
    async def accept(self, subprotocols: str | None = None, headers: HeadersArg = None) -> None:
        """Accept the handshake.

        Args:
            subprotocols: The subprotocol to use; must be one the client offered.
            headers: Extra response headers (mapping or pairs).

        Raises:
            ProtocolError: already accepted, closed or denied, or an unoffered
                subprotocol.
            ValueError: a header name or value that is not valid (CR, LF, NUL,
                another control character, not latin-1); the message names it.
            WebSocketDisconnect: the client left before it was accepted.

        Cancellation:
            If cancelled, nothing was queued and the connection is still unaccepted.
        """
        rt = self._rt
        await rt.queue(rt.state.accept_event(subprotocols, headers))
        logger.info("accepted %r subprotocol=%r", self.path, subprotocols)

    async def deny(self, status: int, body: bytes | str = b"", headers: HeadersArg = None) -> None:
        """Reject the handshake with an HTTP response (before accept only).

        Uses HTTP denials where the transport has them (hypercorn's ASGI
        ``websocket.http.response`` extension, the native engine); otherwise closes
        before accept, which servers answer with HTTP 403. A no-op once the client
        has left.

        Raises:
            ProtocolError: the connection was already accepted or closed.
            ValueError: an invalid header name or value.

        Cancellation:
            If cancelled, nothing was queued.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        rt = self._rt
        events = rt.state.deny_events(status, raw, headers)
        if not events:
            await trio.lowlevel.checkpoint()
        for event in events:
            await rt.queue(event)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection; idempotent, and a no-op once the client left.

        Before accept this rejects the handshake (HTTP 403). The reason is cut to the
        123-byte limit of RFC 6455 section 5.5.

        Raises:
            ValueError: ``code`` may not be sent (1005, 1006, 1015, unassigned).

        Cancellation:
            If cancelled, nothing was queued: the framework still sends exactly one
            close frame when the handler ends.
        """
        rt = self._rt
        event = rt.state.close_event(code, reason)
        if event is None:
            await trio.lowlevel.checkpoint()
            return
        # The sender being gone means the close cannot matter any more.
        with contextlib.suppress(WebSocketDisconnect):
            await rt.queue(event)

    # ------------------------------------------------------------------ receiving
    async def receive_message(self) -> Payload:
        """The next message, keeping its frame type: text -> ``str``, binary -> ``bytes``.

        Messages that arrived before the client left are still delivered.

        Raises:
            WebSocketDisconnect: the client left (and everything it sent was read),
                or this side closed the connection.
            ProtocolError: called before accept.

        Cancellation:
            Safe to cancel: no message is lost by a cancelled receive.
        """
        rt = self._rt
        state = rt.state
        if not state.sendable and not state.peer_gone:
            if state.current is State.CONNECTING:
                raise ProtocolError("accept the connection before receiving")
            raise state.disconnect_error()
        box = rt.mailbox
        box.has_read = True
        inbox = box.inbox
        try:
            # A cancellation point without a scheduler round trip when a message is
            # already queued (the per-message path; see docs/performance.md).
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                return inbox.get_nowait()
            except trio.WouldBlock:
                pass
            box.receiving += 1
            try:
                return await inbox.get()
            finally:
                box.receiving -= 1
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise state.disconnect_error() from None

    async def receive_data(self, mode: Mode = "text") -> Payload:
        """The next message of ``mode``: ``str`` for ``"text"``, ``bytes`` for ``"binary"``.

        Frames of the other type are dropped, counted in ``statistics()`` and
        logged at debug (a listener "will only listen to socket events of the
        appropriate type"). Use :meth:`receive_message` to get both.

        Raises:
            WebSocketDisconnect: as :meth:`receive_message`.

        Cancellation:
            As :meth:`receive_message`.
        """
        want = _WANT.get(mode)
        if want is None:
            raise ValueError(f"mode must be 'text' or 'binary', not {mode!r}")
        while True:
            data = await self.receive_message()
            if type(data) is want:
                return data
            self._rt.counters.dropped_frames += 1
            logger.debug(
                "%r: dropped a %s frame (receive mode %r)",
                self.path,
                "text" if want is bytes else "binary",
                mode,
            )

    async def receive_text(self) -> str:
        """The next text message (binary frames are dropped, see :meth:`receive_data`).

        Cancellation:
            As :meth:`receive_message`.
        """
        return str(await self.receive_data("text"))

    async def receive_bytes(self) -> bytes:
        """The next binary message (text frames are dropped, see :meth:`receive_data`).

        Cancellation:
            As :meth:`receive_message`.
        """
        data = await self.receive_data("binary")
        return data if isinstance(data, bytes) else data.encode("utf-8")

    async def receive_json(self, mode: Mode = "text", type: Any = Any) -> Any:
        """The next message of ``mode``, parsed as JSON and structured into ``type``.

        Raises:
            InvalidMessageError: malformed JSON, invalid UTF-8, or a payload that does
                not fit ``type`` (a ``WebSocketException`` with code 1007; uncaught, it
                closes the connection with 1007).
            WebSocketDisconnect: as :meth:`receive_message`.

        Cancellation:
            As :meth:`receive_message`.
        """
        return self._rt.codec.decoder(type)(await self.receive_data(mode))

    def iter_messages(self) -> _Stream[Payload]:
        """Iterate :meth:`receive_message` until the client leaves (no exception)."""
        return _Stream(self.receive_message)

    def iter_data(self, mode: Mode = "text") -> _Stream[Payload]:
        """Iterate :meth:`receive_data` until the client leaves (no exception)."""
        return _Stream(lambda: self.receive_data(mode))

    def iter_json(self, mode: Mode = "text", type: Any = Any) -> _Stream[Any]:
        """Iterate :meth:`receive_json` until the client leaves (no exception)."""
        return _Stream(lambda: self.receive_json(mode, type))

    # ------------------------------------------------------------------ sending
    async def send_message(self, data: Payload) -> None:
        """Send ``str`` as a text frame and ``bytes`` as a binary frame.

        Returns once the message is queued for the sender actor (ordering is kept;
        a full queue blocks: backpressure from a slow client), or, on the native
        engine while the sender is idle, written to the socket at once.

        Raises:
            WebSocketDisconnect: the client left or this side closed.
            ProtocolError: called before accept.

        Cancellation:
            If cancelled, the message was not queued.
        """
        rt = self._rt
        state = rt.state
        if not state.sendable:
            state.check_send()  # raises: not accepted yet, or closing/closed
        if type(data) is not str:
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(f"send_message takes str or bytes, not {type(data).__name__}")
            data = bytes(data)
        await rt.send(data)
        counters = rt.counters
        counters.messages_out += 1
        counters.bytes_out += payload_size(data)

    async def send_data(self, data: Payload, mode: Mode = "text") -> None:
        """Send ``data`` in a frame of ``mode`` (str and bytes converted as UTF-8).

        Cancellation:
            As :meth:`send_message`.
        """
        await self.send_message(to_frame(data, mode))

    async def send_text(self, data: str) -> None:
        """Send a text frame.

        Cancellation:
            As :meth:`send_message`.
        """
        await self.send_data(data, "text")

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame.

        Cancellation:
            As :meth:`send_message`.
        """
        await self.send_data(data, "binary")

    async def send_json(self, data: Any, mode: Mode = "text") -> None:
        """Unstructure ``data`` with the App's cattrs converter and send it as JSON.

        Cancellation:
            As :meth:`send_message`.
        """
        await self.send_data(self._rt.codec.dumps(data), mode)

    # ------------------------------------------------------------------ the connection's tasks
    def start_soon(
        self,
        async_fn: Callable[..., Awaitable[object]],
        *args: object,
        name: object = None,
    ) -> None:
        """Run ``async_fn(*args)`` as a task of this connection, beside its handler.

        The task runs in the connection's own nursery (as with Trio's
        ``Nursery.start_soon``), started from any handler kind, dependencies and
        hooks included, before accept too (it must not send before the connection
        is accepted). It is one of the connection's actors:

        - if it raises, the connection ends as if the handler had raised it: the
          handler is cancelled, the other tasks too, the close is 1011 (or the
          :class:`~wsactors.WebSocketException`'s code), the error is logged once,
          ``on_disconnect`` still runs, and nothing is raised to the handler;
        - :class:`~wsactors.WebSocketDisconnect` (a send after the client left) ends
          the task quietly; the connection is already ending;
        - a task that returns just ends; the connection goes on.

        Args:
            async_fn: An async function; ``args`` are passed to it positionally.
            name: The task's name in Trio (default: the function's).

        Raises:
            WebSocketDisconnect: the connection has ended, or is ending (its tasks
                were cancelled already: in ``on_disconnect``, or after a task
                failed); its ``code`` is the connection's close code.

        Cancellation:
            Not a cancellation point (it only schedules the task). The task is
            cancelled when the connection ends: when a listener's receive loop ends
            (the client left, the connection closed), before ``on_disconnect`` (or a
            ``connection_lifespan``'s exit) runs; when any other handler returns or
            raises; with the connection when the server shuts down. Its ``finally``
            blocks run then, and it has the App's ``cleanup_timeout`` to finish;
            past that it is logged and the closing goes on (close frame, dependency
            cleanup), but the connection is over only once the task has ended.
        """
        self._rt.tasks.start_soon(async_fn, *args, name=name)

    async def start(
        self, async_fn: Callable[..., Awaitable[object]], *args: object, name: object = None
    ) -> Any:
        """Run ``async_fn(*args, task_status=...)`` as a task of this connection, and
        wait until it calls ``task_status.started(value)``; return ``value``.

        As Trio's ``Nursery.start``: ``async_fn`` takes a keyword argument
        ``task_status`` (``trio.TaskStatus``; default ``trio.TASK_STATUS_IGNORED``).
        Once started, the task lives as one from :meth:`start_soon` does.

        Args:
            async_fn: An async function taking ``task_status``.
            name: The task's name in Trio (default: the function's).

        Returns:
            What the task passed to ``task_status.started()`` (``None`` if nothing).

        Raises:
            WebSocketDisconnect: the connection has ended or is ending (as in
                :meth:`start_soon`), also when it ended while the task was starting.
            Exception: what the task raised before it called ``started()`` (as with
                Trio); not caught, it ends the connection like any handler error.
            RuntimeError: the task returned without calling ``started()``.

        Cancellation:
            Until the task has started, it runs under this call: cancelling the call
            cancels the task too. Once started, it is cancelled with the connection
            only.
        """
        return await self._rt.tasks.start(async_fn, *args, name=name)

    # ------------------------------------------------------------------ subscriptions
    async def subscribe(
        self,
        *topics: str,
        history: int = 0,
        max_backlog: int | None = None,
        overflow: Literal["drop_oldest", "drop_newest", "close"] | None = None,
        on_gap: Literal["notify", "close"] = "notify",
    ) -> None:
        """Deliver the App's Channels' messages of ``topics`` to this client, with no task.

        From the moment this returns, every message published to one of
        ``topics`` (in this process, or through Redis) is sent to the client as the
        publisher's JSON text, unless published with ``exclude=`` this socket. Each
        topic gets its own backlog of ``max_backlog`` messages (default: the
        Channels') for when the client is slower than the publishers, with the
        ``overflow`` policy (default: the Channels'); every loss is a Gap, sent as
        ``{"type": "gap", "topic", "reason", "count"}`` (``on_gap="notify"``) or
        closing with 1013 "Try Again Later" (``on_gap="close"``, and always with
        ``overflow="close"``). Topics already subscribed keep their subscription.
        The subscriptions end with the connection, or with :meth:`unsubscribe`.

        Args:
            topics: One or more topics.
            history: First replay up to this many kept messages of each topic (with
                ``Channels(history=...)``).
            max_backlog, overflow: This subscription's bound and policy.
            on_gap: ``"notify"`` or ``"close"``.

        Raises:
            RuntimeError: the App has no Channels, or they are not running.
            ProtocolError: called before accept.
            WebSocketDisconnect: the connection is closing or closed.
            ValueError: no topic, or a bad option.
            Exception: the backend could not subscribe (Redis unreachable).

        Cancellation:
            If cancelled, nothing was subscribed.
        """
        await self._rt.open_feed(self).subscribe(
            topics, history=history, max_backlog=max_backlog, overflow=overflow, on_gap=on_gap
        )

    async def unsubscribe(self, *topics: str) -> None:
        """End this connection's subscriptions of ``topics`` (others are ignored).

        Messages already queued for the client still go out; nothing published
        after this returns does.

        Cancellation:
            The subscriptions end at once; only the broker's unsubscribe (Redis)
            is left undone by a cancellation, shielded and bounded.
        """
        feed = self._rt.feed
        if feed is None:
            await trio.lowlevel.checkpoint()
            return
        await feed.unsubscribe(topics)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} {self.connection_state}>"
