"""The App's ASGI lifespan: Channels, startup/shutdown hooks, ``lifespan=`` contexts.

Startup enters the Channels, runs the startup hooks, then enters the lifespan
contexts in order; shutdown drains the connections, runs the shutdown hooks, then
leaves the contexts in reverse order and the Channels last.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..channels import Channels
    from ..types import ASGIReceive, ASGISend

__all__ = ["Hook", "LifespanContext", "LifespanOwner", "run_lifespan"]

# The App's logger: these records predate this module.
logger = logging.getLogger("wsactors.app")

Hook = Callable[..., Any]
#: ``lifespan=`` items: called with the App, entered at startup, left at shutdown.
LifespanContext = Callable[[Any], AbstractAsyncContextManager[Any]]


class LifespanOwner(Protocol):
    """What the lifespan reads of an App (``wsactors.App`` is one)."""

    channels: Channels | None
    on_startup: list[Hook]
    on_shutdown: list[Hook]
    lifespan: list[LifespanContext]

    def reopen(self) -> None:
        """Accept handshakes again: a new serving run after an earlier drain."""
        ...

    async def drain(self) -> bool:
        """Close every live connection with 1001 and wait for them (bounded)."""
        ...


async def _call_hook(hook: Hook, app: LifespanOwner) -> None:
    result = hook(app) if inspect.signature(hook).parameters else hook()
    if inspect.isawaitable(result):
        await result


async def run_lifespan(app: LifespanOwner, receive: ASGIReceive, send: ASGISend) -> None:
    """Answer one ASGI ``lifespan`` scope for ``app``, startup to shutdown."""
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    # A new serving run: an App drained by an earlier run (a test's LiveServer,
    # a restart in the same process) accepts connections again.
    app.reopen()
    async with AsyncExitStack() as contexts:
        try:
            if app.channels is not None:
                await contexts.enter_async_context(app.channels)
            for hook in app.on_startup:
                await _call_hook(hook, app)
            for context in app.lifespan:
                await contexts.enter_async_context(context(app))
        except Exception as exc:
            logger.exception("startup failed")
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        # Under plain `hypercorn -k trio` this runs after hypercorn stopped serving;
        # connections still open are closed with 1001 here.
        await app.drain()
        failure = None
        for hook in app.on_shutdown:
            try:
                await _call_hook(hook, app)
            except Exception as exc:
                logger.exception("shutdown hook failed")
                failure = failure or exc
        try:
            # Lifespan contexts (then the Channels) close after the connections.
            await contexts.aclose()
        except Exception as exc:
            logger.exception("closing a lifespan context failed")
            failure = failure or exc
    if failure is not None:
        await send({"type": "lifespan.shutdown.failed", "message": repr(failure)})
    else:
        await send({"type": "lifespan.shutdown.complete"})
