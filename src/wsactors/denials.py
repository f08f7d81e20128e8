"""Answers given before any handler runs: a denied handshake, a plain HTTP 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .events import Connect
from .protocol import ConnectionState
from .transport.base import Transport

if TYPE_CHECKING:
    from .app import ASGISend

__all__ = ["not_found", "reject"]


async def reject(transport: Transport, status: int, body: bytes) -> None:
    """Deny a handshake that never reaches a handler (no route, bad origin, drain)."""
    if type(await transport.receive()) is not Connect:
        return  # the client left first; ASGI apps receive the connect before answering
    state = ConnectionState(http_denials=transport.capabilities.http_denials)
    await transport.send(state.deny_events(status, body, None))


async def not_found(send: ASGISend) -> None:
    """Answer an ``http`` request with a plain-text 404 (no ``http_app`` given)."""
    body = b"Not Found"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
