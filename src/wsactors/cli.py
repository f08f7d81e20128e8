"""The ``wsactors`` command line: ``wsactors run module:app`` and ``wsactors demo``.

Both serve on hypercorn's Trio worker through :func:`wsactors.serving.serve` and
stop cleanly on Ctrl+C (SIGINT) or SIGTERM. Exit codes: 0 after a clean stop, 1
when serving failed (e.g. the port is taken), 2 for a usage error (a bad option or
an import string that names no app), 130 when interrupted before serving started.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, cast

from . import __version__
from .serving import ASGIApp

__all__ = ["AppImportError", "import_app", "main"]

logger = logging.getLogger("wsactors.cli")

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class AppImportError(Exception):
    """An import string that does not lead to an ASGI app; the message says why."""


def import_app(import_string: str) -> ASGIApp:
    """Import the app that ``"package.module:attribute"`` names.

    The attribute may be dotted (``"project.main:api.app"``). It is not called:
    pass the app itself, not a factory.

    Args:
        import_string: ``module:attribute``.

    Returns:
        The object found, which is callable.

    Raises:
        AppImportError: the string is malformed, the module does not exist, the
            attribute is missing, or it is not callable.
        Exception: whatever importing the module raises for another reason (a
            module that exists but fails, e.g. on an import of its own, keeps its
            traceback: that is the useful part).
    """
    module_name, sep, attribute = import_string.partition(":")
    if not sep or not module_name or not attribute:
        raise AppImportError(
            f'{import_string!r} is not an import string: use "module:attribute", '
            f'e.g. "myproject.main:app"'
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the named module (or a parent package) missing is the user's typo;
        # a missing dependency inside an existing module is that module's error.
        missing = exc.name or ""
        if missing != module_name and not module_name.startswith(f"{missing}."):
            raise
        raise AppImportError(f"could not import module {module_name!r}: {exc}") from None
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise AppImportError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(found):
        raise AppImportError(
            f"{import_string!r} is a {type(found).__name__}, not an ASGI application"
        )
    return cast(ASGIApp, found)


def _configure_logging(level: str) -> None:
    """Send log records of ``level`` and above to stderr in one readable format."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)


def _browser_url(host: str, port: int) -> str:
    """The URL to open for a server bound to ``host:port``."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _serve(app: ASGIApp, host: str, port: int) -> int:
    """Serve until SIGINT or SIGTERM; return the exit code."""
    from .serving import serve

    try:
        # Given a logger (instead of its default "-"), hypercorn adds no stderr handler
        # of its own: its records reach the root handler once, in our format. The
        # access log stays off, as in hypercorn (0.18 logs most requests twice).
        serve(app, host, port, errorlog=logging.getLogger("hypercorn.error"))
    except KeyboardInterrupt:
        # Ctrl+C before the signal handler was in place (e.g. during startup).
        logger.warning("interrupted")
        return EXIT_INTERRUPTED
    except OSError as exc:
        # serve() unwraps hypercorn's exception groups around a single error.
        logger.error("could not serve on %s:%d: %s", host, port, exc)
        return EXIT_FAILURE
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    """``wsactors run``: import the app and serve it."""
    _configure_logging(args.log_level)
    # The console script's sys.path starts with its own bin/ directory, not the
    # working directory; `python -m` has it already. Either way, `module:app`
    # should find a module in the directory the command was started from.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        app = import_app(args.app)
    except AppImportError as exc:
        print(f"wsactors run: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _serve(app, args.host, args.port)


def _cmd_demo(args: argparse.Namespace) -> int:
    """``wsactors demo``: serve the bundled demo and say where to open it."""
    _configure_logging(args.log_level)
    if args.redis:
        # Rooms shared with every demo process on this Redis (wsactors[redis]).
        from .demo.app import create_app

        app = create_app(redis_url=args.redis)
    else:
        from .demo.app import app

    if args.port == 0:
        print("wsactors demo: the port is in the 'serving on' log line below", flush=True)
    else:
        print(f"wsactors demo: open {_browser_url(args.host, args.port)}", flush=True)
    return _serve(app, args.host, args.port)


def _port(text: str) -> int:
    """Parse a TCP port number for argparse."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 0-65535")
    return port


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=_port, default=8000, help="TCP port, 0 for any (default: %(default)s)"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        type=str.lower,
        choices=LOG_LEVELS,
        help="least severe level logged (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``wsactors`` command."""
    parser = argparse.ArgumentParser(
        prog="wsactors",
        description="Serve wsactors apps on hypercorn's Trio worker.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="serve an app: wsactors run module:app",
        description="Import an ASGI app and serve it until Ctrl+C or SIGTERM.",
    )
    run.add_argument("app", metavar="MODULE:APP", help='import string, e.g. "myproject.main:app"')
    _add_server_options(run)
    run.set_defaults(handler=_cmd_run)

    demo = commands.add_parser(
        "demo",
        help="serve the bundled echo demo",
        description="Serve the bundled demo page and its /ws/echo handler.",
    )
    _add_server_options(demo)
    demo.add_argument(
        "--redis",
        metavar="URL",
        help="share the chat rooms through Redis (e.g. redis://127.0.0.1:6379); "
        "needs the wsactors[redis] extra",
    )
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``wsactors`` command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` if ``None``.

    Returns:
        The exit code: 0 after a clean stop (and for ``--help`` / ``--version``),
        1 if serving failed, 2 for a usage error, 130 if interrupted early.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse has printed the help, the version or the usage error already;
        # return its code instead of exiting, so that callers (and tests) get an int.
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    return int(args.handler(args))
