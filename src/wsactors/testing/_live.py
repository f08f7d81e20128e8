"""LiveServer: the app on hypercorn's Trio worker (or the native engine) over real
loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypedDict, Unpack
from urllib.parse import urlsplit

import trio

from ..groups import sole_leaf
from ..serving.hypercorn import hypercorn_config, serve_async
from ..types import ASGIApp

if TYPE_CHECKING:
    import ssl
    from contextlib import AbstractAsyncContextManager

    from trio_websocket import WebSocketConnection

    from ..serving.native import NativeOptions

__all__ = ["ClientOptions", "LiveServer", "open_client"]


class LiveServer:
    """The app on hypercorn's Trio worker (or the native engine), on a free port, for
    end-to-end tests.

    ``async with LiveServer(app) as server:`` serves until the block ends, then
    asks hypercorn to stop (connections get ``graceful_timeout`` seconds, then the
    lifespan shutdown runs) and cancels it if it is not done in ``stop_timeout``.

    Args:
        app: The ASGI 3 application.
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        stop_timeout: Seconds the server may take to stop before it is cancelled.
        engine: ``"hypercorn"`` or ``"native"`` (a :class:`wsactors.App` only);
            ``None``: :attr:`default_engine` (``"hypercorn"`` unless changed).
        **hypercorn_options: Settable :class:`hypercorn.config.Config` attributes
            (with ``engine="native"``: :class:`wsactors.server.options.NativeOptions`
            fields); for both, ``graceful_timeout`` defaults to 1 s here and
            ``startup_timeout`` (the lifespan startup) to 5 s.

    Raises:
        TypeError: unknown option.
        ValueError: unknown engine.
    """

    #: The engine of a LiveServer created without ``engine=``. A test suite can
    #: switch it to run the same end-to-end tests on both engines.
    default_engine: ClassVar[str] = "hypercorn"

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stop_timeout: float = 5.0,
        engine: str | None = None,
        **hypercorn_options: Any,
    ) -> None:
        # Test-sized defaults: hypercorn's own are 3 s and 60 s.
        hypercorn_options.setdefault("graceful_timeout", 1.0)
        hypercorn_options.setdefault("startup_timeout", 5.0)
        self.app = app
        self.stop_timeout = stop_timeout
        if engine is None:
            engine = type(self).default_engine
        self.engine = engine
        self._native: NativeOptions | None = None
        if engine == "native":
            from ..serving.native import NativeOptions

            self._native = NativeOptions.from_options(hypercorn_options)
            self._host, self._port = host, port
            hypercorn_options = {}
        elif engine != "hypercorn":
            raise ValueError(f"engine must be 'hypercorn' or 'native', got {engine!r}")
        self.config = hypercorn_config(host, port, **hypercorn_options)
        self.binds: list[str] = []
        self._nursery_manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._shutdown = trio.Event()
        self._server_scope = trio.CancelScope()

    async def __aenter__(self) -> Self:
        """Start hypercorn and wait until it listens.

        Raises:
            OSError: the address could not be bound.
            Exception: hypercorn failed to start, e.g. the lifespan startup failed.

        Cancellation:
            The server is cancelled and the nursery closed.
        """
        if self._nursery_manager is not None:
            raise RuntimeError("this LiveServer is already running")
        self._shutdown = trio.Event()
        self._server_scope = trio.CancelScope()
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        listening = False
        try:
            self.binds = await nursery.start(self._run)
            listening = True
        finally:
            if not listening:
                self._shutdown.set()
                nursery.cancel_scope.cancel()
                manager, self._nursery_manager = self._nursery_manager, None
                await manager.__aexit__(None, None, None)
        return self

    async def _run(
        self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._server_scope:
            if self._native is not None:
                from ..serving.native import serve_native_async

                await serve_native_async(
                    self.app,
                    self._host,
                    self._port,
                    self._native,
                    shutdown_trigger=self._shutdown.wait,
                    task_status=task_status,
                )
                return
            await serve_async(
                self.app, self.config, shutdown_trigger=self._shutdown.wait, task_status=task_status
            )

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        """Stop hypercorn gracefully, cancelling it after ``stop_timeout`` seconds.

        The exception leaving the ``async with`` body, if any, propagates as is.

        Cancellation:
            hypercorn is cancelled at once (no graceful stop).
        """
        manager, self._nursery_manager = self._nursery_manager, None
        if manager is None:
            return
        self._shutdown.set()
        self._server_scope.deadline = trio.current_time() + self.stop_timeout
        await manager.__aexit__(None, None, None)

    def _bind(self) -> tuple[str, str, int]:
        if not self.binds:
            raise RuntimeError("the LiveServer has not started: use async with LiveServer(app)")
        bind = next((b for b in self.binds if b.startswith("http://")), self.binds[0])
        parts = urlsplit(bind)
        assert parts.hostname is not None
        assert parts.port is not None
        return parts.scheme, parts.hostname, parts.port

    @property
    def host(self) -> str:
        """The address hypercorn listens on, e.g. ``127.0.0.1``."""
        return self._bind()[1]

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self._bind()[2]

    @property
    def http_url(self) -> str:
        """``http://host:port`` (``https`` with TLS)."""
        scheme, host, port = self._bind()
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{port}"

    @property
    def url(self) -> str:
        """``ws://host:port`` (``wss`` with TLS)."""
        return "ws" + self.http_url.removeprefix("http")

    def url_for(self, path: str) -> str:
        """The ``ws://`` URL of ``path`` on this server.

        Args:
            path: A path, optionally with a query string.

        Returns:
            The URL.
        """
        return self.url + (path if path.startswith("/") else "/" + path)

    def connect(
        self, path: str = "/", **options: Unpack[ClientOptions]
    ) -> AbstractAsyncContextManager[WebSocketConnection]:
        """A trio-websocket client connection to ``path``; use it with ``async with``.

        It is :func:`open_client` on this server: trio-websocket's client on a TCP
        stream that is always closed, raising a lone ``ConnectionRejected`` (or an
        error of the ``async with`` body) as itself.

        Args:
            path: The path, optionally with a query string.
            **options: As :func:`open_client`: ``subprotocols``, ``extra_headers``,
                ``message_queue_size``, ``connect_timeout``, ``disconnect_timeout``,
                ``ssl_context``.

        Raises:
            trio_websocket.ConnectionRejected: the app denied the handshake.
            trio.TooSlowError: the handshake took longer than ``connect_timeout``.
            ImportError: trio-websocket is missing (install the ``testing`` extra).
        """
        return open_client(
            self.host, self.port, path if path.startswith("/") else "/" + path, **options
        )


