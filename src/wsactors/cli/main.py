"""The ``wsactors`` command line: ``wsactors run module:app``, ``wsactors demo`` and
``wsactors asyncapi module:app`` (in :mod:`wsactors.cli.asyncapi`).

Both serve through :func:`wsactors.serve` and stop cleanly on Ctrl+C (SIGINT) or
SIGTERM; ``run --workers N`` (N > 1) and ``run --reload`` on hypercorn go through
hypercorn's process supervisor instead (:func:`wsactors.serving.hypercorn.serve_processes`).
The options live in :mod:`.parser`, their mapping onto the engines in
:mod:`wsactors.serving.settings` and :mod:`wsactors.serving.hypercorn`.

Exit codes: 0 after a clean stop, 1 when serving failed (e.g. the port is taken),
2 for a usage error (a bad option or an import string that names no app), 130 when
interrupted before serving started.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..serving.settings import ServerSettings, UnsupportedSettingError, logging_config
from ..types import ASGIApp
from .apps import AppImportError, import_app, split_import_string
from .parser import build_parser

__all__ = ["main"]

logger = logging.getLogger("wsactors.cli")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
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


def _serve(app: ASGIApp, host: str, port: int, options: dict[str, Any]) -> int:
    """Serve in this process until SIGINT or SIGTERM; return the exit code."""
    from ..serving.serve import serve

    try:
        serve(app, host, port, **options)
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
    """Serve with hypercorn's process supervisor (``--workers``, ``--reload``)."""
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


def _usage_error(command: str, message: str) -> int:
    print(f"wsactors {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


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
        log_level=args.log_level,
        access_log=args.access_log,
        reload=args.reload,
    )


def _engine_options(engine: str, settings: ServerSettings) -> dict[str, Any]:
    """The options of ``serve()`` for ``engine`` (UnsupportedSettingError, OSError)."""
    from ..serving.hypercorn import hypercorn_options
    from ..serving.native import native_options

    if engine == "native":
        return {"engine": "native", **native_options(settings)}
    return hypercorn_options(settings)


def _cmd_run(args: argparse.Namespace) -> int:
    """``wsactors run``: import the app and serve it."""
    try:
        settings = _settings(args)
        options = _engine_options(args.engine, settings)
    except UnsupportedSettingError as exc:
        return _usage_error("run", f"--{exc.setting.replace('_', '-')}: {exc.reason}")
    except ValueError as exc:
        return _usage_error(
            "run", str(exc).replace("certfile and keyfile", "--certfile and --keyfile")
        )
    except OSError as exc:
        return _usage_error("run", f"--certfile/--keyfile: {exc}")
    # The console script's sys.path starts with its own bin/ directory, not the
    # working directory; `python -m` has it already. Either way, `module:app`
    # should find a module in the directory the command was started from.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        # Imported here even when worker processes import it again: a typo is then
        # one line here instead of a traceback from every worker.
        app = import_app(args.app)
        module_name, attribute = split_import_string(args.app)
    except AppImportError as exc:
        return _usage_error("run", str(exc))
    processes = args.engine == "hypercorn" and (settings.workers > 1 or settings.reload)
    if args.metrics_port is not None:
        refused = _serve_metrics(app, args, settings.workers, processes)
        if refused is not None:
            return _usage_error("run", f"--metrics-port: {refused}")
    # Only once there is something to serve: every refusal above is one line on
    # stderr, and a refused command leaves the process's logging as it was.
    _configure_logging(settings)
    if processes and args.metrics_port is not None:
        # The workers bind before hypercorn configures their logging: said here.
        last = args.metrics_port + settings.workers - 1
        logger.info("metrics served by the workers on ports %d-%d", args.metrics_port, last)
    if processes:
        return _serve_processes(
            f"{module_name}:{attribute}", args.host, args.port, options, settings
        )
    return _serve(app, args.host, args.port, options)


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

    if args.port == 0:
        print("wsactors demo: the port is in the 'serving on' log line below", flush=True)
    else:
        print(f"wsactors demo: open {_browser_url(args.host, args.port)}", flush=True)
    return _serve(app, args.host, args.port, options)


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
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has printed the help, the version or the usage error already;
        # return its code instead of exiting, so that callers (and tests) get an int.
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    return int(args.handler(args))
