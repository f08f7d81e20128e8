"""Answers given before any handler runs: a denied handshake, a plain HTTP 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..connection.events import Connect
from ..connection.state import ConnectionState
from ..responses import send_response
from ..transport.base import Transport

if TYPE_CHECKING:
    from ..types import ASGISend

__all__ = ["SHUTTING_DOWN", "not_found", "reject"]

#: The 503 reason while the App drains, on both engines (docs/serving.md).
SHUTTING_DOWN = "Server shutting down"


async def reject(transport: Transport, status: int, body: bytes) -> None:
    """Deny a handshake that never reaches a handler (no route, bad origin, drain)."""
    if type(await transport.receive()) is not Connect:
        return  # the client left first; ASGI apps receive the connect before answering
    state = ConnectionState(http_denials=transport.capabilities.http_denials)
    await transport.send(state.deny_events(status, body, None))


async def not_found(send: ASGISend) -> None:
    """Answer an ``http`` request with a plain-text 404 (no ``http_app`` given)."""
    await send_response(send, 404, b"Not Found")
