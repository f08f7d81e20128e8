"""A class-based listener with synchronous methods.

wsactors creates one instance per connection, so ``self`` holds that connection's
own state (here, how many messages it sent).
"""

import logging

from wsactors import App, WebSocket, WebSocketListener

logger = logging.getLogger(__name__)


class Handler(WebSocketListener):
    path = "/"

    def __init__(self) -> None:
        self.received = 0

    def on_connect(self, socket: WebSocket) -> None:
        logger.info("connection accepted from %s", socket.client)

    def on_disconnect(self, socket: WebSocket) -> None:
        logger.info("connection closed after %d messages", self.received)

    def on_receive(self, data: str) -> str:
        self.received += 1
        return f"{self.received}: {data}"


app = App([Handler])
