"""A stream may ask for ``socket`` (and any dependency) like every handler."""

import time
from collections.abc import AsyncGenerator

import trio

from wsactors import App, WebSocket, websocket_stream


@websocket_stream("/")
async def ping(socket: WebSocket) -> AsyncGenerator[dict[str, str | float], None]:
    client = socket.client
    peer = f"{client.host}:{client.port}" if client else "unknown"
    while True:
        yield {"time": time.time(), "client": peer}
        await trio.sleep(0.5)


app = App([ping])
