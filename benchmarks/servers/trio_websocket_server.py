"""Reference: trio-websocket's own server (wsproto on Trio, no ASGI in between)."""

from __future__ import annotations

from functools import partial

import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

from ._common import HOST, parse_port, push_request


async def handler(request: WebSocketRequest) -> None:
    """Route by path: ``/echo`` and ``/push``; anything else is rejected."""
    path, _, query = request.path.partition("?")
    if path not in ("/echo", "/push"):
        await request.reject(404)
        return
    ws = await request.accept()
    try:
        if path == "/echo":
            while True:
                await ws.send_message(await ws.get_message())
        else:
            count, payload = push_request(query)
            for _ in range(count):
                await ws.send_message(payload)
            await ws.aclose(1000)
    except ConnectionClosed:
        return


if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    trio.run(partial(serve_websocket, handler, HOST, port, ssl_context=None))
