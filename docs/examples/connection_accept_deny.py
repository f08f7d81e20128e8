"""An accept handler may refuse the connection with an HTTP response instead."""

from wsactors import App, WebSocket, websocket_listener


async def check_token(socket: WebSocket) -> None:
    if socket.query_params.get("token") != "open-sesame":
        # Before accept: an HTTP 401 response, the handler never runs.
        await socket.deny(401, "a valid token is required")
        return
    await socket.accept()


@websocket_listener("/", connection_accept_handler=check_token)
async def handler(data: str) -> str:
    return data


app = App([handler])
