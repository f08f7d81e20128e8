"""Run an ASGI app on hypercorn's Trio worker.

Three layers, each built on the one below:

- :func:`hypercorn_config` turns ``host``, ``port`` and keyword options into a
  :class:`hypercorn.config.Config`, rejecting option names hypercorn does not know.
- :func:`serve_async` serves an app with a ready Config until a shutdown trigger
  returns; :class:`wsactors.testing.LiveServer` starts it with ``nursery.start``.
- :func:`serve` is the blocking entry point (like ``uvicorn.run``): it stops on
  SIGINT or SIGTERM.

``wsactors run`` maps its engine-neutral settings onto hypercorn's Config with
:func:`hypercorn_options`, and serves several worker processes (or reloads on code
changes) with :func:`serve_processes`, hypercorn's own process supervisor.
"""

from __future__ import annotations

import inspect
import logging
import signal
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, cast

import hypercorn.run
import hypercorn.trio
import trio
from hypercorn.config import Config
from hypercorn.typing import Framework

from .server_settings import HYPERCORN, NATIVE, ServerSettings, logging_config

__all__ = [
    "ASGIApp",
    "hypercorn_config",
    "hypercorn_options",
    "serve",
    "serve_async",
    "serve_processes",
]

logger = logging.getLogger(__name__)

