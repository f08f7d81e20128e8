"""Serving until SIGINT or SIGTERM: the one helper both engines' blocking entry points use.

Each engine has an async ``serve`` that stops when its ``shutdown_trigger`` returns
(hypercorn's :func:`~wsactors.serving.hypercorn.serve_async`, the native engine's
:func:`~wsactors.serving.native.serve_native_async`); here the trigger is a signal.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..groups import sole_leaf

__all__ = ["run_until_signal", "serve_until_signal"]

#: An engine's async serve: ``await serve(*args, shutdown_trigger=..., **kwargs)``.
Serve = Callable[..., Awaitable[None]]


async def serve_until_signal(
    serve: Serve, *args: Any, logger: logging.Logger, **kwargs: Any
) -> None:
    """``await serve(*args, shutdown_trigger=..., **kwargs)`` with SIGINT and SIGTERM as
    the trigger; the signal is logged at info on ``logger``.

    The signal receiver is installed before ``serve`` starts, so a signal that arrives
    during startup is kept and stops the server as soon as it is up.

    Cancellation:
        Stops at once, as ``serve`` does when cancelled.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def wait_for_signal() -> None:
            async for signum in signals:
                logger.info("received %s", signal.Signals(signum).name)
                return

        await serve(*args, shutdown_trigger=wait_for_signal, **kwargs)


def run_until_signal(serve: Serve, *args: Any, logger: logging.Logger, **kwargs: Any) -> None:
    """Run :func:`serve_until_signal` in a new Trio run; blocks.

    The caller asked for a plain function call: an error that the servers' nurseries
    wrapped in exception groups (hypercorn wraps a bind failure twice) is raised as
    itself when it is the only one.
    """
    try:
        trio.run(lambda: serve_until_signal(serve, *args, logger=logger, **kwargs))
    except BaseExceptionGroup as group:
        raise (sole_leaf(group) or group) from None
