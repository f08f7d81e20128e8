"""The argument parser of the ``wsactors`` command: options, their types and --help."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import version

from ..serving.settings import LOG_LEVELS

__all__ = ["build_parser"]

Handler = Callable[[argparse.Namespace], int]

RUN_EPILOG = """\
All settings but --log-level default to the engine's own (docs/engines.md lists
the native engine's). --max-message-size is
the server's limit; the App's max_message_size= limit (wsactors' own) applies
too. With --workers above 1 or --reload, hypercorn's process supervisor runs
the workers: each imports MODULE:APP itself, and on SIGTERM they stop as under
`hypercorn -k trio` (no 1001 drain first; connections still open after
--graceful-timeout are cancelled and closed with 1001).
"""


def _port(text: str) -> int:
    """Parse a TCP port number for argparse."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 0-65535")
    return port


def _positive(kind: Callable[[str], float], least: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{text} is less than {least:g}")
        return value

    return parse


def _count(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        return int(_positive(int, least, "a whole number")(text))

    return parse


_seconds = _positive(float, 0, "a number of seconds")
_positive_seconds = _positive(float, 0.001, "a number of seconds")


def _add_common_options(parser: argparse.ArgumentParser) -> None:
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
        help="least severe level logged, wsactors' INFO lines included (default: %(default)s)",
    )


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("hypercorn", "native"),
        default="hypercorn",
        help="hypercorn's Trio worker, or wsactors' own server (docs/engines.md)"
        " (default: %(default)s)",
    )


def _add_server_settings(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("server settings (mapped onto the chosen engine)")
    add = group.add_argument
    add(
        "--max-message-size",
        type=_count(1),
        metavar="BYTES",
        help="close 1009 on a larger incoming message (hypercorn's default: 16 MiB; native: 1 MiB)",
    )
    add(
        "--ping-interval",
        type=_positive_seconds,
        metavar="SECONDS",
        help="send a ping this often, e.g. to keep proxies from closing idle connections"
        " (default: no pings)",
    )
    add(
        "--ping-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="close 1011 a client whose pong is this late (native: default 20); NOT"
        " AVAILABLE on hypercorn, which never checks pongs (refused: use --read-timeout"
        " longer than --ping-interval)",
    )
    add(
        "--graceful-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="on stop, how long connections still open get before they are cancelled (default: 3)",
    )
    add(
        "--read-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="drop a client that sends nothing (no frame, no pong) for this long"
        " (hypercorn only; default: never)",
    )
    add(
        "--workers",
        type=_count(1),
        default=1,
        metavar="N",
        help="worker processes, each with its own copy of the App (default: %(default)s)",
    )
    add("--certfile", metavar="PEM", help="TLS certificate chain: serve wss:// (with --keyfile)")
    add("--keyfile", metavar="PEM", help="private key of --certfile")
    add(
        "--access-log",
        action="store_true",
        help="log one line per request (each WebSocket handshake), at INFO",
    )
    add(
        "--reload",
        action="store_true",
        help="restart when a loaded source file changes (development only)",
    )
    add(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics on this port of --host (a wsactors App; needs"
        " wsactors[metrics]); with --workers N, the workers take PORT to PORT+N-1",
    )


def build_parser(*, run: Handler, demo: Handler) -> argparse.ArgumentParser:
    """The argument parser of the ``wsactors`` command.

    Args:
        run: Called with the parsed arguments of ``wsactors run``.
        demo: Called with those of ``wsactors demo``.

    Returns:
        The parser; ``args.handler(args)`` runs the chosen command.
    """
    parser = argparse.ArgumentParser(
        prog="wsactors",
        description="Serve wsactors apps on hypercorn's Trio worker.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('wsactors')}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    run_parser = commands.add_parser(
        "run",
        help="serve an app: wsactors run module:app",
        description="Import an ASGI app and serve it until Ctrl+C or SIGTERM.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_parser.add_argument(
        "app",
        metavar="MODULE:APP",
        help='import string, e.g. "myproject.main:app"; "myproject.main" means myproject.main:app',
    )
    _add_common_options(run_parser)
    _add_engine(run_parser)
    _add_server_settings(run_parser)
    run_parser.set_defaults(handler=run)

    demo_parser = commands.add_parser(
        "demo",
        help="serve the bundled demo",
        description="Serve the bundled demo page and its WebSocket handlers.",
    )
    _add_common_options(demo_parser)
    _add_engine(demo_parser)
    demo_parser.add_argument(
        "--redis",
        metavar="URL",
        help="share the chat rooms through Redis (e.g. redis://127.0.0.1:6379); "
        "needs the wsactors[redis] extra",
    )
    demo_parser.set_defaults(handler=demo)

    from .asyncapi import add_command as add_asyncapi_command

    add_asyncapi_command(commands)
    return parser
