"""The native engine: wsactors' own Trio WebSocket server (no ASGI server in between).

:func:`serve_native_async` runs the App's lifespan around a :class:`NativeServer`
listening on ``host:port``. ``wsactors.serve(app, engine="native")`` and
``LiveServer(app, engine="native")`` call it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..server.options import NativeOptions
from ..server.server import NativeServer
from ..server.workers import WorkersFailedError, reuse_port_listeners, run_workers
from .settings import NATIVE, ServerSettings, tls_context
from .signals import OnServing, run_until_signal

__all__ = [
    "NativeOptions",
    "NativeServer",
    "WorkersFailedError",
    "native_options",
    "require_app",
    "run_native",
    "serve_native_async",
]

logger = logging.getLogger("wsactors.engine")


def require_app(app: object) -> None:
    """Raise TypeError unless ``app`` is what the engine serves (a wsactors App)."""
    if not callable(getattr(app, "serve_matched", None)):
        raise TypeError(
            "the native engine serves a wsactors.App (it calls app.serve_matched); "
            f"got {type(app).__name__}: use engine='hypercorn' for other ASGI apps"
        )


def _url(listener: trio.SocketListener, tls: bool) -> str:
    host, port = listener.socket.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}"


async def serve_native_async(
    app: Any,
    host: str,
    port: int,
    options: NativeOptions,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    reuse_port: bool = False,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``host:port`` until ``shutdown_trigger`` returns.

    Args:
        app: A :class:`wsactors.App` (the engine calls ``serve_matched``; an
            ASGI middleware around an App does not have it).
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        options: The engine's options.
        shutdown_trigger: When it returns, the server drains and stops (see
            ``NativeServer.shutdown``), then the lifespan shutdown runs.
            ``None`` serves until cancelled.
        reuse_port: Bind with ``SO_REUSEPORT`` (several worker processes).
        task_status: Receives the bound URLs (``["http://127.0.0.1:54321"]``) once
            the lifespan startup completed and the sockets listen.

    Raises:
        TypeError: ``app`` is not a wsactors App.
        OSError: the address could not be bound.
        wsactors.testing.LifespanError: the App's startup failed (the lifespan
            driver's own error, which ``wsactors.testing`` re-exports).
        wsactors.lifespan.driver.LifespanTimeout: the App did not answer the
            lifespan startup within ``startup_timeout``.

    Cancellation:
        Stops at once: connections are cancelled (each App connection still
        closes with 1001 within its time limits) and the lifespan shutdown is not run.
    """
    require_app(app)
    # The lifespan driver the project's TestClient uses (no second implementation).
    from ..lifespan.driver import Lifespan

    server = NativeServer(app, options)
    lifespan = Lifespan()
    tls = options.ssl_context is not None
    async with trio.open_nursery() as nursery:
        await lifespan.startup(app, nursery, options.startup_timeout)
        server.state = lifespan.state
        if reuse_port:
            listeners = await reuse_port_listeners(host, port)
        else:
            listeners = await trio.open_tcp_listeners(port, host=host)
        async with trio.open_nursery() as connections:
            # Keepalive and write timeouts of every connection: one task.
            connections.start_soon(server.deadlines.run)
            # Idle connections that wake together parse their reads in turn.
            connections.start_soon(server.turns.run)
            for listener in listeners:
                connections.start_soon(server.accept_loop, listener, connections)
            binds = [_url(listener, tls) for listener in listeners]
            for bind in binds:
                logger.info("wsactors (native engine) serving on %s", bind)
            task_status.started(binds)
            if shutdown_trigger is None:
                await trio.sleep_forever()
            else:
                await shutdown_trigger()
            logger.info("wsactors shutting down")
            await server.shutdown(listeners)
            connections.cancel_scope.cancel()
        await lifespan.shutdown(options.startup_timeout)


def run_native(
    app: Any,
    host: str,
    port: int,
    *,
    workers: int = 1,
    on_serving: OnServing | None = None,
    **options: Any,
) -> None:
    """Serve ``app`` on the native engine until SIGINT or SIGTERM; blocks.

    The signal receiver is installed first, so a signal during startup stops the
    server as soon as it is up. With ``workers`` > 1, that many forked processes
    share the port with ``SO_REUSEPORT``, a worker that dies is replaced, and the
    workers drain and exit if this process dies (see docs/serving.md, "The native
    engine's workers"). ``on_serving`` is
    called with the bound URLs once the server listens (one worker only: each of
    several logs its own).

    Raises:
        TypeError: an unknown option, or ``app`` is not a wsactors App.
        ValueError: an option out of range.
        OSError: the address could not be bound.
        WorkersFailedError: a worker failed to start, kept failing right after its
            restarts, or did not exit cleanly after the stop.
    """
    native = NativeOptions.from_options(options)
    require_app(app)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if workers > 1:
        run_workers(serve_native_async, app, host, port, native, workers)
        return
    run_until_signal(
        serve_native_async, app, host, port, native, logger=logger, on_serving=on_serving
    )


def native_options(settings: ServerSettings) -> dict[str, Any]:
    """Native engine options (``serve(engine="native", ...)``) for ``wsactors run``.

    TLS: ``certfile`` and ``keyfile`` become an ``ssl_context``; ``workers`` is
    passed as it is (the native engine forks its own workers); ``compression="none"``
    is the engine's ``compression=None``.

    Raises:
        UnsupportedSettingError: a setting the native engine cannot honour
            (``read_timeout``, ``access_log``, ``reload``).
        SettingError: the certificate or key is missing or cannot be loaded.
    """
    options = NATIVE.engine_options(settings)
    if options.get("compression") == "none":
        options["compression"] = None
    if settings.certfile is not None and settings.keyfile is not None:
        options["ssl_context"] = tls_context(settings.certfile, settings.keyfile)
    options["workers"] = settings.workers
    return options
