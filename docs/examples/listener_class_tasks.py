"""A class-based listener with a task of its own: a ticker beside the receive loop.

``socket.start_soon`` runs it in the connection's nursery; it is cancelled when
the client leaves, before ``on_disconnect``, with nothing to keep or cancel here.
"""

import logging

import trio

from wsactors import App, WebSocket, WebSocketListener

logger = logging.getLogger(__name__)


class Ticker(WebSocketListener):
    path = "/ticks"

    async def on_connect(self, socket: WebSocket) -> None:
        self.interval = 0.2
        socket.start_soon(self.tick)

    async def tick(self) -> None:
        n = 0
        try:
            while True:
                await self.socket.send_json({"tick": n})
                n += 1
                await trio.sleep(self.interval)
        finally:
            logger.info("ticker stopped after %d ticks", n)

    def on_receive(self, data: float) -> dict[str, float]:
        # The receive loop and the ticker share the instance: no lock, one thread.
        self.interval = data
        return {"interval": data}

    def on_disconnect(self, socket: WebSocket) -> None:
        logger.info("disconnected; the ticker has already stopped")


app = App([Ticker])
