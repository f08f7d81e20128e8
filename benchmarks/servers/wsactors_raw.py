"""wsactors' low-level ``@websocket`` handlers: the runtime (actors, channels) without
the listener and stream layers. On hypercorn's Trio worker, as the floor."""

from __future__ import annotations

from wsactors import App, WebSocket, websocket

from ._common import parse_port, push_request, serve_hypercorn_trio


@websocket("/echo")
async def echo(socket: WebSocket) -> None:
    """Send every message back, keeping its frame type."""
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


@websocket("/push")
async def push(socket: WebSocket) -> None:
    """Send the requested messages, then close."""
    count, payload = push_request(socket.scope.get("query_string", b""))
    await socket.accept()
    for _ in range(count):
        await socket.send_message(payload)
    await socket.close()


app = App([echo, push])

if __name__ == "__main__":
    serve_hypercorn_trio(app, parse_port(__doc__ or ""))
