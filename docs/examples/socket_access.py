"""Ask for ``socket`` to reach the connection itself from a listener."""

from wsactors import App, WebSocket, websocket_listener


@websocket_listener("/")
async def handler(data: str, socket: WebSocket) -> str | None:
    if data == "goodbye":
        await socket.close(reason="see you")
        return None  # nothing to reply: the connection is closed
    client = socket.client
    return f"{data} (you are {client.host if client else 'unknown'})"


app = App([handler])
