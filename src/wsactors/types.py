"""The ASGI aliases every layer shares, and what an engine needs from an App.

The App's own ASGI signature stays dict-typed (what ``serve()`` and every ASGI server
accept); the ASGI transport types each message with ``hypercorn.typing``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

if TYPE_CHECKING:
    from .connection.limits import RuntimeConfig
    from .transport.base import Transport

__all__ = ["ASGIApp", "ASGIReceive", "ASGISend", "EngineApp", "Matched", "Scope"]

#: An ASGI connection scope (ASGI spec, "Connection Scope").
Scope: TypeAlias = dict[str, Any]
#: ``await receive()``: the next ASGI event.
ASGIReceive: TypeAlias = Callable[[], Awaitable[dict[str, Any]]]
#: ``await send(event)``.
ASGISend: TypeAlias = Callable[[dict[str, Any]], Awaitable[None]]
#: An ASGI 3 application: ``await app(scope, receive, send)``.
ASGIApp: TypeAlias = Callable[[Scope, ASGIReceive, ASGISend], Awaitable[None]]


class Matched(Protocol):
    """What the engine reads of a matched route before the 101: its limits."""

    @property
    def config(self) -> RuntimeConfig:
        """The route's limits (message size and send timeout are the engine's)."""
        ...


_M = TypeVar("_M", bound=Matched)


class EngineApp(Protocol[_M]):
    """What the native engine needs from an App (``wsactors.App`` is one).

    The engine matches the route once per handshake (:meth:`match`), answers the
    drain's 503 while :attr:`draining`, and hands the match to :meth:`serve_matched`;
    it tells the App of the handshakes it denied itself (:meth:`handshake_denied`).
    """

    @property
    def plain_http(self) -> ASGIApp | None:
        """An ASGI app for plain HTTP requests, or None (the engine answers 404)."""
        ...

    @property
    def draining(self) -> bool:
        """True once :meth:`drain` has started: new handshakes get 503."""
        ...

    def match(self, path: str) -> _M | None:
        """The route for ``path`` (with its path parameters), or None."""
        ...

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        """The ASGI entry point: the engine drives the lifespan through it."""
        ...

    async def serve_matched(self, scope: Scope, transport: Transport, matched: _M | None) -> None:
        """Run one WebSocket connection over ``transport``, its route already matched."""
        ...

    async def drain(self) -> bool:
        """Close every live connection with 1001 and wait for them (bounded)."""
        ...

    def handshake_denied(self, matched: _M | None, status: int) -> None:
        """The engine answered a WebSocket handshake with HTTP ``status`` itself (for
        the App's metrics; never blocks)."""
        ...
