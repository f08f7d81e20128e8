"""Serving until SIGINT or SIGTERM: the one helper both engines' blocking entry points use.

Each engine has an async ``serve`` that stops when its ``shutdown_trigger`` returns
(hypercorn's :func:`~wsactors.serving.hypercorn.serve_async`, the native engine's
:func:`~wsactors.serving.native.serve_native_async`); here the trigger is a signal.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio

from ..groups import sole_leaf

__all__ = ["OnServing", "run_until_signal", "serve_until_signal"]

#: An engine's async serve: ``await serve(*args, shutdown_trigger=..., **kwargs)``; it
#: takes ``task_status`` too, and reports its bound URLs through it once listening.
Serve = Callable[..., Awaitable[None]]

#: Called with the bound URLs (``["http://127.0.0.1:8000"]``) once the server listens.
OnServing = Callable[[list[str]], None]


async def serve_until_signal(
    serve: Serve,
    *args: Any,
    logger: logging.Logger,
    on_serving: OnServing | None = None,
    **kwargs: Any,
) -> None:
    """``await serve(*args, shutdown_trigger=..., **kwargs)`` with SIGINT and SIGTERM as
    the trigger; the signal is logged at info on ``logger``.

    The signal receiver is installed before ``serve`` starts, so a signal that arrives
    during startup is kept and stops the server as soon as it is up. ``on_serving``,
    if given, is called with the bound URLs once the server listens (never if it
    fails to start).

    Cancellation:
        Stops at once, as ``serve`` does when cancelled.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def wait_for_signal() -> None:
            async for signum in signals:
                logger.info("received %s", signal.Signals(signum).name)
                return

        if on_serving is None:
            await serve(*args, shutdown_trigger=wait_for_signal, **kwargs)
            return
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(
                partial(serve, *args, shutdown_trigger=wait_for_signal, **kwargs)
            )
            on_serving(list(binds))


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
