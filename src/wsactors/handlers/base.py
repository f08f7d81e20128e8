"""What route decorators return, and what the App builds from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..codec import Codec
from ..di import Injector
from ..exceptions import ImproperlyConfiguredError
from ..routing import PathTemplate, join_paths

if TYPE_CHECKING:
    from ..actors.mailbox import Mailbox
    from ..actors.supervisor import Behaviour
    from ..connection import WebSocket

__all__ = ["Layer", "Route", "RouteHandler"]


@dataclass(frozen=True, slots=True)
class Layer:
    """Options gathered from the App and the Routers above a handler.

    The layer closest to the handler wins (API.md, "Layering").
    """

    prefix: str
    dependencies: Mapping[str, Any]
    websocket_class: type[WebSocket]
    codec: Codec

    def child(
        self,
        path: str,
        dependencies: Mapping[str, Any] | None,
        websocket_class: type[WebSocket] | None,
    ) -> Layer:
        """The layer below this one (a Router inside it)."""
        return Layer(
            join_paths(self.prefix, path),
            {**self.dependencies, **(dependencies or {})},
            websocket_class or self.websocket_class,
            self.codec,
        )


@dataclass(frozen=True, slots=True)
class Route:
    """A handler ready to serve: the App calls ``behaviour`` through the supervisor."""

    template: PathTemplate
    behaviour: Behaviour
    websocket_class: type[WebSocket]
    handler: RouteHandler
    on_data: Callable[[Mailbox, Any], bool] | None = None
    on_mailbox: Callable[[Mailbox], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
        name: str | None = None,
    ) -> None:
        if not isinstance(path, str):
            raise ImproperlyConfiguredError(f"route path must be a str, got {path!r}")
        self.fn = fn
        self.path = path
        self.dependencies = dict(dependencies or {})
        self.websocket_class = websocket_class
        self.name = name or getattr(fn, "__name__", None)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def prepare(self, layer: Layer) -> tuple[PathTemplate, Injector, type[WebSocket]]:
        """The full path template, the injector and the websocket class for ``layer``."""
        template = PathTemplate.compile(join_paths(layer.prefix, self.path))
        injector = Injector({**layer.dependencies, **self.dependencies}, template.param_types)
        return template, injector, self.websocket_class or layer.websocket_class

    def build(self, layer: Layer) -> Route:
        """Validate the handler and build its route; raises ImproperlyConfiguredError."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} {self.name}>"
