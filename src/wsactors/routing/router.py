"""``Router`` and registration: turning handlers and Routers into the App's routes."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from ..exceptions import ImproperlyConfiguredError
from ..socket.websocket import WebSocket
from .paths import RouteTable
from .route import Guard, Layer, Route, RouteHandler, checked_forbid

__all__ = ["Router", "as_route_handler", "register"]


class Router:
    """A group of handlers under a path prefix; routers nest.

    Args:
        path: The prefix (``"/api"``).
        route_handlers: Decorated handlers, ``WebSocketListener`` subclasses, Routers.
        dependencies: name -> ``Provide`` or callable, for everything below.
        websocket_class: ``WebSocket`` subclass for everything below.
        guards: ``guard(socket)`` callables for everything below (run after the
            App's guards, before the handler's).
        forbid_unknown_fields: For everything below: ``True`` closes with 1007 on an
            object key the message type does not read, ``False`` ignores such keys,
            ``None`` (default) inherits the App's or the enclosing Router's choice.
    """

    def __init__(
        self,
        path: str,
        route_handlers: Sequence[Any],
        *,
        dependencies: Mapping[str, Any] | None = None,
        websocket_class: type[WebSocket] | None = None,
        guards: Sequence[Guard] | None = None,
        forbid_unknown_fields: bool | None = None,
    ) -> None:
        self.path = path
        self.forbid_unknown_fields = checked_forbid(forbid_unknown_fields, f"Router {path!r}")
        self.route_handlers = list(route_handlers)
        self.dependencies = dict(dependencies or {})
        self.websocket_class = websocket_class
        self.guards = tuple(guards or ())


def as_route_handler(item: Any) -> RouteHandler | None:
    """A RouteHandler for ``item``, or None if it is not a handler at all.

    Handler kinds that are classes (``WebSocketListener`` subclasses) provide a
    ``__route_handler__`` classmethod, so the App needs no knowledge of them.
    """
    if isinstance(item, RouteHandler):
        return item
    make = getattr(item, "__route_handler__", None)
    if make is not None and inspect.isclass(item):
        handler = make()
        if isinstance(handler, RouteHandler):
            return handler
    return None


def register(routes: RouteTable[Route], items: Sequence[Any], layer: Layer) -> None:
    """Add a route to ``routes`` for each handler in ``items``, Routers nested under ``layer``.

    Raises:
        ImproperlyConfiguredError: an item is no handler, or a handler's own mistake.
    """
    for item in items:
        if isinstance(item, Router):
            register(
                routes,
                item.route_handlers,
                layer.child(
                    item.path,
                    item.dependencies,
                    item.websocket_class,
                    item.guards,
                    item.forbid_unknown_fields,
                ),
            )
            continue
        handler = as_route_handler(item)
        if handler is None:
            raise ImproperlyConfiguredError(
                f"{item!r} is not a route handler: pass functions decorated with "
                f"@websocket/@websocket_listener/@websocket_stream, WebSocketListener "
                f"subclasses (the class, not an instance) or Routers"
            )
        route = handler.build(layer)
        routes.add(route.template, route)
