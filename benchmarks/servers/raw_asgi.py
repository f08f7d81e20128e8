"""The floor: a plain ASGI 3 app on hypercorn's Trio worker, no framework at all.

Whatever wsactors adds on top of hypercorn shows as the distance to this one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ._common import parse_port, push_request, serve_hypercorn_trio

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _echo(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return  # websocket.disconnect
        text = message.get("text")
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def _push(scope: dict[str, Any], send: Send) -> None:
    count, payload = push_request(scope.get("query_string", b""))
    for _ in range(count):
        await send({"type": "websocket.send", "text": payload})
    await send({"type": "websocket.close", "code": 1000})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The ASGI entry point: ``/echo`` and ``/push``; anything else is refused."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    path = scope["path"]
    if path not in ("/echo", "/push"):
        await send({"type": "websocket.close", "code": 1000})  # before accept: HTTP 403
        return
    await send({"type": "websocket.accept"})
    if path == "/echo":
        await _echo(receive, send)
    else:
        await _push(scope, send)


if __name__ == "__main__":
    serve_hypercorn_trio(app, parse_port(__doc__ or ""))
