"""``WebSocketListener``: a class-based listener, one instance per connection.

Register the class (not an instance). Each connection gets a fresh instance (an
actor): instance attributes are that connection's private state, and
``self.socket`` is set before ``on_connect``. (Litestar shares one instance across
all connections; wsactors does not.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..codec.codec import Mode
from ..codec.dto import DTO
from ..connection.limits import LIMIT_NAMES, litestar_advice
from ..exceptions import ImproperlyConfiguredError
from ..routing.route import Guard, Layer, Route
from .listener import ListenerOptions, ListenerRouteHandler, build_listener_route

if TYPE_CHECKING:
    from ..socket.websocket import WebSocket

__all__ = ["WebSocketListener"]


class _ClassListenerHandler(ListenerRouteHandler):
    """The route handler the App builds from a ``WebSocketListener`` subclass."""

    def __init__(self, cls: type[WebSocketListener], options: ListenerOptions) -> None:
        super().__init__(
            cls.on_receive,
            cls.path,
            options=options,
            dependencies=cls.dependencies,
            websocket_class=cls.websocket_class,
            guards=cls.guards,
            name=cls.route_name or cls.__name__,
            limits={
                name: getattr(cls, name)
                for name in LIMIT_NAMES
                if getattr(cls, name, None) is not None
            },
            forbid_unknown_fields=cls.forbid_unknown_fields,
        )
        self.listener_class = cls

    def build(self, layer: Layer) -> Route:
        cls = self.listener_class
        has_connect = self.options.on_connect is not None
        has_disconnect = self.options.on_disconnect is not None

        def bind(socket: WebSocket) -> Any:
            instance = cls()
            instance.socket = socket
            return (
                instance.on_receive,
                instance.on_connect if has_connect else None,  # type: ignore[attr-defined]
                instance.on_disconnect if has_disconnect else None,  # type: ignore[attr-defined]
            )

        return build_listener_route(
            self, layer, receive_fn=cls.on_receive, options=self.options, bind=bind, method=True
        )


#: Class attributes of Litestar's ``WebsocketListener`` named differently here.
_CLASS_RENAMES = {"name": "use route_name (wsactors' name for the route's name)"}


def _refuse_litestar_attributes(cls: type[WebSocketListener]) -> None:
    """A Litestar attribute (``on_accept``, ``name``, ...) on ``cls`` would be silently
    ignored here; refuse it with the name to use instead."""
    defined = {
        name
        for klass in cls.__mro__
        if klass is not WebSocketListener and klass is not object
        for name in vars(klass)
    }
    where = f"WebSocketListener {cls.__qualname__}"
    litestar_advice(defined, where)
    renamed = sorted(defined & _CLASS_RENAMES.keys())
    if renamed:
        name = renamed[0]
        raise ImproperlyConfiguredError(f"{where}: {name!r} is Litestar's; {_CLASS_RENAMES[name]}")


class WebSocketListener:
    """Base class for class-based listeners.

    Class attributes mirror ``@websocket_listener``'s options. Define
    ``on_receive(self, data, ...)`` (required) and optionally
    ``on_connect(self, socket, ...)`` and ``on_disconnect(self, socket, ...)``; each
    may be sync or async and may ask for injected parameters by name. Limits are
    class attributes named as the decorators' keywords (``max_message_size = 4096``).
    """

    path: ClassVar[str]
    receive_mode: ClassVar[Mode] = "text"
    send_mode: ClassVar[Mode] = "text"
    dependencies: ClassVar[Mapping[str, Any] | None] = None
    websocket_class: ClassVar[type[WebSocket] | None] = None
    # Callable[..., Any]: mypy binds a ClassVar callable like a method (dropping its
    # first parameter), so `async (socket) -> None` set as a staticmethod or a
    # plain function would not type-check against Callable[[WebSocket], Any].
    connection_accept_handler: ClassVar[Callable[..., Any] | None] = None
    dto: ClassVar[DTO[Any] | None] = None
    return_dto: ClassVar[DTO[Any] | None] = None
    sync_to_thread: ClassVar[bool] = False
    guards: ClassVar[Sequence[Guard] | None] = None
    route_name: ClassVar[str | None] = None
    #: ``True``: object keys ``on_receive``'s ``data`` type does not read close 1007;
    #: ``False``: they are ignored; ``None``: as the Router or App says.
    forbid_unknown_fields: ClassVar[bool | None] = None
    # Limits: set any name of LimitOptions (max_message_size, rate_limit, ...) as a
    # class attribute; unset ones are inherited from the Router/App.

    #: This connection's socket; set before ``on_connect``.
    socket: WebSocket

    if TYPE_CHECKING:
        # Subclasses add injected parameters (`on_receive(self, data, user)`): any
        # signature must type-check as an override.
        on_receive: Callable[..., Any]
    else:

        def on_receive(self, data: Any) -> Any:
            """Handle one message; the return value is the reply (``None``: no reply)."""
            raise NotImplementedError

    @classmethod
    def __route_handler__(cls) -> ListenerRouteHandler:
        """The route handler for this class (called by the App at build time)."""
        _refuse_litestar_attributes(cls)
        if cls.on_receive is WebSocketListener.on_receive:
            raise ImproperlyConfiguredError(f"{cls.__qualname__} must define on_receive")
        path = getattr(cls, "path", None)
        if not isinstance(path, str):
            raise ImproperlyConfiguredError(f"{cls.__qualname__} must set `path` (a str)")
        # Read from the class, not an instance: a function stored as a class
        # attribute must not become a bound method.
        accept = cls.__dict__.get("connection_accept_handler", cls.connection_accept_handler)
        if isinstance(accept, staticmethod):
            accept = accept.__func__
        options = ListenerOptions(
            receive_mode=cls.receive_mode,
            send_mode=cls.send_mode,
            on_connect=getattr(cls, "on_connect", None),
            on_disconnect=getattr(cls, "on_disconnect", None),
            connection_accept_handler=accept,
            dto=cls.dto,
            return_dto=cls.return_dto,
            sync_to_thread=cls.sync_to_thread,
        )
        return _ClassListenerHandler(cls, options)
