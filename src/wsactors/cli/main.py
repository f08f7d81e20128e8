"""The ``wsactors`` command line: ``wsactors run module:app``, ``wsactors demo`` and
``wsactors asyncapi module:app`` (in :mod:`wsactors.cli.asyncapi`).

Both serve through :func:`wsactors.serve` and stop cleanly on Ctrl+C (SIGINT) or
SIGTERM; ``run --workers N`` (N > 1) and ``run --reload`` on hypercorn go through
hypercorn's process supervisor instead (:func:`wsactors.serving.hypercorn.serve_processes`).
The options live in :mod:`.parser`, their mapping onto the engines in
:mod:`wsactors.serving.settings` and :mod:`wsactors.serving.hypercorn`.

Exit codes: 0 after a clean stop (with the native engine's ``--workers N``: once
every worker drained), 1 when serving failed (e.g. the port is taken; a native
worker failed to start, or failed rapidly five times in a row),
2 for a usage error (a bad option, a setting the engine cannot honour, a missing
file, an import string that names no app), 130 when interrupted before serving
started. A usage error prints the subcommand's usage, then one line saying what is
wrong.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..serving.settings import ServerSettings, SettingError, logging_config, tls_context
from ..types import ASGIApp
from .apps import AppImportError, import_app, split_import_string
from .parser import build_parser
from .usage import EXIT_USAGE, usage_error

__all__ = ["main"]

logger = logging.getLogger("wsactors.cli")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _configure_logging(settings: ServerSettings) -> None:
    """Send log records of the chosen level and above to stderr in one format."""
    logging.config.dictConfig(logging_config(settings.log_level, access_log=settings.access_log))


def _browser_url(host: str, port: int) -> str:
    """The URL to open for a server bound to ``host:port``."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _serve(
    app: ASGIApp,
    host: str,
    port: int,
    options: dict[str, Any],
    on_serving: Callable[[list[str]], None] | None = None,
) -> int:
    """Serve in this process until SIGINT or SIGTERM; return the exit code."""
    from ..serving.serve import run_engine

    options = dict(options)
    engine = options.pop("engine", "hypercorn")
    try:
        run_engine(app, host, port, engine=engine, options=options, on_serving=on_serving)
    except KeyboardInterrupt:
        # Ctrl+C before the signal handler was in place (e.g. during startup).
        logger.warning("interrupted")
        return EXIT_INTERRUPTED
    except OSError as exc:
        # serve() unwraps hypercorn's exception groups around a single error.
        logger.error("could not serve on %s:%d: %s", host, port, exc)
        return EXIT_FAILURE
    except RuntimeError as exc:  # the native engine's WorkersFailedError
        logger.error("serving on %s:%d failed: %s", host, port, exc)
        return EXIT_FAILURE
    return EXIT_OK


def _serve_processes(
    application_path: str, host: str, port: int, options: dict[str, Any], settings: ServerSettings
) -> int:
    """Serve with hypercorn's process supervisor (``--workers``, ``--reload``).

    ``application_path`` is ``module:attribute``, with ``()`` after it for a factory:
    hypercorn's loader evaluates it in each worker.
    """
    from ..serving.hypercorn import hypercorn_config, serve_processes

    try:
        code = serve_processes(
            application_path,
            hypercorn_config(host, port, **options),
            workers=settings.workers,
            reload=settings.reload,
        )
    except OSError as exc:
        logger.error("could not serve on %s:%d: %s", host, port, exc)
        return EXIT_FAILURE
    return EXIT_OK if code == 0 else EXIT_FAILURE


def _settings(args: argparse.Namespace) -> ServerSettings:
    """The ServerSettings of the parsed options (ValueError for a bad combination)."""
    return ServerSettings(
        max_message_size=args.max_message_size,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        graceful_timeout=args.graceful_timeout,
        read_timeout=args.read_timeout,
        workers=args.workers,
        certfile=args.certfile,
        keyfile=args.keyfile,
        compression=args.compression,
        max_connections=args.max_connections,
        open_timeout=args.open_timeout,
        close_timeout=args.close_timeout,
        max_request_size=args.max_request_size,
        max_buffered_bytes=args.max_buffered_bytes,
        log_level=args.log_level,
        access_log=args.access_log,
        reload=args.reload,
    )


def _engine_options(engine: str, settings: ServerSettings) -> dict[str, Any]:
    """The options of ``serve()`` for ``engine`` (SettingError).

    The certificate and key are loaded here for both engines, so that a missing or
    unusable file is one usage error naming it, whichever engine serves.
    """
    from ..serving.hypercorn import hypercorn_options
    from ..serving.native import native_options

    if engine == "native":
        return {"engine": "native", **native_options(settings)}
    if settings.certfile is not None and settings.keyfile is not None:
        tls_context(settings.certfile, settings.keyfile)  # hypercorn loads them again
    return hypercorn_options(settings)


