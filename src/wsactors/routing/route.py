"""The route contract: what route decorators return, and what the App builds from it.

Handler kinds (``wsactors.handlers``) subclass :class:`RouteHandler` and build a
:class:`Route`; the App's table (:mod:`.paths`) and registration (:mod:`.router`)
know only this contract, never a handler kind.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..actors.cleanups import Cleanups
from ..codec.codec import Codec
from ..connection.limits import RuntimeConfig, checked_limits
from ..di.injector import Injector
from ..exceptions import ImproperlyConfiguredError
from .paths import PathTemplate, join_paths

if TYPE_CHECKING:
    from ..socket.websocket import WebSocket

__all__ = [
    "Behaviour",
    "Guard",
    "Layer",
    "Route",
    "RouteHandler",
    "checked_forbid",
    "route_decorator",
]

#: A handler kind's entry point: run the user's code on an accepted-or-not socket,
#: entering yield dependencies into the stack (cleaned up after the close frame).
Behaviour = Callable[["WebSocket", Cleanups], Awaitable[None]]

#: ``guard(socket)``, sync or async; raises ``NotAuthorizedError`` (HTTP 401) or
#: ``PermissionDeniedError`` (HTTP 403) to deny the handshake.
Guard = Callable[["WebSocket"], Any]


@dataclass(frozen=True, slots=True)
class Layer:
    """Options gathered from the App and the Routers above a handler.

    The layer closest to the handler wins (docs/limits-and-security.md); guards add up,
    outermost first. ``codec`` is the App's, or its twin that decides unknown fields
    the other way when a Router set ``forbid_unknown_fields``.
    """

    prefix: str
    dependencies: Mapping[str, Any]
    websocket_class: type[WebSocket]
    codec: Codec
    runtime: RuntimeConfig
    guards: tuple[Guard, ...] = ()

    def child(
        self,
        path: str,
        dependencies: Mapping[str, Any] | None,
        websocket_class: type[WebSocket] | None,
        guards: Sequence[Guard] = (),
        forbid_unknown_fields: bool | None = None,
    ) -> Layer:
        """The layer below this one (a Router inside it)."""
        return Layer(
            join_paths(self.prefix, path),
            {**self.dependencies, **(dependencies or {})},
            websocket_class or self.websocket_class,
            self.codec.variant(forbid_unknown_fields),
            self.runtime,
            (*self.guards, *guards),
        )


@dataclass(frozen=True, slots=True)
class Route:
    """A handler ready to serve: the App calls ``behaviour`` through the supervisor."""

    template: PathTemplate
    behaviour: Behaviour
    websocket_class: type[WebSocket]
    handler: RouteHandler
    config: RuntimeConfig
    #: The App and Routers above the handler: their dependencies, guards and prefix.
    #: The AsyncAPI document reads it to tell dependencies from query parameters.
    layer: Layer
    #: The route's codec: the layer's, or its twin when the handler sets
    #: ``forbid_unknown_fields``; ``socket.receive_json`` decodes with it.
    codec: Codec
    #: The handler kind always reads (listeners): the disconnect grace applies.
    reader: bool = False
    #: Hints already logged for this route (each is logged once per route).
    hints: set[str] = field(default_factory=set)


def checked_forbid(value: Any, where: str) -> bool | None:
    """``forbid_unknown_fields`` if it is a bool or ``None`` (inherit).

    Raises:
        ImproperlyConfiguredError: any other value (a string such as ``"yes"``).
    """
    if value is None or isinstance(value, bool):
        return value
    raise ImproperlyConfiguredError(
        f"{where}: forbid_unknown_fields must be True, False or None, not {value!r}"
    )


def _guarded(guards: tuple[Guard, ...], behaviour: Behaviour) -> Behaviour:
    """Run ``guards`` before the behaviour: before dependencies and before accept."""

    async def run(socket: WebSocket, stack: Cleanups) -> None:
        for guard in guards:
            result = guard(socket)
            if inspect.isawaitable(result):
                await result
        await behaviour(socket, stack)

    return run


class RouteHandler:
    """Base of the objects route decorators return.

    The object stays callable (it calls the decorated function), so handlers can
    still be unit-tested as plain functions.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        path: str,
        *,
        dependencies: Mapping[str, Any] | None = None,
        websocket_class: type[WebSocket] | None = None,
        guards: Sequence[Guard] | None = None,
        name: str | None = None,
        limits: Mapping[str, Any] | None = None,
        forbid_unknown_fields: bool | None = None,
    ) -> None:
        if not isinstance(path, str):
            raise ImproperlyConfiguredError(f"route path must be a str, got {path!r}")
        self.forbid_unknown_fields = checked_forbid(forbid_unknown_fields, f"route {path!r}")
        self.fn = fn
        self.path = path
        self.dependencies = dict(dependencies or {})
        self.websocket_class = websocket_class
        self.guards = tuple(guards or ())
        self.name = name or getattr(fn, "__name__", None)
        self.limits = checked_limits(dict(limits or {}), f"route {path!r}")
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def codec(self, layer: Layer) -> Codec:
        """The codec of this handler's messages: the layer's, unless the handler sets
        ``forbid_unknown_fields`` the other way."""
        return layer.codec.variant(self.forbid_unknown_fields)

    def prepare(self, layer: Layer) -> tuple[PathTemplate, Injector, type[WebSocket]]:
        """The full path template, the injector and the websocket class for ``layer``."""
        template = PathTemplate.compile(join_paths(layer.prefix, self.path))
        injector = Injector({**layer.dependencies, **self.dependencies}, template.param_types)
        return template, injector, self.websocket_class or layer.websocket_class

    def route(
        self,
        layer: Layer,
        template: PathTemplate,
        behaviour: Behaviour,
        websocket_class: type[WebSocket],
        *,
        reader: bool = False,
    ) -> Route:
        """The finished route: guards of every layer run first, limits applied."""
        guards = (*layer.guards, *self.guards)
        if guards:
            behaviour = _guarded(guards, behaviour)
        config = dataclasses.replace(layer.runtime, **self.limits) if self.limits else layer.runtime
        return Route(
            template,
            behaviour,
            websocket_class,
            self,
            config,
            layer,
            self.codec(layer),
            reader=reader,
        )

    def build(self, layer: Layer) -> Route:
        """Validate the handler and build its route; raises ImproperlyConfiguredError."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} {self.name}>"


_H = TypeVar("_H", bound=RouteHandler)


def route_decorator(
    kind: Callable[..., _H], path: str, **options: Any
) -> Callable[[Callable[..., Any]], _H]:
    """The decorator every handler kind returns: ``kind(fn, path, **options)``.

    ``@websocket``, ``@websocket_listener`` and ``@websocket_stream`` differ only in
    the handler class and its options; validation happens when the App is built.
    """

    def decorator(fn: Callable[..., Any]) -> _H:
        return kind(fn, path, **options)

    return decorator
