"""Handlers and types that several modules of ``tests/e2e`` share.

``@websocket`` handlers for ``test_websocket_e2e.py`` (real sockets) and
``tests/testing/test_testclient_app.py`` (the in-process TestClient), which build their Apps from
the same shapes; the ``User`` record and the seed's custom WebSocket class for the
listener tests. Handlers keep no state, so one may serve in any number of Apps.
Client-side helpers are in ``tests/helpers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wsactors import WebSocket, WebSocketException, websocket


# ---------------------------------------------------------------- @websocket handlers
@websocket("/return")
async def returns(socket: WebSocket) -> None:
    await socket.accept()
    await socket.send_text("bye")


@websocket("/boom")
async def boom(socket: WebSocket) -> None:
    await socket.accept()
    raise RuntimeError("kaboom in handler")


@websocket("/custom")
async def custom(socket: WebSocket) -> None:
    await socket.accept()
    raise WebSocketException(code=4003, reason="room is full")


@websocket("/deny")
async def deny(socket: WebSocket) -> None:
    await socket.deny(403, b"members only")


# ---------------------------------------------------------------- for the listener tests
@dataclass
class User:
    name: str
    id: int = 0
    email: str = ""


class FixedWebSocket(WebSocket):
    """The seed's custom_websocket example: every message reads as "Fixed response"."""

    async def receive_data(self, mode: Any = "text") -> str | bytes:
        await super().receive_data(mode)
        return "Fixed response"
