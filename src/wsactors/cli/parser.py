"""The argument parser of the ``wsactors`` command: options, their types and --help."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from ..serving.settings import LOG_LEVELS, default_help

__all__ = ["build_parser"]

Handler = Callable[[argparse.Namespace], int]

RUN_EPILOG = """\
A server setting left out keeps the chosen engine's own default, shown above for
each engine; a setting marked "hypercorn only" or "native only" is refused by the
other engine, with the reason (docs/serving.md, docs/engines.md).
--max-message-size is the server's limit; the App's max_message_size= limit
(wsactors' own) applies too. On hypercorn, --workers above 1 or --reload hand over
to hypercorn's process supervisor: each worker imports MODULE:APP itself, and on
SIGTERM they stop as under `hypercorn -k trio` (no 1001 drain first; connections
still open after --graceful-timeout are cancelled and closed with 1001). On the
native engine, --workers N forks N processes sharing the port, each draining on
SIGTERM; a worker that dies is restarted after a backoff (five rapid failures in a
row stop the server), and the workers drain and exit if this process dies, kill -9
included (docs/serving.md, "The native engine's workers").
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
    group = parser.add_argument_group(
        "server settings (mapped onto the chosen engine; each engine's default shown)"
    )

    def add(*names: str, setting: str, help: str, **kwargs: Any) -> None:
        group.add_argument(*names, help=f"{help} ({default_help(setting)})", **kwargs)

    add(
        "--max-message-size",
        setting="max_message_size",
        type=_count(1),
        metavar="BYTES",
        help="close 1009 on a larger incoming message",
    )
    add(
        "--ping-interval",
        setting="ping_interval",
        type=_positive_seconds,
        metavar="SECONDS",
        help="send a ping this often, e.g. to keep proxies from closing idle connections",
    )
    add(
        "--ping-timeout",
        setting="ping_timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="close 1011 a client whose pong is this late; on hypercorn, which never"
        " checks pongs, give --read-timeout a little longer than --ping-interval",
    )
    add(
        "--graceful-timeout",
        setting="graceful_timeout",
        type=_seconds,
        metavar="SECONDS",
        help="on stop, how long connections still open get before they are cancelled",
    )
    add(
        "--read-timeout",
        setting="read_timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="drop a client that sends nothing (no frame, no pong) for this long",
    )
    add(
        "--compression",
        setting="compression",
        choices=("deflate", "none"),
        help="permessage-deflate for the clients that offer it (browsers do), or none;"
        " hypercorn cannot turn it off",
    )
    add(
        "--max-connections",
        setting="max_connections",
        type=_count(1),
        metavar="N",
        help="WebSocket connections at once per process; handshakes beyond get 503",
    )
    add(
        "--open-timeout",
        setting="open_timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="the TLS handshake and the HTTP request must arrive within this",
    )
    add(
        "--close-timeout",
        setting="close_timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="abort a connection whose closing handshake takes longer",
    )
    add(
        "--max-request-size",
        setting="max_request_size",
        type=_count(1),
        metavar="BYTES",
        help="answer 431 (414: the request line) to a request line and headers larger than this",
    )
    add(
        "--max-buffered-bytes",
        setting="max_buffered_bytes",
        type=_count(1),
        metavar="BYTES",
        help="bytes all connections may hold in unfinished messages; past it those"
        " connections are not read, and closed 1013 after 10 s",
    )
    group.add_argument(
        "--workers",
        type=_count(1),
        default=1,
        metavar="N",
        help="worker processes, each with its own copy of the App (default: 1)",
    )
    group.add_argument(
        "--certfile",
        metavar="PEM",
        help="TLS certificate chain: serve wss:// (with --keyfile) (default: none, ws://)",
    )
    group.add_argument("--keyfile", metavar="PEM", help="private key of --certfile (default: none)")
    add(
        "--access-log",
        setting="access_log",
        action="store_true",
        help="log one line per request (each WebSocket handshake), at INFO",
    )
    add(
        "--reload",
        setting="reload",
        action="store_true",
        help="restart when a loaded source file changes, for development",
    )
    group.add_argument(
        "--metrics-port",
        type=_port,
        metavar="PORT",
        help="serve Prometheus metrics on this port of --host (a wsactors App; needs"
        " wsactors[metrics]); with --workers N, the workers take PORT to PORT+N-1"
        " (default: off, on both engines)",
    )


def build_parser(*, run: Handler, demo: Handler) -> argparse.ArgumentParser:
    """The argument parser of the ``wsactors`` command.

    Args:
        run: Called with the parsed arguments of ``wsactors run``.
        demo: Called with those of ``wsactors demo``.

    Returns:
        The parser; ``args.handler(args)`` runs the chosen command, and
        ``args.command_parser`` is its parser (for its usage errors).
    """
    parser = argparse.ArgumentParser(
        prog="wsactors",
        description="Serve wsactors apps on hypercorn's Trio worker or on wsactors'"
        " own (native) engine.",
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
    run_parser.add_argument(
        "--factory",
        action="store_true",
        help="MODULE:APP is a function that takes no arguments and returns the app;"
        " it is called once in each process that serves",
    )
    _add_common_options(run_parser)
    _add_engine(run_parser)
    _add_server_settings(run_parser)
    run_parser.set_defaults(handler=run, command_parser=run_parser)

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
    demo_parser.set_defaults(handler=demo, command_parser=demo_parser)

    from .asyncapi import add_command as add_asyncapi_command

    add_asyncapi_command(commands)
    return parser
