"""Serving the document over HTTP: ``App(asyncapi_path="/asyncapi.json")``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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
    allowed = method in ("GET", "HEAD")
    payload = body if allowed else b"Method Not Allowed"
    headers = [
        (b"content-type", b"application/json" if allowed else b"text/plain; charset=utf-8"),
        (b"content-length", str(len(payload)).encode("latin-1")),
    ]
    if not allowed:
        headers.append((b"allow", b"GET, HEAD"))
    await send(
        {"type": "http.response.start", "status": 200 if allowed else 405, "headers": headers}
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})
