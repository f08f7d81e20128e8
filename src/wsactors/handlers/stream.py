"""Streams: ``@websocket_stream`` and ``send_websocket_stream``.

A stream pushes every value an async iterator yields (``str``/``bytes`` raw,
anything else as JSON through the App's cattrs converter). When the client leaves,
the iterator is cancelled and finalized (``aclose``: its ``finally`` blocks run)
promptly, even while it sleeps: the receiver actor sees the disconnect at once and
the watcher cancels the stream.

The data-discard rule (docs/data-discard.md): while a stream
listens for disconnects, a message from the client is an error by default: the
stream is stopped and the connection closes with 1008 and a reason naming
``allow_data_discard``. With ``allow_data_discard=True`` the message is dropped,
counted in ``statistics()`` and warned about (``DataDiscardedWarning``) unless
``warn_on_data_discard=False``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Unpack

import trio

from ..actors.cleanups import Cleanups
from ..codec.codec import Codec, Mode, Payload, to_frame
from ..codec.dto import DTO
from ..connection.limits import LimitOptions
from ..di.injector import Context
from ..di.signature import callable_name, read_params, return_annotation
from ..exceptions import ImproperlyConfiguredError, WebSocketDisconnect
from ..routing.route import Guard, Layer, Route, RouteHandler, route_decorator
from .listener import mode_checked

if TYPE_CHECKING:
    from ..socket.websocket import WebSocket

__all__ = ["StreamRouteHandler", "send_websocket_stream", "websocket_stream"]

SendHandler = Callable[["WebSocket", Any], Awaitable[Any]]


class _ItemSender(NamedTuple):
    """How ``_pump`` sends one item: ``send(item)``, after ``prepare`` unless it is ready.

    ``ready`` is the type that goes to ``send`` as it is (``str`` for text frames,
    ``bytes`` for binary ones): the usual push pays for no encoder call and no
    extra coroutine frame. ``prepare`` (``None``: never) turns anything else into a
    payload, or ``None`` to send nothing.
    """

    send: Callable[[Any], Awaitable[None]]
    prepare: Callable[[Any], Payload | None] | None
    ready: type


async def _pump(socket: WebSocket, stream: AsyncIterator[Any], sender: _ItemSender) -> bool:
    """Send every item of ``stream``; False if a send found the client gone.

    Cancellation:
        The stream is finalized (``aclose``, shielded and bounded by the App's
        ``cleanup_timeout``) however this ends, so its ``finally`` blocks run.
    """
    send, prepare, ready = sender
    try:
        async for item in stream:
            if prepare is not None and type(item) is not ready:
                item = prepare(item)
                if item is None:
                    continue
            try:
                await send(item)
            except WebSocketDisconnect:
                return False
        return True
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with trio.move_on_after(socket.context.config.cleanup_timeout, shield=True):
                await aclose()


def _item_sender(
    socket: WebSocket, encode: Callable[[Any], Any], mode: Mode, send_handler: SendHandler | None
) -> _ItemSender:
    if send_handler is not None:

        async def send_custom(item: Any) -> None:
            await send_handler(socket, item)

        return _ItemSender(send_custom, None, object)

    def prepare(item: Any) -> Payload | None:
        payload = encode(item)
        return None if payload is None else to_frame(payload, mode)

    return _ItemSender(socket.send_message, prepare, str if mode == "text" else bytes)


async def send_websocket_stream(
    socket: WebSocket,
    stream: AsyncIterator[Any],
    *,
    close: bool = True,
    mode: Mode = "text",
    send_handler: SendHandler | None = None,
    listen_for_disconnect: bool = False,
    allow_data_discard: bool = False,
    warn_on_data_discard: bool = True,
) -> None:
    """Send every item of ``stream`` to an accepted ``socket``.

    Run it in a nursery beside a receive loop to stream and receive at once. It ends
    quietly (no exception) when the stream is exhausted or the client leaves, so
    nothing turns into an ExceptionGroup in the caller's nursery.

    Args:
        socket: An accepted WebSocket.
        stream: Any async iterator; async generators are finalized when it ends.
        close: Close the connection (1000) once the stream is exhausted.
        mode: Frame type for the items.
        send_handler: ``async (socket, item)`` that sends an item itself (``mode``
            and the JSON encoding are then not applied).
        listen_for_disconnect: Also read from the socket while streaming (do not
            read from it elsewhere then): the stream stops when the client leaves,
            and client messages follow the data-discard rule.
        allow_data_discard: With ``listen_for_disconnect``, drop client messages
            instead of failing with 1008.
        warn_on_data_discard: Emit ``DataDiscardedWarning`` for each dropped message.

    Raises:
        WebSocketException: code 1008 when the client sent data while
            ``listen_for_disconnect`` and not ``allow_data_discard``.
        Exception: whatever the stream raises (uncaught, it closes the connection
            with 1011 or the ``WebSocketException``'s code).

    Cancellation:
        The stream is finalized before the cancellation propagates.
    """
    mode = mode_checked(mode, "mode")
    sender = _item_sender(socket, socket.context.codec.encoder(), mode, send_handler)
    if listen_for_disconnect:
        finished = await _pump_listening(
            socket, stream, sender, allow_data_discard, warn_on_data_discard
        )
    else:
        finished = await _pump(socket, stream, sender)
    if finished and close:
        await socket.close()


async def _pump_listening(
    socket: WebSocket,
    stream: AsyncIterator[Any],
    sender: _ItemSender,
    allow_data_discard: bool,
    warn: bool,
) -> bool:
    """``_pump`` under the data-discard rule: client messages go to the rule (see
    ``wsactors/actors/discard.py``), and the stream ends when the client leaves.

    Raises:
        WebSocketException: 1008 when a client message broke the rule.
    """
    with socket.context.listening(allow_data_discard, warn) as rule, rule.scope:
        return await _pump(socket, stream, sender)
    if rule.violation is not None:
        raise rule.violation
    return False


def _item_type(fn: Callable[..., Any]) -> Any:
    """``T`` of an ``AsyncGenerator[T, ...]``/``AsyncIterator[T]`` return annotation."""
    returns = return_annotation(fn)
    args = typing.get_args(returns)
    return args[0] if args else Any


class StreamRouteHandler(RouteHandler):
    """An async generator registered with :func:`websocket_stream`."""

    def __init__(
        self,
        fn: Callable[..., Any],
        path: str,
        *,
        mode: Mode,
        listen_for_disconnect: bool,
        allow_data_discard: bool,
        warn_on_data_discard: bool,
        return_dto: DTO[Any] | None,
        **kw: Any,
    ) -> None:
        super().__init__(fn, path, **kw)
        self.mode = mode
        self.listen_for_disconnect = listen_for_disconnect
        self.allow_data_discard = allow_data_discard
        self.warn_on_data_discard = warn_on_data_discard
        self.return_dto = return_dto

    def build(self, layer: Layer) -> Route:
        fn = self.fn
        if not inspect.isasyncgenfunction(fn):
            raise ImproperlyConfiguredError(
                f"@websocket_stream {callable_name(fn)} must be an async generator function "
                f"(`async def` with `yield`)"
            )
        mode = mode_checked(self.mode, "mode")
        template, injector, websocket_class = self.prepare(layer)
        plan = injector.plan(fn, read_params(fn))
        codec = self.codec(layer)
        if self.return_dto is not None:
            codec = Codec(self.return_dto.output_converter(codec.converter))
        encode = codec.encoder(_item_type(fn))

        listen = self.listen_for_disconnect
        allow, warn = self.allow_data_discard, self.warn_on_data_discard

        async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
            kwargs = await plan.kwargs(Context(socket, stack))
            # Accept explicitly before the generator starts, exactly once.
            await socket.accept()
            sender = _item_sender(socket, encode, mode, None)
            if listen:
                await _pump_listening(socket, fn(**kwargs), sender, allow, warn)
            else:
                await _pump(socket, fn(**kwargs), sender)

        return self.route(layer, template, behaviour, websocket_class)


def websocket_stream(
    path: str,
    *,
    mode: Mode = "text",
    listen_for_disconnect: bool = True,
    allow_data_discard: bool = False,
    warn_on_data_discard: bool = True,
    dependencies: Mapping[str, Any] | None = None,
    websocket_class: type[WebSocket] | None = None,
    return_dto: DTO[Any] | None = None,
    guards: Sequence[Guard] | None = None,
    name: str | None = None,
    forbid_unknown_fields: bool | None = None,
    **limits: Unpack[LimitOptions],
) -> Callable[[Callable[..., Any]], StreamRouteHandler]:
    """Register an async generator whose every yielded value is sent to the client.

    The connection is accepted before the generator starts and closed with 1000
    when it is exhausted. Dependencies live as long as the stream (a lock taken in a
    dependency is held until the client leaves: acquire it inside the generator).

    Args:
        path: Route path, with optional typed parameters.
        mode: Frame type of the items.
        listen_for_disconnect: Apply the data-discard rule to client messages
            (default). With False, the generator may receive from ``socket`` itself.
        allow_data_discard: Drop client messages instead of closing with 1008.
        warn_on_data_discard: Warn (``DataDiscardedWarning``) for each dropped message.
        dependencies: name -> ``Provide`` or callable.
        websocket_class: ``WebSocket`` subclass for this route.
        return_dto: Controls which fields of yielded values are written.
        guards: ``guard(socket)`` callables run before dependencies and accept.
        name: Route name.
        forbid_unknown_fields: For ``socket.receive_json`` in the generator (with
            ``listen_for_disconnect=False``): ``True`` refuses object keys the type
            does not read (1007), ``False`` ignores them, ``None`` inherits.
        **limits: ``max_message_size``, ``rate_limit``, ``rate_limit_policy``,
            ``idle_timeout``, ``send_timeout`` for this route.
    """

    return route_decorator(
        StreamRouteHandler,
        path,
        mode=mode,
        listen_for_disconnect=listen_for_disconnect,
        allow_data_discard=allow_data_discard,
        warn_on_data_discard=warn_on_data_discard,
        return_dto=return_dto,
        dependencies=dependencies,
        websocket_class=websocket_class,
        guards=guards,
        name=name,
        limits=limits,
        forbid_unknown_fields=forbid_unknown_fields,
    )
