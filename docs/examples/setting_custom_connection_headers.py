"""A ``connection_accept_handler`` accepts the connection itself, here with extra headers."""

from wsactors import App, WebSocket, websocket_listener


async def accept_connection(socket: WebSocket) -> None:
    await socket.accept(headers={"Set-Cookie": "visited=yes; HttpOnly"})


@websocket_listener("/", connection_accept_handler=accept_connection)
def handler(data: str) -> str:
    return data


app = App([handler])