class ClientOptions(TypedDict, total=False):
    """Keyword options of :func:`open_client` and :meth:`LiveServer.connect`."""

    subprotocols: Sequence[str] | None
    extra_headers: list[tuple[bytes, bytes]] | None
    message_queue_size: int
    connect_timeout: float
    disconnect_timeout: float
    ssl_context: ssl.SSLContext | None


@asynccontextmanager
async def open_client(
    host: str,
    port: int,
    path: str = "/",
    *,
    subprotocols: Sequence[str] | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    message_queue_size: int = 1,
    connect_timeout: float = 5.0,
    disconnect_timeout: float = 5.0,
    ssl_context: ssl.SSLContext | None = None,
    stream: trio.SocketStream | None = None,
) -> AsyncIterator[WebSocketConnection]:
    """A trio-websocket client for any server; :meth:`LiveServer.connect` uses it.

    It is trio-websocket's client (``wrap_client_stream``) on a TCP stream it always
    closes: trio-websocket 0.12's ``open_websocket_url`` leaves its socket open when
    the server closes first or rejects the handshake, and the ``ResourceWarning`` at
    garbage collection would fail an unrelated test under warnings-as-errors. A lone
    error (``ConnectionRejected`` from the client's reader task, or one raised in the
    ``async with`` body) is raised as itself, not inside an ExceptionGroup.

    Args:
        host: The server's host.
        port: The server's port.
        path: The path, optionally with a query string.
        subprotocols: Offered subprotocols.
        extra_headers: Extra request headers.
        message_queue_size: trio-websocket's receive buffer, in messages.
        connect_timeout: Seconds the TCP connect plus handshake may take.
        disconnect_timeout: Seconds the closing handshake may take.
        ssl_context: For a server configured with TLS.
        stream: An already connected TCP stream to use (a test that wants to reset
            the socket itself); it is closed on exit like one opened here.

    Cancellation:
        The closing handshake is shielded and bounded by ``disconnect_timeout``; the
        TCP stream is closed however the block ends.
    """
    from trio_websocket import wrap_client_stream

    with trio.fail_after(connect_timeout):
        tcp = stream if stream is not None else await trio.open_tcp_stream(host, port)
    transport: trio.SocketStream | trio.SSLStream[trio.SocketStream] = tcp
    if ssl_context is not None:
        transport = trio.SSLStream(tcp, ssl_context, server_hostname=host)
    try:
        async with transport, trio.open_nursery() as nursery:
            with trio.fail_after(connect_timeout):
                ws = await wrap_client_stream(
                    nursery,
                    transport,
                    f"{host}:{port}",
                    path,
                    subprotocols=subprotocols,
                    extra_headers=extra_headers,
                    message_queue_size=message_queue_size,
                )
            try:
                yield ws
            finally:
                with trio.move_on_after(disconnect_timeout) as closing:
                    closing.shield = True
                    await ws.aclose()
                # The reader task waits for the server's TCP close; we close instead.
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        sole = sole_leaf(group)
        if sole is None:
            raise
        raise sole from None
