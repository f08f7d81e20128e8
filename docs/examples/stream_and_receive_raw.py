"""Stream and receive at once in a low-level handler: two tasks in one nursery."""

import time
from collections.abc import AsyncGenerator

import trio

from wsactors import App, WebSocket, send_websocket_stream, websocket


@websocket("/")
async def handler(socket: WebSocket) -> None:
    await socket.accept()

    async def pings() -> AsyncGenerator[dict[str, float], None]:
        while True:
            yield {"ping": time.time()}
            await trio.sleep(0.5)

    async with trio.open_nursery() as nursery:

        async def echo() -> None:
            # iter_json ends quietly when the client leaves ...
            async for message in socket.iter_json():
                await socket.send_json(message)
            # ... and then the stream has nobody to talk to any more.
            nursery.cancel_scope.cancel()

        nursery.start_soon(send_websocket_stream, socket, pings())
        nursery.start_soon(echo)


app = App([handler])
