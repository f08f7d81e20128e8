"""``App`` and ``Router``: registration, the ASGI entry point, lifespan, dispatch."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, Any, Unpack, cast

import trio
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    WebsocketScope,
)

from .actors.registry import LiveConnections
from .actors.runtime import ConnectionRuntime
from .actors.supervisor import supervise
from .closes import Why, stop_error
from .codec import Codec
from .connection import WebSocket
from .datastructures import State
from .events import Connect
from .exceptions import ImproperlyConfiguredError
from .handlers.base import Guard, Layer, Route, RouteHandler
from .limits import LimitOptions, RuntimeConfig, checked_limits
from .protocol import ConnectionState
from .routing import RouteTable
from .transport.asgi import ASGITransport
from .transport.base import Transport

if TYPE_CHECKING:
    from .channels import Channels

__all__ = ["App", "Router"]

logger = logging.getLogger("wsactors.app")

# The App's own ASGI signature stays dict-typed (what serve() and every ASGI server
# accept); the transport below types each message with hypercorn.typing.
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
Hook = Callable[..., Any]
#: ``lifespan=`` items: called with the App, entered at startup, left at shutdown.
LifespanContext = Callable[["App"], AbstractAsyncContextManager[Any]]


class Router:
    """A group of handlers under a path prefix; routers nest.

    Args:
        path: The prefix (``"/api"``).
        route_handlers: Decorated handlers, ``WebSocketListener`` subclasses, Routers.
        dependencies: name -> ``Provide`` or callable, for everything below.
        websocket_class: ``WebSocket`` subclass for everything below.
        guards: ``guard(socket)`` callables for everything below (run after the
            App's guards, before the handler's).
    """

    def __init__(
        self,
        path: str,
        route_handlers: Sequence[Any],
        *,
        dependencies: Mapping[str, Any] | None = None,
        websocket_class: type[WebSocket] | None = None,
        guards: Sequence[Guard] | None = None,
    ) -> None:
        self.path = path
        self.route_handlers = list(route_handlers)
        self.dependencies = dict(dependencies or {})
        self.websocket_class = websocket_class
        self.guards = tuple(guards or ())


def _as_route_handler(item: Any) -> RouteHandler | None:
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


def _origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    """Exact origins, ``"*"``, and ``"https://*.example.com"`` subdomain patterns."""
    for pattern in allowed:
        if pattern in ("*", origin):
            return True
        scheme, sep, host = pattern.partition("://*.")
        if sep and origin.startswith(f"{scheme}://") and origin.endswith(f".{host}"):
            return True
    return False


async def _call_hook(hook: Hook, app: App) -> None:
    result = hook(app) if inspect.signature(hook).parameters else hook()
    if inspect.isawaitable(result):
        await result


class App:
    """An ASGI 3 application serving WebSocket routes.

    Args:
        route_handlers: Decorated handlers, ``WebSocketListener`` subclasses, Routers.
        dependencies: App-level dependencies (name -> ``Provide`` or callable).
        websocket_class: ``WebSocket`` subclass for every connection (Routers and
            handlers may override it).
        on_startup: Hooks run at ASGI lifespan startup; each sync or async, taking no
            argument or the App.
        on_shutdown: Hooks run at lifespan shutdown, same shapes.
        lifespan: Async context managers that stay open while the App serves: each
            item is called with the App; they are entered in order after the
            startup hooks and left in reverse order after the shutdown hooks (the
            place for long-running tasks: open a nursery in one).
        channels: A :class:`~wsactors.Channels`: started before the
            startup hooks, stopped after everything else at shutdown, and
            injected as ``channels``. It encodes with this App's codec.
        allowed_origins: If given, a handshake whose ``Origin`` header matches none of
            these (exact, ``"*"`` or ``"https://*.example.com"``) is denied with HTTP
            403 before accept. Requests without ``Origin`` (non-browser clients) pass
            unless ``require_origin``.
        require_origin: Deny handshakes that carry no ``Origin`` header (403).
        guards: ``guard(socket)`` callables run for every route, before
            dependencies and before accept; they raise ``NotAuthorizedError`` (401)
            or ``PermissionDeniedError`` (403) to deny.
        debug: Put exception text in 1011 close reasons.
        http_app: An ASGI app for ``http`` scopes (e.g. Starlette); otherwise they get
            a plain 404.
        asyncapi_path: If given, ``GET`` on this path answers :meth:`asyncapi`'s
            document as JSON (before ``http_app`` sees the request).
        inbox_size, outbox_size: Per-connection queue lengths (messages).
        disconnect_grace, close_timeout, cleanup_timeout: Seconds; see
            ``docs/architecture.md``.
        shutdown_timeout: Default bound of :meth:`drain`, in seconds.
        **limits: App-wide ``max_message_size``, ``rate_limit``,
            ``rate_limit_policy``, ``idle_timeout``, ``send_timeout`` (Routers do not
            take limits; handlers override them).

    Raises:
        ImproperlyConfiguredError: any registration mistake, here rather than at
            request time.
    """

    def __init__(
        self,
        route_handlers: Sequence[Any],
        *,
        dependencies: Mapping[str, Any] | None = None,
        websocket_class: type[WebSocket] | None = None,
        on_startup: Iterable[Hook] = (),
        on_shutdown: Iterable[Hook] = (),
        lifespan: Sequence[LifespanContext] = (),
        channels: Channels | None = None,
        allowed_origins: Sequence[str] | None = None,
        require_origin: bool = False,
        guards: Sequence[Guard] | None = None,
        debug: bool = False,
        http_app: Callable[..., Awaitable[None]] | None = None,
        asyncapi_path: str | None = None,
        inbox_size: int = 16,
        outbox_size: int = 16,
        disconnect_grace: float = 5.0,
        close_timeout: float = 5.0,
        cleanup_timeout: float = 5.0,
        shutdown_timeout: float = 5.0,
        **limits: Unpack[LimitOptions],
    ) -> None:
        if websocket_class is not None and not (
            inspect.isclass(websocket_class) and issubclass(websocket_class, WebSocket)
        ):
            raise ImproperlyConfiguredError("websocket_class must be a WebSocket subclass")
        self.state = State()
        self.debug = debug
        self.codec = Codec()
        self.http_app = http_app
        self.asyncapi_path = asyncapi_path
        self._asyncapi_json: bytes | None = None
        self.on_startup = list(on_startup)
        self.on_shutdown = list(on_shutdown)
        self.lifespan = list(lifespan)
        self.channels = channels
        if channels is not None:
            channels.codec = self.codec
        self.allowed_origins = list(allowed_origins) if allowed_origins is not None else None
        self.require_origin = require_origin
        self.shutdown_timeout = shutdown_timeout
        self.connections = LiveConnections()
        self._draining = False
        self.runtime = RuntimeConfig(
            inbox_size=inbox_size,
            outbox_size=outbox_size,
            disconnect_grace=disconnect_grace,
            close_timeout=close_timeout,
            cleanup_timeout=cleanup_timeout,
            debug=debug,
            **checked_limits(dict(limits), "App"),
        )
        self.routes: RouteTable[Route] = RouteTable()
        root = Layer(
            "/",
            dict(dependencies or {}),
            websocket_class or WebSocket,
            self.codec,
            self.runtime,
            tuple(guards or ()),
        )
        self._register(route_handlers, root)

    def _register(self, items: Sequence[Any], layer: Layer) -> None:
        for item in items:
            if isinstance(item, Router):
                self._register(
                    item.route_handlers,
                    layer.child(item.path, item.dependencies, item.websocket_class, item.guards),
                )
                continue
            handler = _as_route_handler(item)
            if handler is None:
                raise ImproperlyConfiguredError(
                    f"{item!r} is not a route handler: pass functions decorated with "
                    f"@websocket/@websocket_listener/@websocket_stream, WebSocketListener "
                    f"subclasses (the class, not an instance) or Routers"
                )
            route = handler.build(layer)
            # What the AsyncAPI document reads to tell dependencies from query parameters.
            route.extra["layer"] = layer
            self.routes.add(route.template, route)

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        """The ASGI 3 entry point."""
        kind = scope["type"]
        if kind == "websocket":
            # No method in between: every await level is paid on each resume of the
            # connection's task, i.e. on every message.
            transport = ASGITransport(
                cast(WebsocketScope, scope),
                cast(ASGIReceiveCallable, receive),
                cast(ASGISendCallable, send),
            )
            await self.serve_connection(scope, transport)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        elif kind == "http":
            if self.asyncapi_path is not None and scope.get("path") == self.asyncapi_path:
                await self._serve_asyncapi(scope, receive, send)
            elif self.http_app is not None:
                await self.http_app(scope, receive, send)
            else:
                await _not_found(send)
        else:
            raise ValueError(f"unsupported ASGI scope type {kind!r}")

    async def serve_connection(self, scope: dict[str, Any], transport: Transport) -> None:
        """Run one WebSocket connection over ``transport``: any engine's entry point.

        ``scope`` is an ASGI websocket scope (path, headers, query string, client,
        subprotocols); the App adds itself as ``scope["app"]``. Routing, the drain,
        and Origin checks answer before any handler runs.

        Cancellation:
            Cancelling closes the connection with 1001 (see ``supervise``).
        """
        scope["app"] = self
        path = scope.get("path", "/")
        matched = self.routes.match(path)
        if matched is None:
            logger.info("no WebSocket route for %r: denied with 404", path)
            await _reject(transport, 404, b"Not Found")
            return
        if self._draining:
            logger.info("shutting down: %r denied with 503", path)
            await _reject(transport, 503, b"Server shutting down")
            return
        refusal = self._origin_refusal(scope)
        if refusal is not None:
            logger.info("%s for %r: denied with 403", refusal, path)
            await _reject(transport, 403, refusal.encode())
            return
        route, params = matched
        websocket_class = route.websocket_class

        def make_socket(runtime: ConnectionRuntime) -> WebSocket:
            return websocket_class(runtime, scope, path_params=params)

        await supervise(
            transport,
            path=path,
            behaviour=route.behaviour,
            make_socket=make_socket,
            config=route.config,
            codec=self.codec,
            reader=route.reader,
            registry=self.connections,
            route_path=route.template.path,
            hints=route.hints,
        )

    def asyncapi(
        self,
        *,
        title: str = "wsactors app",
        version: str = "1.0.0",
        description: str | None = None,
        servers: Mapping[str, str | Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """This App's AsyncAPI 3.0 document: one channel per route (docs/asyncapi.md).

        Needs the ``asyncapi`` extra (msgspec writes the JSON Schemas).

        Args:
            title: ``info.title``.
            version: ``info.version``, the version of this API.
            description: ``info.description``.
            servers: name -> ``"ws://host:port/prefix"`` URL or an AsyncAPI Server Object.

        Returns:
            The document, a JSON-serializable dict.

        Raises:
            ImproperlyConfiguredError: msgspec is missing, or a server URL is not ws/wss.
        """
        from .asyncapi import asyncapi_document

        return asyncapi_document(
            self, title=title, version=version, description=description, servers=servers
        )

    async def _serve_asyncapi(
        self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend
    ) -> None:
        from .asyncapi.http import send_document
        from .asyncapi.render import render

        if self._asyncapi_json is None:  # built once: the routes never change
            self._asyncapi_json = render(self.asyncapi()).encode()
        await send_document(self._asyncapi_json, scope, receive, send)

    def _origin_refusal(self, scope: dict[str, Any]) -> str | None:
        """Why the handshake's Origin is refused, or None.

        Browsers always send ``Origin`` on WebSocket handshakes and CORS does not
        apply to WebSockets, so this check is what stops cross-site WebSocket
        hijacking (a page elsewhere riding the user's cookies).
        """
        origin = _header(scope, b"origin")
        if origin is None:
            return "Origin header required" if self.require_origin else None
        if self.allowed_origins is not None and not _origin_allowed(origin, self.allowed_origins):
            return "Origin not allowed"
        return None

    async def drain(self) -> bool:
        """Close every live connection with 1001 "Going Away" and wait for them.

        New handshakes are denied with HTTP 503 from now on. Each connection's
        ``on_disconnect``, stream finalizers and yield-dependency cleanups run
        within the wait.

        The wait is bounded by the App's ``shutdown_timeout``.

        Returns:
            True if every connection ended in time.

        Cancellation:
            Safe to cancel; connections keep closing on their own.
        """
        self._draining = True
        live = len(self.connections)
        if live:
            logger.info("draining %d connection(s)", live)
        self.connections.stop_all(stop_error(Why.GOING_AWAY))
        with trio.move_on_after(self.shutdown_timeout):
            await self.connections.wait_empty()
        left = len(self.connections)
        if left:
            logger.warning("%d connection(s) still open after the drain", left)
        return left == 0

    async def _lifespan(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        # A new serving run: an App drained by an earlier run (a test's LiveServer,
        # a restart in the same process) accepts connections again.
        self._draining = False
        async with AsyncExitStack() as contexts:
            try:
                if self.channels is not None:
                    await contexts.enter_async_context(self.channels)
                for hook in self.on_startup:
                    await _call_hook(hook, self)
                for context in self.lifespan:
                    await contexts.enter_async_context(context(self))
            except Exception as exc:
                logger.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            # Under plain `hypercorn -k trio` this runs after hypercorn stopped serving;
            # connections still open are closed with 1001 here.
            await self.drain()
            failure = None
            for hook in self.on_shutdown:
                try:
                    await _call_hook(hook, self)
                except Exception as exc:
                    logger.exception("shutdown hook failed")
                    failure = failure or exc
            try:
                # Lifespan contexts (then the Channels) close after the connections.
                await contexts.aclose()
            except Exception as exc:
                logger.exception("closing a lifespan context failed")
                failure = failure or exc
        if failure is not None:
            await send({"type": "lifespan.shutdown.failed", "message": repr(failure)})
        else:
            await send({"type": "lifespan.shutdown.complete"})


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _reject(transport: Transport, status: int, body: bytes) -> None:
    """Deny a handshake that never reaches a handler (no route, bad origin, drain)."""
    if type(await transport.receive()) is not Connect:
        return  # the client left first; ASGI apps receive the connect before answering
    state = ConnectionState(http_denials=transport.capabilities.http_denials)
    await transport.send(state.deny_events(status, body, None))


async def _not_found(send: ASGISend) -> None:
    body = b"Not Found"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
