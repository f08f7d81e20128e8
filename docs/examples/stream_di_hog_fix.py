"""The fix: take the lock inside the generator, only around the work that needs it."""

from collections.abc import AsyncGenerator

import trio

from wsactors import App, websocket_stream

resource_lock = trio.Lock()


async def ping_external_resource() -> str:
    """Stands in for a call to a service that only one task may use at a time."""
    await trio.sleep(0.01)
    return "pong"


@websocket_stream("/")
async def handler() -> AsyncGenerator[dict[str, str], None]:
    while True:
        async with resource_lock:
            result = await ping_external_resource()
        yield {"data": result}
        await trio.sleep(1)


app = App([handler])
