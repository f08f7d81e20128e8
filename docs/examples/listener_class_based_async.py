"""A class-based listener with asynchronous methods: they may await the socket."""

import logging

from wsactors import App, WebSocket, WebSocketListener

logger = logging.getLogger(__name__)


class Handler(WebSocketListener):
    path = "/"

    async def on_connect(self, socket: WebSocket) -> None:
        await socket.send_text("welcome")

    async def on_disconnect(self, socket: WebSocket) -> None:
        logger.info("connection closed (code %s)", socket.close_code)

    async def on_receive(self, data: str) -> str:
        return data


app = App([Handler])
