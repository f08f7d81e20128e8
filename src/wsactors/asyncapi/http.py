"""Serving the document over HTTP: ``App(asyncapi_path="/asyncapi.json")``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..responses import send_response

__all__ = ["send_document"]

Message = dict[str, Any]


async def send_document(
    body: bytes,
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer one ASGI ``http`` request with ``body`` (the JSON document).

    ``GET`` and ``HEAD`` get it (``HEAD`` without the body); other methods get 405.
    The request body, if any, is not read.

    Cancellation:
        Nothing to clean up: a cancelled response is simply cut short.
    """
    method = scope.get("method", "GET")
    if method in ("GET", "HEAD"):
        await send_response(send, 200, body, content_type="application/json", method=method)
    else:
        await send_response(send, 405, b"Method Not Allowed", method=method)
