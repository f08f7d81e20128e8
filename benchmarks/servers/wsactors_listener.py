"""wsactors as most users write it: ``@websocket_listener`` echo, ``@websocket_stream`` push.

On hypercorn's Trio worker with the same settings as the raw ASGI floor.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from wsactors import App, websocket_listener, websocket_stream

from ._common import parse_port, serve_hypercorn_trio


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


app = App([echo, push])

if __name__ == "__main__":
    serve_hypercorn_trio(app, parse_port(__doc__ or ""))
