"""A stream: every value the async generator yields is sent to the client."""

import time
from collections.abc import AsyncGenerator

import trio

from wsactors import App, websocket_stream


@websocket_stream("/")
async def ping() -> AsyncGenerator[float, None]:
    while True:
        yield time.time()
        await trio.sleep(0.5)


app = App([ping])
