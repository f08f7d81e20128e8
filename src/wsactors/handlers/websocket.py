"""``@websocket``: low-level handlers that own the protocol.

The handler accepts, receives, sends and closes through the ``WebSocket`` handle.
If it returns without closing, the supervisor closes with 1000 (hypercorn would
otherwise send 1011 when an app returns on an open connection); before accept, a
return rejects the handshake (HTTP 403).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack

from ..actors.cleanups import Cleanups
from ..connection.limits import LimitOptions
from ..di.injector import Context
from ..di.signature import callable_name, read_params, return_annotation
from ..exceptions import ImproperlyConfiguredError
from ..routing.route import Guard, Layer, Route, RouteHandler, route_decorator

if TYPE_CHECKING:
    from ..socket.websocket import WebSocket

__all__ = ["WebSocketRouteHandler", "websocket"]


class WebSocketRouteHandler(RouteHandler):
    """A low-level handler registered with :func:`websocket`.

    ``receives`` and ``sends`` are the message types declared for the AsyncAPI
    document only (``None``: undeclared); nothing at run time reads them.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        path: str,
        *,
        receives: Any = None,
        sends: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(fn, path, **kw)
        self.receives = receives
        self.sends = sends

    def build(self, layer: Layer) -> Route:
        fn = self.fn
        where = callable_name(fn)
        if not inspect.iscoroutinefunction(fn):
            raise ImproperlyConfiguredError(f"@websocket handler {where} must be `async def`")
        params = read_params(fn)
        if not any(p.name == "socket" for p in params):
            raise ImproperlyConfiguredError(
                f"@websocket handler {where} must take a `socket` parameter: it owns the "
                f"protocol (use @websocket_listener for a function of the message)"
            )
        returns = return_annotation(fn)
        if returns not in (inspect.Parameter.empty, None, type(None)):
            raise ImproperlyConfiguredError(
                f"@websocket handler {where} must return None (it sends through `socket`); "
                f"annotated to return {returns!r}"
            )
        template, injector, websocket_class = self.prepare(layer)
        plan = injector.plan(fn, params)

        async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
            kwargs = await plan.kwargs(Context(socket, stack))
            await fn(**kwargs)

        return self.route(layer, template, behaviour, websocket_class)


def websocket(
    path: str,
    *,
    dependencies: Mapping[str, Any] | None = None,
    websocket_class: type[WebSocket] | None = None,
    guards: Sequence[Guard] | None = None,
    name: str | None = None,
    receives: Any = None,
    sends: Any = None,
    forbid_unknown_fields: bool | None = None,
    **limits: Unpack[LimitOptions],
) -> Callable[[Callable[..., Any]], WebSocketRouteHandler]:
    """Register a low-level handler: ``async def handler(socket: WebSocket) -> None``.

    Args:
        path: The route path, with optional typed parameters (``/rooms/{room:str}``).
        dependencies: name -> ``Provide`` or callable, for this handler.
        websocket_class: A ``WebSocket`` subclass for this handler's connections.
        guards: ``guard(socket)`` callables run before dependencies and accept.
        name: A name for the route (defaults to the function's name).
        receives: For the AsyncAPI document only: the type of the messages the
            handler receives (not validated: the handler reads the socket itself).
        sends: For the AsyncAPI document only: the type of the messages it sends.
        forbid_unknown_fields: For ``socket.receive_json(type=...)``: ``True``
            refuses object keys the type does not read (1007), ``False`` ignores
            them, ``None`` (default) inherits the Router's or App's choice.
        **limits: ``max_message_size``, ``rate_limit``, ``rate_limit_policy``,
            ``idle_timeout``, ``send_timeout`` for this route.

    Raises:
        ImproperlyConfiguredError: when the App is built, for a handler that is not
            ``async``, has no ``socket`` parameter, or returns something.
    """

    return route_decorator(
        WebSocketRouteHandler,
        path,
        receives=receives,
        sends=sends,
        dependencies=dependencies,
        websocket_class=websocket_class,
        guards=guards,
        name=name,
        limits=limits,
        forbid_unknown_fields=forbid_unknown_fields,
    )
