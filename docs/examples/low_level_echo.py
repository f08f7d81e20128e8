"""A low-level handler owns the protocol: it accepts, receives, sends (and may close)."""

from wsactors import App, WebSocket, websocket


@websocket("/echo")
async def echo(socket: WebSocket) -> None:
    await socket.accept()
    # iter_messages keeps frame types: text frames are str, binary frames bytes.
    async for message in socket.iter_messages():
        await socket.send_message(message)
    # Returning without closing: the framework closes with 1000 if still due.


app = App([echo])
