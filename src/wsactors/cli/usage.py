"""Usage errors of the ``wsactors`` commands: the subcommand's usage, then one line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["EXIT_USAGE", "usage_error"]

#: The exit code of a usage error, as argparse's own.
EXIT_USAGE = 2


def usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    """Print ``parser``'s usage and ``PROG: error: MESSAGE`` to stderr, as argparse does.

    Args:
        parser: The subcommand's parser (``wsactors run``'s for a refused setting).
        message: One line: what is wrong and, where there is one, what to do instead.

    Returns:
        :data:`EXIT_USAGE`.
    """
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
