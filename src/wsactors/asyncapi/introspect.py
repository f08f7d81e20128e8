"""What each route of a built App receives, sends, takes and may close with.

Read from the App's route table and the handler objects' public attributes, with
the signature helpers the handlers use at registration, so the document
describes what the App actually does.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..codec.dto import DTO
from ..di.injector import as_provider
from ..di.signature import RESERVED, ParamSpec, read_params, return_annotation
from ..handlers.listener import ListenerRouteHandler
from ..handlers.stream import StreamRouteHandler
from ..handlers.websocket import WebSocketRouteHandler

if TYPE_CHECKING:
    from ..routing.route import Route

__all__ = ["MessageInfo", "RouteInfo", "routes_of"]

_TEMPLATE_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?}")

Kind = Literal["listener", "stream", "websocket"]


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """One direction of a route's traffic.

    ``annotation`` is ``None`` for an undeclared (opaque) message; ``frame`` is the
    frame type when the route fixes it; ``forbid_unknown_fields`` whether the route
    refuses object keys its type does not read (received messages only).
    """

    annotation: Any
    dto: DTO[Any] | None = None
    frame: Literal["text", "binary"] | None = None
    forbid_unknown_fields: bool = False


@dataclass(slots=True)
class RouteInfo:
    """Everything the document says about one route."""

    name: str
    kind: Kind
    template: str
    path_params: dict[str, str]  # name -> converter ("str", "int", "float", "uuid", "path")
    query: list[ParamSpec]
    doc: str | None
    receives: MessageInfo | None = None
    sends: MessageInfo | None = None
    reply: bool = False  # ``sends`` answers each received message
    close_codes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The template as AsyncAPI writes it: ``/items/{id}``."""
        return _TEMPLATE_PARAM.sub(lambda m: "{" + m.group(1) + "}", self.template)


def _strip_none(tp: Any) -> Any:
    """``T`` of ``T | None`` (``None`` sends nothing); ``None`` for ``None`` itself."""
    if tp is None or tp is type(None):
        return None
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return members[0]
        if len(members) < len(typing.get_args(tp)):
            return typing.Union[tuple(members)]  # noqa: UP007 - built from a tuple
    return tp


def _query_params(
    callables: list[tuple[Callable[..., Any], bool]],
    dependencies: Mapping[str, Any],
    path_params: Mapping[str, Any],
) -> list[ParamSpec]:
    """Parameters that the injector reads from the query string (di.Injector's order)."""
    found: dict[str, ParamSpec] = {}
    seen: set[str] = set()

    def visit(params: list[ParamSpec]) -> None:
        for param in params:
            name = param.name
            if name in RESERVED or name in path_params or name == "data":
                continue
            if name in dependencies:
                if name not in seen:
                    seen.add(name)
                    visit(as_provider(dependencies[name]).params)
                continue
            found.setdefault(name, param)

    for fn, method in callables:
        visit(read_params(fn, skip_self=method))
    return list(found.values())


def _limit_codes(route: Route) -> Iterator[tuple[int, str]]:
    config = route.config
    if config.max_message_size is not None:
        yield 1009, f"a message larger than {config.max_message_size} bytes"
    if config.rate_limit is not None and config.rate_limit_policy == "close":
        count, seconds = config.rate_limit
        yield 1008, f"more than {count} messages in {seconds:g} s (rate limit)"
    if config.idle_timeout is not None:
        yield 1001, f"no message for {config.idle_timeout:g} s (idle timeout)"
    if config.send_timeout is not None:
        yield 1008, f"one send blocked for {config.send_timeout:g} s (send timeout)"


def _listener(
    handler: ListenerRouteHandler, info: RouteInfo, forbid: bool
) -> list[tuple[Any, bool]]:
    options = handler.options
    cls = getattr(handler, "listener_class", None)
    method = cls is not None
    receive_fn = handler.fn
    data = next(p for p in read_params(receive_fn, skip_self=method) if p.name == "data")
    info.receives = MessageInfo(data.annotation, options.dto, options.receive_mode, forbid)
    returns = return_annotation(receive_fn)
    reply = Any if returns is inspect.Parameter.empty else _strip_none(returns)
    if reply is not None:
        info.sends = MessageInfo(reply, options.return_dto, options.send_mode)
        info.reply = True
    raw_text = data.annotation is str and options.receive_mode == "text"
    if not raw_text and data.annotation is not bytes:
        what = "invalid UTF-8" if data.annotation is str else "malformed JSON or a payload"
        tail = "" if data.annotation is str else " that does not fit the schema"
        info.close_codes.append((1007, f"{what}{tail}"))
    if cls is not None and cls.__doc__ and cls.__doc__ is not info.doc:
        info.doc = inspect.cleandoc(cls.__doc__)
    hooks = (options.on_connect, options.on_disconnect, options.connection_lifespan)
    return [(receive_fn, method)] + [
        (h, method and h is not options.connection_lifespan) for h in hooks if h is not None
    ]


def _stream(handler: StreamRouteHandler, info: RouteInfo) -> None:
    args = typing.get_args(return_annotation(handler.fn))
    info.sends = MessageInfo(args[0] if args else Any, handler.return_dto, handler.mode)
    if handler.listen_for_disconnect and not handler.allow_data_discard:
        info.close_codes.append((1008, "any message from the client (the data-discard rule)"))


def _websocket(handler: WebSocketRouteHandler, info: RouteInfo, forbid: bool) -> None:
    info.receives = MessageInfo(handler.receives, forbid_unknown_fields=forbid)
    info.sends = MessageInfo(handler.sends)


def describe(route: Route) -> RouteInfo:
    """The :class:`RouteInfo` of one built route."""
    handler = route.handler
    template = route.template
    info = RouteInfo(
        name=handler.name or "route",
        kind="websocket",
        template=template.path,
        path_params={
            m.group(1): m.group(2) or "str" for m in _TEMPLATE_PARAM.finditer(template.path)
        },
        query=[],
        doc=inspect.cleandoc(handler.__doc__) if handler.__doc__ else None,
    )
    callables: list[tuple[Any, bool]] = [(handler.fn, False)]
    forbid = route.codec.forbid_unknown_fields
    if isinstance(handler, ListenerRouteHandler):
        info.kind = "listener"
        callables = _listener(handler, info, forbid)
    elif isinstance(handler, StreamRouteHandler):
        info.kind = "stream"
        _stream(handler, info)
    elif isinstance(handler, WebSocketRouteHandler):
        _websocket(handler, info, forbid)
    info.close_codes.extend(_limit_codes(route))
    layered = {**route.layer.dependencies, **handler.dependencies}
    info.query = _query_params(callables, layered, template.param_types)
    return info


class Documented(Protocol):
    """What the document reads of an App (``wsactors.App`` is one): its route table
    (iterated in registration order, static paths first; each :class:`Route` carries
    its handler and the layer above it) and its Origin policy.
    """

    @property
    def routes(self) -> Iterable[Route]:
        """The App's routes."""
        ...

    @property
    def allowed_origins(self) -> Sequence[str] | None:
        """The allowed Origin values, or None for any."""
        ...

    @property
    def require_origin(self) -> bool:
        """Whether a handshake without an Origin header is refused."""
        ...


def routes_of(app: Documented) -> list[RouteInfo]:
    """The routes of ``app``, in registration order (static paths first)."""
    return [describe(route) for route in app.routes]
