"""A custom ``websocket_class``: listeners read through ``receive_data``, so
overriding it changes what every listener of the layer sees."""

from typing import Literal

from wsactors import App, Router, WebSocket, websocket_listener


class TrimmingWebSocket(WebSocket):
    """Every message reaches the handler without surrounding whitespace."""

    async def receive_data(self, mode: Literal["text", "binary"] = "text") -> str | bytes:
        data = await super().receive_data(mode)
        return data.strip()


@websocket_listener("/")
async def handler(data: str) -> str:
    return data


@websocket_listener("/")
async def untrimmed(data: str) -> str:
    return data


# The App's class applies everywhere; the Router's, closer to its handler, wins there.
app = App(
    [handler, Router("/raw", [untrimmed], websocket_class=WebSocket)],
    websocket_class=TrimmingWebSocket,
)