def _option(setting: str) -> str:
    return f"--{setting.replace('_', '-')}"


def _cmd_run(args: argparse.Namespace) -> int:
    """``wsactors run``: import the app and serve it."""
    parser = args.command_parser
    try:
        settings = _settings(args)
        options = _engine_options(args.engine, settings)
    except SettingError as exc:  # a refused setting, a missing or unusable file
        return usage_error(parser, f"{_option(exc.setting)}: {exc.reason}")
    except ValueError as exc:
        return usage_error(
            parser, str(exc).replace("certfile and keyfile", "--certfile and --keyfile")
        )
    # The console script's sys.path starts with its own bin/ directory, not the
    # working directory; `python -m` has it already. Either way, `module:app`
    # should find a module in the directory the command was started from.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        # Imported here even when worker processes import it again: a typo is then
        # one line here instead of a traceback from every worker.
        app = import_app(args.app, factory=args.factory)
        module_name, attribute = split_import_string(args.app)
    except AppImportError as exc:
        return usage_error(parser, str(exc))
    if args.engine == "native":
        from ..serving.native import require_app

        try:
            require_app(app)
        except TypeError:
            return usage_error(
                parser,
                f"--engine native serves a wsactors App, and {args.app} is a"
                f" {type(app).__name__}: use --engine hypercorn for other ASGI apps",
            )
    processes = args.engine == "hypercorn" and (settings.workers > 1 or settings.reload)
    if args.metrics_port is not None:
        refused = _serve_metrics(app, args, settings.workers, processes)
        if refused is not None:
            return usage_error(parser, f"--metrics-port: {refused}")
    # Only once there is something to serve: every refusal above is one line on
    # stderr, and a refused command leaves the process's logging as it was.
    _configure_logging(settings)
    if processes and args.metrics_port is not None:
        # The workers bind before hypercorn configures their logging: said here.
        last = args.metrics_port + settings.workers - 1
        logger.info("metrics served by the workers on ports %d-%d", args.metrics_port, last)
    if processes:
        # Each worker imports the app itself; hypercorn's loader calls `name()`.
        call = "()" if args.factory else ""
        return _serve_processes(
            f"{module_name}:{attribute}{call}", args.host, args.port, options, settings
        )
    return _serve(app, args.host, args.port, options)


def _print_address(binds: list[str]) -> None:
    """Say where to open the demo, once it listens (``wsactors demo``)."""
    for bind in binds[:1]:
        url = urlsplit(bind)
        host, port = url.hostname or "", url.port or 0
        print(f"wsactors demo: open {_browser_url(host, port)}", flush=True)


def _serve_metrics(
    app: ASGIApp, args: argparse.Namespace, workers: int, processes: bool
) -> str | None:
    """Serve ``app``'s metrics on ``--metrics-port``; the reason why not, if refused.

    hypercorn's worker processes import the App anew: they read the listener from
    the environment they inherit (``wsactors.metrics.http.LISTEN_ENV``); forked
    native workers inherit the App itself.
    """
    from ..app import App
    from ..exceptions import ImproperlyConfiguredError
    from ..metrics.http import LISTEN_ENV

    if not isinstance(app, App):
        return f"{args.app} is not a wsactors App"
    if processes and args.metrics_port == 0:
        return "give a port: hypercorn's worker processes take PORT to PORT+N-1"
    try:
        app.serve_metrics_on(args.metrics_port, args.host, tries=workers)
    except ImproperlyConfiguredError as exc:
        return str(exc)
    if processes:
        os.environ[LISTEN_ENV] = f"{args.host}:{args.metrics_port}:{workers}"
    return None


def _cmd_demo(args: argparse.Namespace) -> int:
    """``wsactors demo``: serve the bundled demo and say where to open it."""
    settings = ServerSettings(log_level=args.log_level)
    options = _engine_options(args.engine, settings)
    _configure_logging(settings)
    if args.redis:
        # Rooms shared with every demo process on this Redis (wsactors[redis]).
        from ..demo.app import create_app

        app = create_app(redis_url=args.redis)
    else:
        from ..demo.app import app

    return _serve(app, args.host, args.port, options, on_serving=_print_address)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``wsactors`` command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` if ``None``.

    Returns:
        The exit code: 0 after a clean stop (and for ``--help`` / ``--version``),
        1 if serving failed, 2 for a usage error, 130 if interrupted early.
    """
    parser = build_parser(run=_cmd_run, demo=_cmd_demo)
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit as exc:
        # argparse has printed the help, the version or the usage error already;
        # return its code instead of exiting, so that callers (and tests) get an int.
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if unknown:
        # argparse would report them with the top-level usage; the subcommand's
        # usage is the one that lists what it takes.
        return usage_error(args.command_parser, f"unrecognized arguments: {' '.join(unknown)}")
    return int(args.handler(args))
