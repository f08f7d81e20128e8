"""``App``: registration, the ASGI entry point, WebSocket dispatch, the drain.

The lifespan is in :mod:`wsactors.lifespan.hooks`; ``Router`` and the registration of
handlers in :mod:`wsactors.routing.router`; the Origin check in
:mod:`wsactors.routing.origins`; answers before any handler runs in
:mod:`wsactors.routing.denials`.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Unpack, cast

import trio
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    WebsocketScope,
)

from .actors.registry import LiveConnections
from .actors.runtime import ConnectionRuntime
from .actors.supervisor import supervise
from .codec.codec import Codec
from .connection.closes import Why, stop_error
from .connection.limits import LimitOptions, RuntimeConfig, checked_limits
from .exceptions import ImproperlyConfiguredError
from .lifespan.hooks import Hook, LifespanContext, run_lifespan
from .lifespan.host import Host
from .metrics import UNMATCHED, AppMetrics
from .metrics.http import listen_from_environ, listening, send_metrics
from .routing.denials import SHUTTING_DOWN, not_found, reject
from .routing.origins import origin_refusal
from .routing.paths import RouteTable
from .routing.route import Guard, Layer, Route
from .routing.router import register
from .socket.datastructures import State
from .socket.websocket import WebSocket
from .transport.asgi import ASGITransport
from .transport.base import Transport
from .types import ASGIApp, ASGIReceive, ASGISend

if TYPE_CHECKING:
    from .channels import Channels

__all__ = ["App"]

logger = logging.getLogger("wsactors.app")


class Match(NamedTuple):
    """A matched route and its path parameters (what :meth:`App.match` returns)."""

    route: Route
    params: dict[str, Any]

    @property
    def config(self) -> RuntimeConfig:
        """The route's limits: the native engine reads them before the 101."""
        return self.route.config


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
        forbid_unknown_fields: Close with 1007, naming the key, when a typed message
            holds an object key its type does not read (a record, TypedDict, pydantic
            model or msgspec Struct, at any depth). By default such keys are ignored,
            as before; Routers and handlers may decide otherwise
            (docs/receiving-data.md).
        http_app: An ASGI app for ``http`` scopes (e.g. Starlette); otherwise they get
            a plain 404.
        asyncapi_path: If given, ``GET`` on this path answers :meth:`asyncapi`'s
            document as JSON (before ``http_app`` sees the request).
        metrics: Count connections, closes, denials, messages, bytes, keepalive
            round trips and Channels traffic, and answer Prometheus scrapes at
            ``metrics_path`` (before ``http_app`` sees the request), on both
            engines. Needs the ``metrics`` extra (``prometheus-client``);
            docs/observability.md lists the metrics.
        metrics_path: Where ``metrics=True`` answers scrapes.
        metrics_port: Also (or, without ``metrics=True``, only) serve the metrics on
            this port of 127.0.0.1, from the App's lifespan: see
            :meth:`serve_metrics_on`.
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
        forbid_unknown_fields: bool = False,
        http_app: Callable[..., Awaitable[None]] | None = None,
        asyncapi_path: str | None = None,
        metrics: bool = False,
        metrics_path: str = "/metrics",
        metrics_port: int | None = None,
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
        if not isinstance(forbid_unknown_fields, bool):
            raise ImproperlyConfiguredError(
                f"forbid_unknown_fields must be True or False, not {forbid_unknown_fields!r}"
            )
        self.codec = Codec(forbid_unknown_fields=forbid_unknown_fields)
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
        # The server calling the App: Trio or not (checked once), and its logging.
        self._host = Host()
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
        register(self.routes, route_handlers, root)
        #: The App's metrics (``metrics=True`` or a metrics port), else None.
        self.metrics: AppMetrics | None = None
        if metrics:
            self._enable_metrics(metrics_path)
        # `wsactors run --metrics-port` in worker processes that import the App anew.
        listen = listen_from_environ(os.environ)
        if metrics_port is not None:
            self.serve_metrics_on(metrics_port)
        elif listen is not None:
            host, port, tries = listen
            self.serve_metrics_on(port, host, tries=tries)

    def _enable_metrics(self, path: str | None) -> AppMetrics:
        if self.metrics is not None:
            if path is not None:
                self.metrics.path = path
            return self.metrics
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            raise ImproperlyConfiguredError(
                "metrics need prometheus-client: pip install 'wsactors[metrics]'"
            ) from None
        if path is not None and not path.startswith("/"):
            raise ImproperlyConfiguredError(f"metrics_path must start with '/', got {path!r}")
        self.metrics = AppMetrics(self, path)
        metrics = self.metrics
        self.lifespan.append(lambda app: listening(metrics))
        return metrics

    def serve_metrics_on(self, port: int, host: str = "127.0.0.1", *, tries: int = 1) -> None:
        """Count metrics, and serve them on ``host:port`` of their own while the App runs.

        A small HTTP responder in the App's lifespan (so in every worker process)
        answers ``GET`` on any path with the Prometheus exposition; for Apps without
        an HTTP side, or to keep metrics off the public port. ``wsactors run
        --metrics-port`` calls it. Call it before the App starts serving.

        Args:
            port: The port; 0 picks a free one (``app.metrics.url`` says which).
            host: The interface.
            tries: Take the first free port of ``port .. port + tries - 1``: one
                per worker process (``wsactors run --workers N``).

        Raises:
            ImproperlyConfiguredError: ``prometheus-client`` is not installed.
        """
        metrics = self._enable_metrics(None)
        metrics.listen = (host, port, tries)

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        """The ASGI 3 entry point."""
        kind = scope["type"]
        if kind == "websocket":
            # Until a handshake arrived on Trio: on asyncio, refused with 500.
            if not self._host.ready and await self._host.refuse_connection(scope, receive, send):
                return
            # One method in between: every await level is paid on each resume of the
            # connection's task, i.e. on every message.
            transport = ASGITransport(
                cast(WebsocketScope, scope),
                cast(ASGIReceiveCallable, receive),
                cast(ASGISendCallable, send),
            )
            await self._serve(scope, transport, self.match(scope.get("path", "/")), "hypercorn")
        elif kind == "lifespan":
            if not await self._host.refuse_lifespan(receive, send):
                await run_lifespan(self, receive, send)
        elif kind == "http":
            await self._serve_http(scope, receive, send)
        else:
            raise ValueError(f"unsupported ASGI scope type {kind!r}")

    async def _serve_http(
        self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend
    ) -> None:
        """An ``http`` request: the metrics, the AsyncAPI document, ``http_app``, or 404."""
        path = scope.get("path")
        metrics = self.metrics
        if metrics is not None and metrics.path is not None and path == metrics.path:
            await send_metrics(metrics, scope, receive, send)
        elif self.asyncapi_path is not None and path == self.asyncapi_path:
            await self._serve_asyncapi(scope, receive, send)
        elif self.http_app is not None:
            await self.http_app(scope, receive, send)
        else:
            await not_found(send)

    @property
    def plain_http(self) -> ASGIApp | None:
        """What answers plain HTTP requests on the native engine: the App's own
        ``http`` side when it has one (metrics, the AsyncAPI document, ``http_app``),
        else None (the engine then answers 404, or 426 on a WebSocket route)."""
        metrics = self.metrics
        if (
            self.http_app is None
            and self.asyncapi_path is None
            and (metrics is None or metrics.path is None)
        ):
            return None
        return self._serve_http

    def handshake_denied(self, matched: Match | None, status: int) -> None:
        """Count a handshake the native engine denied itself (503 beyond
        ``max_connections`` or while draining, 400/426 for a bad upgrade)."""
        if self.metrics is not None:
            route = matched.route.template.path if matched is not None else UNMATCHED
            self.metrics.denied(route, "native", status)

    async def serve_connection(self, scope: dict[str, Any], transport: Transport) -> None:
        """Run one WebSocket connection over ``transport``: any engine's entry point.

        ``scope`` is an ASGI websocket scope (path, headers, query string, client,
        subprotocols); the App adds itself as ``scope["app"]``. Routing, the drain,
        and Origin checks answer before any handler runs.

        Cancellation:
            Cancelling closes the connection with 1001 (see ``supervise``).
        """
        await self._serve(scope, transport, self.match(scope.get("path", "/")), "custom")

    async def serve_matched(
        self, scope: dict[str, Any], transport: Transport, matched: Match | None
    ) -> None:
        """:meth:`serve_connection` with the route already matched (by the native
        engine, which read the route's limits before the 101).

        Cancellation:
            As :meth:`serve_connection`.
        """
        await self._serve(scope, transport, matched, "native")

    async def _serve(
        self, scope: dict[str, Any], transport: Transport, matched: Match | None, engine: str
    ) -> None:
        """Serve one connection; ``engine`` labels its metrics."""
        scope["app"] = self
        path = scope.get("path", "/")
        metrics = self.metrics
        if matched is None:
            logger.info("no WebSocket route for %r: denied with 404", path)
            if metrics is not None:
                metrics.denied(UNMATCHED, engine, 404)
            await reject(transport, 404, b"Not Found")
            return
        route, params = matched
        tally = metrics.tally(route.template.path, engine) if metrics is not None else None
        if self._draining:
            logger.info("shutting down: %r denied with 503", path)
            if tally is not None:
                tally.denied(503)
            await reject(transport, 503, SHUTTING_DOWN.encode())
            return
        refusal = origin_refusal(scope, self.allowed_origins, self.require_origin)
        if refusal is not None:
            logger.info("%s for %r: denied with 403", refusal, path)
            if tally is not None:
                tally.denied(403)
            await reject(transport, 403, refusal.encode())
            return
        websocket_class = route.websocket_class

        def make_socket(runtime: ConnectionRuntime) -> WebSocket:
            return websocket_class(runtime, scope, path_params=params)

        await supervise(
            transport,
            path=path,
            behaviour=route.behaviour,
            make_socket=make_socket,
            config=route.config,
            codec=route.codec,
            reader=route.reader,
            registry=self.connections,
            route_path=route.template.path,
            hints=route.hints,
            observer=tally,
            topics=self.channels,
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

    def match(self, path: str) -> Match | None:
        """The route for ``path`` (already unquoted) and its path parameters, or None."""
        matched = self.routes.match(path)
        return None if matched is None else Match(*matched)

    @property
    def draining(self) -> bool:
        """True from the start of :meth:`drain` until the next lifespan startup:
        new handshakes are denied with HTTP 503 (by either engine)."""
        return self._draining

    def reopen(self) -> None:
        """Accept handshakes again: a new serving run (a test's LiveServer, a restart
        in the same process) after an earlier drain. The lifespan startup calls it."""
        self._draining = False

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
