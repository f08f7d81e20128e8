"""Stream and receive at once with a listener: ``connection_lifespan`` runs
``send_websocket_stream`` in a nursery beside the listener's receive loop."""

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import trio

from wsactors import App, WebSocket, send_websocket_stream, websocket_listener


async def pings() -> AsyncGenerator[dict[str, float], None]:
    while True:
        yield {"ping": time.time()}
        await trio.sleep(0.5)


@asynccontextmanager
async def stream_pings(socket: WebSocket) -> AsyncIterator[None]:
    # Entered after accept; the listener handles messages while the body runs.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(send_websocket_stream, socket, pings(), close=False))
        yield
        # The listener loop has ended (the client left): stop the stream too.
        nursery.cancel_scope.cancel()


@websocket_listener("/", connection_lifespan=stream_pings)
async def handler(data: str) -> str:
    return data


app = App([handler])
