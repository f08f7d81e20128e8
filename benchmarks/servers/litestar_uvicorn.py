"""Reference: Litestar's ``websocket_listener`` echo and ``websocket_stream`` push on
uvicorn (asyncio, uvicorn's default WebSocket implementation)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import uvicorn
from litestar import Litestar
from litestar.handlers import websocket_listener, websocket_stream

from ._common import HOST, parse_port


@websocket_listener("/echo")
async def echo(data: str) -> str:
    """Reply with the message itself."""
    return data


@websocket_stream("/push")
async def push(n: int, size: int) -> AsyncGenerator[str, None]:
    """Yield ``n`` messages of ``size`` bytes (query parameters); the stream then closes."""
    payload = "x" * size
    for _ in range(n):
        yield payload


app = Litestar([echo, push])

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)
