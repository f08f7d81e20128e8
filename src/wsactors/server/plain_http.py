"""Plain HTTP on the native engine: one GET or HEAD per connection, then close.

A request that is not a WebSocket upgrade goes to the App's HTTP side
(``App.plain_http``: its metrics, its AsyncAPI document, its ``http_app`` such as
the demo page or a health check) as one ASGI ``http`` request without a body,
answered with ``Connection: close``; an App without one gets a short 404 (or 426
on a WebSocket route), and other methods 405. Bodies, keep-alive and HTTP/2 are
hypercorn's job.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from websockets.http11 import Request

from .handshake import base_scope, simple_response

__all__ = ["serve_plain_http"]

logger = logging.getLogger("wsactors.engine")

HTTPApp = Callable[..., Awaitable[None]]


async def serve_plain_http(
    stream: trio.abc.Stream,
    request: Request,
    http_app: HTTPApp | None,
    *,
    is_websocket_route: bool,
    tls: bool,
    state: dict[str, Any],
) -> None:
    """Answer one plain HTTP request on ``stream``.

    Raises:
        trio.BrokenResourceError: the connection broke.

    Cancellation:
        The ``http_app`` is cancelled with it.
    """
    method = request.method
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        await stream.send_all(
            simple_response(405, "Method Not Allowed\n", [("Allow", "GET, HEAD")])
        )
        return
    if http_app is None:
        if is_websocket_route:
            answer = simple_response(
                426, "Upgrade Required\n", [("Upgrade", "websocket")], head=head
            )
        else:
            answer = simple_response(404, "Not Found\n", head=head)
        await stream.send_all(answer)
        return
    scope = base_scope("http", request, stream, tls=tls, state=state)
    scope["method"] = method
    responder = _Responder(stream, head)
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            await trio.lowlevel.checkpoint()
            return {"type": "http.request", "body": b"", "more_body": False}
        await responder.finished.wait()
        return {"type": "http.disconnect"}

    try:
        await http_app(scope, receive, responder.send)
    except Exception:
        logger.exception("error in http_app for %r", scope["path"])
        if not responder.started:
            await stream.send_all(simple_response(500, "Internal Server Error\n", head=head))
        return
    if not responder.started:
        await stream.send_all(simple_response(500, "Internal Server Error\n", head=head))


class _Responder:
    """The ASGI ``send`` of one response: status and headers, then body chunks."""

    def __init__(self, stream: trio.abc.Stream, head: bool) -> None:
        self.stream = stream
        self.head = head
        self.started = False
        self.finished = trio.Event()
        self._start: dict[str, Any] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self._start is not None or self.finished.is_set():
                raise RuntimeError("http.response.start sent twice")
            self._start = message
            await trio.lowlevel.checkpoint()
        elif kind == "http.response.body":
            if self._start is None or self.finished.is_set():
                raise RuntimeError("http.response.body before the start or after the end")
            chunks: list[bytes] = []
            if not self.started:
                self.started = True
                chunks.append(_head_of(self._start))
            body = bytes(message.get("body", b""))
            if body and not self.head:
                chunks.append(body)
            if not message.get("more_body", False):
                self.finished.set()
            if chunks:
                await self.stream.send_all(b"".join(chunks))
            else:
                await trio.lowlevel.checkpoint()
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} for an http scope")


def _head_of(start: dict[str, Any]) -> bytes:
    status = int(start["status"])
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {status} {phrase}".encode("latin-1")]
    for name, value in start.get("headers", ()):
        if bytes(name).lower() == b"connection":
            continue  # the connection closes after this response, whatever the app says
        lines.append(bytes(name) + b": " + bytes(value))
    lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"