#: An ASGI 3 application: ``await app(scope, receive, send)``.
ASGIApp: TypeAlias = Callable[
    [
        dict[str, Any],
        Callable[[], Awaitable[dict[str, Any]]],
        Callable[[dict[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]

ShutdownTrigger: TypeAlias = Callable[[], Awaitable[None]]


def _settable_options() -> frozenset[str]:
    """Public Config attributes that can be assigned (not methods, not read-only)."""
    names = set(Config.__annotations__)
    for name in dir(Config):
        attr = inspect.getattr_static(Config, name)
        if isinstance(attr, property):
            if attr.fset is not None:
                names.add(name)
        elif not (inspect.isfunction(attr) or isinstance(attr, classmethod | staticmethod)):
            names.add(name)
    return frozenset(name for name in names if not name.startswith("_"))


_OPTIONS = _settable_options()


def _format_bind(host: str, port: int) -> str:
    # An IPv6 literal needs brackets to be told apart from the port.
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def hypercorn_config(host: str = "127.0.0.1", port: int = 8000, **options: Any) -> Config:
    """Build a hypercorn Config bound to ``host:port``.

    Args:
        host: Interface to listen on. IPv6 literals may be given without brackets.
        port: TCP port; 0 lets the OS pick a free one.
        **options: Any settable attribute of :class:`hypercorn.config.Config`, e.g.
            ``graceful_timeout=1.0``, ``websocket_max_message_size=2**20``,
            ``certfile=...``. Each is assigned as given.

    Returns:
        A new Config.

    Raises:
        TypeError: an option is not a settable Config attribute (a typo fails
            loudly instead of being ignored), or ``bind`` was given: use ``host``
            and ``port``, or build a Config yourself and call :func:`serve_async`.
    """
    config = Config()
    config.bind = [_format_bind(host, port)]
    for name, value in options.items():
        if name == "bind":
            raise TypeError("hypercorn_config() takes host= and port= instead of bind=")
        if name == "workers" and value != 1:
            # serve() runs one Trio worker in this process: worker processes must each
            # import the app from an import string, which only a command line has.
            raise TypeError(
                "serve() runs one worker; for several use `wsactors run --workers N`"
                " or `hypercorn -k trio -w N`"
            )
        if name == "use_reloader" and value:
            # Only hypercorn's process supervisor reloads; hypercorn.trio.serve ignores it.
            raise TypeError(
                "serve() cannot reload; use `wsactors run --reload` or `hypercorn --reload`"
            )
        if name not in _OPTIONS:
            raise TypeError(
                f"unknown hypercorn option {name!r}; see hypercorn.config.Config for the"
                " settable options"
            )
        setattr(config, name, value)
    return config


class _LoggingTaskStatus:
    """Forwards hypercorn's bound addresses to our caller, logging them on the way."""

    def __init__(self, task_status: trio.TaskStatus[list[str]]) -> None:
        self._task_status = task_status

    def started(self, value: list[str] | None = None) -> None:
        binds = list(value or [])
        for bind in binds:
            logger.info("wsactors serving on %s", bind)
        self._task_status.started(binds)


async def serve_async(
    app: ASGIApp,
    config: Config,
    *,
    shutdown_trigger: ShutdownTrigger | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` with hypercorn's Trio worker until ``shutdown_trigger`` returns.

    Use it with ``await nursery.start(serve_async, app, config)`` to learn the bound
    addresses, e.g. ``["http://127.0.0.1:54321"]`` (useful with port 0).

    Args:
        app: The ASGI 3 application.
        config: A hypercorn Config, e.g. from :func:`hypercorn_config`.
        shutdown_trigger: Async callable; when it returns, an app with a ``drain()``
            method (a :class:`wsactors.App`) drains first (close 1001 to every live
            connection, bounded by its ``shutdown_timeout``); then hypercorn stops
            accepting connections, gives open ones ``config.graceful_timeout`` seconds to
            finish and then cancels them (it sends no close frame of its own), runs
            the lifespan shutdown and returns. ``None`` serves until cancelled.
        task_status: Receives the list of bound addresses once the sockets listen
            and the lifespan startup completed.

    Raises:
        OSError: the address could not be bound.
        Exception: whatever hypercorn raises, e.g. when the lifespan startup fails.

    Cancellation:
        Stops at once: connections are cancelled without a graceful drain and the
        lifespan shutdown is not run. Use the shutdown trigger for a clean stop.
    """
    trigger: ShutdownTrigger | None = None
    if shutdown_trigger is not None:
        user_trigger = shutdown_trigger

        async def trigger() -> None:
            await user_trigger()
            logger.info("wsactors shutting down")
            # Drain before hypercorn stops: it sends no close frame of its own and
            # cancels apps after graceful_timeout. A wsactors App closes every live
            # connection with 1001 and waits (bounded by its shutdown_timeout) for
            # on_disconnect hooks, stream finalizers and dependency cleanups.
            drain = getattr(app, "drain", None)
            if drain is not None:
                await drain()

    await hypercorn.trio.serve(
        cast(Framework, app),
        config,
        shutdown_trigger=trigger,
        task_status=_LoggingTaskStatus(task_status),
        mode="asgi",
    )


async def _serve_until_signal(app: ASGIApp, config: Config) -> None:
    """Serve until SIGINT or SIGTERM, then stop gracefully.

    The signal receiver is installed before hypercorn starts, so a signal that
    arrives during startup is kept and stops the server as soon as it is up.

    Cancellation:
        Stops at once, as :func:`serve_async`.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def wait_for_signal() -> None:
            async for signum in signals:
                logger.info("received %s", signal.Signals(signum).name)
                return

        await serve_async(app, config, shutdown_trigger=wait_for_signal)


def serve(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    engine: str = "hypercorn",
    **hypercorn_options: Any,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM; blocks (like ``uvicorn.run``).

    Starts its own Trio run, so call it from synchronous code in the main thread.

    Args:
        app: The ASGI 3 application, e.g. a :class:`wsactors.App`.
        host: Interface to listen on.
        port: TCP port; 0 lets the OS pick one (the log line names it).
        engine: ``"hypercorn"`` (default: hypercorn's Trio worker) or ``"native"``
            (wsactors' own server, a :class:`wsactors.App` only; its options are
            :class:`wsactors.engine.NativeOptions`, see docs/engines.md).
        **hypercorn_options: Settable :class:`hypercorn.config.Config` attributes,
            see :func:`hypercorn_config` (with ``engine="native"``: the native
            engine's options).

    Raises:
        TypeError: unknown option.
        ValueError: unknown engine.
        OSError: the address could not be bound.
    """
    if engine == "native":
        from .engine import run_native

        run_native(app, host, port, **hypercorn_options)
        return
    if engine != "hypercorn":
        raise ValueError(f"engine must be 'hypercorn' or 'native', got {engine!r}")
    config = hypercorn_config(host, port, **hypercorn_options)
    try:
        trio.run(_serve_until_signal, app, config)
    except BaseExceptionGroup as group:
        # hypercorn's nurseries wrap a bind failure twice; the caller asked for a
        # plain function call, so a single error is re-raised as itself.
        raise _sole_error(group) from None


def hypercorn_options(settings: ServerSettings) -> dict[str, Any]:
    """hypercorn Config options for the settings of ``wsactors run``, logging included.

    Args:
        settings: The engine-neutral settings. ``workers`` and ``reload`` are not
            among the result: :func:`serve_processes` takes them.

    Returns:
        Keyword options for :func:`hypercorn_config`.

    Raises:
        UnsupportedSettingError: a setting hypercorn cannot honour
            (``ping_timeout``).
    """
    options = HYPERCORN.engine_options(settings)
    # Given loggers (instead of hypercorn's default "-"), hypercorn adds no handler of
    # its own: its records reach the root handler once, in our format. The same
    # schema is applied by hypercorn in every worker process it spawns.
    options["errorlog"] = logging.getLogger("hypercorn.error")
    options["accesslog"] = logging.getLogger("hypercorn.access") if settings.access_log else None
    options["loglevel"] = settings.log_level.upper()
    options["logconfig_dict"] = logging_config(settings.log_level, access_log=settings.access_log)
    return options


def native_options(settings: ServerSettings) -> dict[str, Any]:
    """Native engine options (``serve(engine="native", ...)``) for ``wsactors run``.

    TLS: ``certfile`` and ``keyfile`` become an ``ssl_context``; ``workers`` is
    passed as it is (the native engine forks its own workers).

    Raises:
        UnsupportedSettingError: a setting the native engine cannot honour
            (``read_timeout``, ``access_log``, ``reload``).
        OSError: the certificate or key cannot be read.
    """
    options = NATIVE.engine_options(settings)
    options.pop("certfile", None)
    options.pop("keyfile", None)
    if settings.certfile is not None and settings.keyfile is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.certfile, settings.keyfile)
        options["ssl_context"] = context
    options["workers"] = settings.workers
    return options


def serve_processes(application_path: str, config: Config, *, workers: int, reload: bool) -> int:
    """Serve with hypercorn's process supervisor: ``workers`` processes, or reloading.

    Each worker process imports the app from ``application_path`` itself (hypercorn's
    own loader), so each has its own copy of the App and its state. The supervisor
    stops on SIGINT or SIGTERM; the workers then stop as under ``hypercorn -k trio``:
    no drain first, connections still open after ``graceful_timeout`` are cancelled
    (a wsactors App still closes each with 1001) and the lifespan shutdown runs.

    Args:
        application_path: ``module:attribute`` of the app.
        config: A hypercorn Config, e.g. from :func:`hypercorn_config`; changed in
            place (worker class, workers, reloader, application path).
        workers: Number of worker processes, at least 1.
        reload: Restart the workers when a loaded source file changes.

    Returns:
        The supervisor's exit code: 0 after a clean stop.

    Raises:
        OSError: the address could not be bound.
    """
    config.application_path = application_path
    config.worker_class = "trio"
    config.workers = workers
    config.use_reloader = reload
    return hypercorn.run.run(config)


def _sole_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The only leaf of nested single-member groups, or the group itself."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error
