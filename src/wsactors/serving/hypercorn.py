"""Run an ASGI app on hypercorn's Trio worker.

Three layers, each built on the one below:

- :func:`hypercorn_config` turns ``host``, ``port`` and keyword options into a
  :class:`hypercorn.config.Config`, rejecting option names hypercorn does not know.
- :func:`serve_async` serves an app with a ready Config until a shutdown trigger
  returns; :class:`wsactors.testing.LiveServer` starts it with ``nursery.start``.
- :func:`serve_hypercorn` is the blocking entry point that :func:`wsactors.serve`
  calls: it stops on SIGINT or SIGTERM.

``wsactors run`` maps its engine-neutral settings onto hypercorn's Config with
:func:`hypercorn_options`, and serves several worker processes (or reloads on code
changes) with :func:`serve_processes`, hypercorn's own process supervisor.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, cast

import hypercorn.run
import hypercorn.trio
import trio
from hypercorn.config import Config
from hypercorn.typing import Framework

from ..types import ASGIApp
from .settings import HYPERCORN, ServerSettings, logging_config
from .signals import OnServing, run_until_signal

__all__ = [
    "hypercorn_config",
    "hypercorn_options",
    "serve_async",
    "serve_hypercorn",
    "serve_processes",
]

logger = logging.getLogger("wsactors.serving")


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
                "serve() on hypercorn runs one worker; for several use `wsactors run"
                " --workers N`, `hypercorn -k trio -w N` or serve(..., engine='native',"
                " workers=N)"
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


def hypercorn_options(settings: ServerSettings) -> dict[str, Any]:
    """hypercorn Config options for the settings of ``wsactors run``, logging included.

    Args:
        settings: The engine-neutral settings. ``workers`` and ``reload`` are not
            among the result: :func:`serve_processes` takes them.

    Returns:
        Keyword options for :func:`hypercorn_config`.

    Raises:
        UnsupportedSettingError: a setting hypercorn cannot honour (``ping_timeout``,
            ``max_connections``, ``open_timeout``, ``close_timeout``,
            ``max_request_size``, ``compression="none"``).

    The certificate and key are hypercorn's to load when it starts;
    :func:`~wsactors.serving.settings.tls_context` checks them first, by name.
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


def serve_hypercorn(
    app: ASGIApp, host: str, port: int, *, on_serving: OnServing | None = None, **options: Any
) -> None:
    """Serve ``app`` on hypercorn's Trio worker until SIGINT or SIGTERM; blocks.

    ``on_serving`` is called with the bound URLs once the server listens.

    Raises:
        TypeError: unknown option (see :func:`hypercorn_config`).
        OSError: the address could not be bound.
    """
    config = hypercorn_config(host, port, **options)
    run_until_signal(serve_async, app, config, logger=logger, on_serving=on_serving)
