"""``wsactors asyncapi module:app``: print or write an App's AsyncAPI document.

The ``wsactors`` command registers it through :func:`add_command`. Exit codes as for
the other commands: 0 when the document was written, 2 for a usage error (an import
string that names no wsactors App, a bad ``--server``), 1 when the document could not
be made or written.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..asyncapi.render import render
from ..exceptions import ImproperlyConfiguredError
from .apps import AppImportError, import_app
from .usage import usage_error

__all__ = ["add_command"]

EXIT_OK, EXIT_FAILURE = 0, 1


def _server(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not name or not url:
        raise argparse.ArgumentTypeError(
            f"expected NAME=URL, e.g. local=ws://127.0.0.1:8000, not {text!r}"
        )
    return name, url


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    from ..app import App

    # As for `wsactors run`: `module:app` is looked up from the working directory.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    parser = args.command_parser
    try:
        app: Any = import_app(args.app)
    except AppImportError as exc:
        return usage_error(parser, str(exc))
    if not isinstance(app, App):
        return usage_error(parser, f"{args.app!r} is not a wsactors App")
    try:
        document = app.asyncapi(
            title=args.title or args.app,
            version=args.api_version,
            description=args.description,
            servers=dict(args.server) or None,
        )
        text = render(document, args.format)
    except ImproperlyConfiguredError as exc:
        return usage_error(parser, str(exc))
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        print(f"wsactors asyncapi: error: cannot write {args.output}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def add_command(commands: Any) -> None:
    """Add the ``asyncapi`` subcommand to the ``wsactors`` parser's subparsers."""
    command = commands.add_parser(
        "asyncapi",
        help="print an app's AsyncAPI 3.0 document: wsactors asyncapi module:app",
        description="Import a wsactors App and print (or write) its AsyncAPI 3.0 document.",
    )
    command.add_argument(
        "app", metavar="MODULE:APP", help='import string, e.g. "myproject.main:app"'
    )
    command.add_argument(
        "--format", choices=("json", "yaml"), default="json", help="output format (default: json)"
    )
    command.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    command.add_argument("--title", help="info.title (default: the import string)")
    command.add_argument(
        "--api-version", default="1.0.0", help="info.version of the API (default: %(default)s)"
    )
    command.add_argument("--description", help="info.description")
    command.add_argument(
        "--server",
        type=_server,
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a server, e.g. production=wss://example.com (repeatable)",
    )
    command.set_defaults(handler=_cmd_asyncapi, command_parser=command)
