"""One complete plain HTTP response over ASGI: what every part of wsactors that answers
HTTP itself sends (the 404 without an ``http_app``, the AsyncAPI document, the metrics,
the demo's files, the wrong-loop refusal of a handshake).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

__all__ = ["PLAIN_TEXT", "send_response"]

PLAIN_TEXT: Final = "text/plain; charset=utf-8"

#: ASGI ``send`` (``wsactors.types.ASGISend``, spelt out: the two modules are peers).
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    *,
    content_type: str = PLAIN_TEXT,
    headers: Sequence[tuple[bytes, bytes]] = (),
    method: str = "GET",
    websocket: bool = False,
) -> None:
    """Send a whole response: its start (``content-type``, ``content-length``, then
    ``headers``) and one body.

    A ``HEAD`` request gets the headers of ``GET``, its ``content-length`` included,
    and no body (RFC 9110 section 9.3.2); a 405 says ``allow: GET, HEAD``. With
    ``websocket=True`` the response answers a handshake, through the ASGI
    ``websocket.http.response`` extension (the server must offer it).

    Cancellation:
        Nothing to clean up: a cancelled response is simply cut short.
    """
    kind = "websocket.http.response" if websocket else "http.response"
    start_headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("latin-1")),
        *headers,
    ]
    if status == 405:
        start_headers.append((b"allow", b"GET, HEAD"))
    await send({"type": f"{kind}.start", "status": status, "headers": start_headers})
    await send({"type": f"{kind}.body", "body": b"" if method == "HEAD" else body})
