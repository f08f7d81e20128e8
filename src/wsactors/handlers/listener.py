"""``@websocket_listener``: a function of each message, its return value the reply.

Per connection, in order (docs/listeners.md): dependencies resolved -> accept (the
``connection_accept_handler`` if given) -> ``on_connect`` -> one call per message, in
arrival order, replies in the same order -> the connection's own tasks
(``socket.start_soon``) cancelled -> ``on_disconnect`` (always, once the connection
was accepted, also after an error) -> yield-dependency cleanup (by the supervisor,
after the close frame).

The loop reads through ``socket.receive_data(receive_mode)`` and replies through
``socket.send_data(reply, send_mode)``, so a custom ``websocket_class`` that
overrides them changes what the listener sees and sends.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack

import trio

from ..actors.cleanups import Cleanups
from ..codec.codec import Codec, Mode
from ..codec.dto import DTO
from ..connection.limits import LimitOptions
from ..di.injector import CallPlan, Context, Injector
from ..di.signature import ParamSpec, callable_name, read_params, return_annotation
from ..exceptions import ImproperlyConfiguredError, WebSocketDisconnect
from ..routing.route import Guard, Layer, Route, RouteHandler, route_decorator

if TYPE_CHECKING:
    from ..socket.websocket import WebSocket

__all__ = ["ListenerOptions", "ListenerRouteHandler", "websocket_listener"]

_MODES = ("text", "binary")


@dataclass(frozen=True, slots=True)
class ListenerOptions:
    """Everything ``@websocket_listener`` and ``WebSocketListener`` have in common."""

    receive_mode: Mode = "text"
    send_mode: Mode = "text"
    on_connect: Callable[..., Any] | None = None
    on_disconnect: Callable[..., Any] | None = None
    connection_accept_handler: Callable[[WebSocket], Any] | None = None
    connection_lifespan: Callable[..., Any] | None = None
    dto: DTO[Any] | None = None
    return_dto: DTO[Any] | None = None
    sync_to_thread: bool = False


@dataclass(frozen=True, slots=True)
class _Call:
    """One user callable, planned: how to get its arguments and how to run it."""

    plan: CallPlan
    is_async: bool
    to_thread: bool

    async def run(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        if self.is_async:
            return await fn(**kwargs)
        if self.to_thread:
            return await trio.to_thread.run_sync(functools.partial(fn, **kwargs))
        return fn(**kwargs)


def _plan_call(
    injector: Injector,
    fn: Callable[..., Any],
    *,
    method: bool,
    to_thread: bool = False,
    given: frozenset[str] = frozenset(),
) -> tuple[_Call, list[ParamSpec]]:
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise ImproperlyConfiguredError(
            f"{callable_name(fn)}: a listener callback cannot be a generator "
            f"(use @websocket_stream to push a stream)"
        )
    params = read_params(fn, skip_self=method)
    plan = injector.plan(fn, params, given=given)
    return _Call(plan, inspect.iscoroutinefunction(fn), to_thread), params


def mode_checked(mode: str, option: str) -> Mode:
    """``mode`` if it is ``"text"`` or ``"binary"``; ImproperlyConfiguredError otherwise."""
    if mode not in _MODES:
        raise ImproperlyConfiguredError(f"{option} must be 'text' or 'binary', not {mode!r}")
    return mode  # type: ignore[return-value]


#: Given a socket, the callables of one connection: (receive fn, on_connect, on_disconnect).
Binder = Callable[
    ["WebSocket"],
    tuple[Callable[..., Any], Callable[..., Any] | None, Callable[..., Any] | None],
]


def build_listener_route(
    handler: RouteHandler,
    layer: Layer,
    *,
    receive_fn: Callable[..., Any],
    options: ListenerOptions,
    bind: Binder,
    method: bool,
) -> Route:
    """Validate a listener and build its route (shared by both listener kinds).

    Args:
        handler: The route handler being built.
        layer: Options from the App and Routers above.
        receive_fn: The function (or unbound ``on_receive``) that takes ``data``.
        options: The listener options.
        bind: Gives each connection its callables (a class listener makes its
            per-connection instance here).
        method: Whether the callables are methods (skip ``self`` when planning).
    """
    where = callable_name(receive_fn)
    receive_mode = mode_checked(options.receive_mode, "receive_mode")
    send_mode = mode_checked(options.send_mode, "send_mode")
    hooks = (options.on_connect, options.on_disconnect, options.connection_accept_handler)
    if options.connection_lifespan is not None and any(h is not None for h in hooks):
        raise ImproperlyConfiguredError(
            f"{where}: connection_lifespan replaces on_connect, on_disconnect and "
            f"connection_accept_handler; combine their work in the lifespan instead"
        )
    template, injector, websocket_class = handler.prepare(layer)
    receive_call, params = _plan_call(
        injector,
        receive_fn,
        method=method,
        to_thread=options.sync_to_thread,
        given=frozenset({"data"}),
    )
    data_param = next((p for p in params if p.name == "data"), None)
    if data_param is None:
        raise ImproperlyConfiguredError(
            f"listener {where} must take a `data` parameter (the received message)"
        )
    codec = handler.codec(layer)
    in_codec = Codec(options.dto.input_converter(codec.converter)) if options.dto else codec
    out_codec = (
        Codec(options.return_dto.output_converter(codec.converter)) if options.return_dto else codec
    )
    decode = in_codec.decoder(data_param.annotation)
    returns = return_annotation(receive_fn)
    encode = out_codec.encoder(Any if returns is inspect.Parameter.empty else returns)
    connect_call = (
        _plan_call(injector, options.on_connect, method=method)[0] if options.on_connect else None
    )
    disconnect_call = (
        _plan_call(injector, options.on_disconnect, method=method)[0]
        if options.on_disconnect
        else None
    )
    lifespan_call = (
        _plan_call(injector, options.connection_lifespan, method=False)[0]
        if options.connection_lifespan
        else None
    )
    accept_handler = options.connection_accept_handler
    lifespan_factory = options.connection_lifespan

    async def message_loop(
        socket: WebSocket, fn: Callable[..., Any], kwargs: dict[str, Any]
    ) -> None:
        receive = socket.receive_data
        send = socket.send_data
        run = receive_call.run
        while True:
            try:
                raw = await receive(receive_mode)
            except WebSocketDisconnect:
                return
            kwargs["data"] = decode(raw)
            reply = encode(await run(fn, kwargs))
            if reply is not None:
                try:
                    await send(reply, send_mode)
                except WebSocketDisconnect:
                    return

    async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
        ctx = Context(socket, stack)
        fn, on_connect, on_disconnect = bind(socket)
        # Dependencies are resolved once per connection, before accept
        # (docs/dependency-injection.md).
        kwargs = await receive_call.plan.kwargs(ctx)
        connect_kwargs = await connect_call.plan.kwargs(ctx) if connect_call else None
        disconnect_kwargs = await disconnect_call.plan.kwargs(ctx) if disconnect_call else None
        lifespan_kwargs = await lifespan_call.plan.kwargs(ctx) if lifespan_call else None
        if accept_handler is not None:
            await accept_handler(socket)
        else:
            await socket.accept()
        context = socket.context
        if not context.accepted:
            return  # the accept handler denied or closed: nothing to listen to
        if lifespan_factory is not None:
            assert lifespan_kwargs is not None
            async with lifespan_factory(**lifespan_kwargs):
                try:
                    await message_loop(socket, fn, kwargs)
                finally:
                    await context.end_tasks()  # before the lifespan's exit, as on_disconnect
            return
        ended: BaseException | None = None
        try:
            if on_connect is not None and connect_call is not None:
                await connect_call.run(on_connect, connect_kwargs or {})
            await message_loop(socket, fn, kwargs)
        except BaseException as exc:
            ended = exc
            raise
        finally:
            # The connection's own tasks (socket.start_soon) end before on_disconnect.
            await context.end_tasks()
            if on_disconnect is not None and disconnect_call is not None:
                # Queue the close first, so on_disconnect sees the final close_code
                # and "disconnected" whichever side ended the connection.
                await context.settle(ended)
                await _run_cleanup_hook(socket, disconnect_call, on_disconnect, disconnect_kwargs)

    return handler.route(layer, template, behaviour, websocket_class, reader=True)


async def _run_cleanup_hook(
    socket: WebSocket, call: _Call, fn: Callable[..., Any], kwargs: Mapping[str, Any] | None
) -> None:
    """Run ``on_disconnect`` shielded and bounded, so it runs even when the listener
    was cancelled (client gone, server shutdown)."""
    with trio.move_on_after(socket.context.config.cleanup_timeout, shield=True):
        await call.run(fn, kwargs or {})


class ListenerRouteHandler(RouteHandler):
    """A function listener registered with :func:`websocket_listener`."""

    def __init__(
        self, fn: Callable[..., Any], path: str, *, options: ListenerOptions, **kw: Any
    ) -> None:
        super().__init__(fn, path, **kw)
        self.options = options

    def build(self, layer: Layer) -> Route:
        fn = self.fn
        options = self.options
        hooks = (fn, options.on_connect, options.on_disconnect)

        def bind(socket: WebSocket) -> Any:
            return hooks

        return build_listener_route(
            self, layer, receive_fn=fn, options=options, bind=bind, method=False
        )


def websocket_listener(
    path: str,
    *,
    receive_mode: Mode = "text",
    send_mode: Mode = "text",
    on_connect: Callable[..., Any] | None = None,
    on_disconnect: Callable[..., Any] | None = None,
    connection_accept_handler: Callable[[WebSocket], Any] | None = None,
    connection_lifespan: Callable[..., Any] | None = None,
    dependencies: Mapping[str, Any] | None = None,
    websocket_class: type[WebSocket] | None = None,
    dto: DTO[Any] | None = None,
    return_dto: DTO[Any] | None = None,
    sync_to_thread: bool = False,
    guards: Sequence[Guard] | None = None,
    name: str | None = None,
    forbid_unknown_fields: bool | None = None,
    **limits: Unpack[LimitOptions],
) -> Callable[[Callable[..., Any]], ListenerRouteHandler]:
    """Register a listener: a function of ``data`` whose return value is the reply.

    Args:
        path: Route path, with optional typed parameters.
        receive_mode: Only frames of this type are consumed; the others are dropped
            (counted in ``statistics()``, logged at debug).
        send_mode: Frame type of replies (``"binary"`` encodes str as UTF-8).
        on_connect: Called after accept; sync or async, parameters injected.
        on_disconnect: Called once when the connection ends (also after errors).
        connection_accept_handler: ``async (socket) -> None`` that accepts (e.g. with
            headers or a subprotocol); may also deny.
        connection_lifespan: An async context manager factory (parameters injected)
            wrapping the message loop; excludes the three hooks above.
        dependencies: name -> ``Provide`` or callable.
        websocket_class: ``WebSocket`` subclass for this route.
        dto: Controls which fields of ``data`` are read.
        return_dto: Controls which fields of the reply are written.
        sync_to_thread: Run a sync function in a worker thread instead of inline.
        guards: ``guard(socket)`` callables run before dependencies and accept.
        name: Route name.
        forbid_unknown_fields: ``True``: an object key that ``data``'s type does not
            read closes with 1007 naming it; ``False``: such keys are ignored;
            ``None`` (default): as the Router or App says.
        **limits: ``max_message_size``, ``rate_limit``, ``rate_limit_policy``,
            ``idle_timeout``, ``send_timeout`` for this route.
    """
    options = ListenerOptions(
        receive_mode=receive_mode,
        send_mode=send_mode,
        on_connect=on_connect,
        on_disconnect=on_disconnect,
        connection_accept_handler=connection_accept_handler,
        connection_lifespan=connection_lifespan,
        dto=dto,
        return_dto=return_dto,
        sync_to_thread=sync_to_thread,
    )

    return route_decorator(
        ListenerRouteHandler,
        path,
        options=options,
        dependencies=dependencies,
        websocket_class=websocket_class,
        guards=guards,
        name=name,
        limits=limits,
        forbid_unknown_fields=forbid_unknown_fields,
    )
