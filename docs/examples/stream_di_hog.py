"""Anti-pattern: a lock taken in a dependency is held as long as the stream runs.

Dependencies live as long as the connection, so the first client keeps the lock
until it leaves, and every other client waits before its handshake even completes.
"""

from collections.abc import AsyncGenerator, AsyncIterator

import trio

from wsactors import App, Provide, websocket_stream

resource_lock = trio.Lock()


async def ping_external_resource() -> str:
    """Stands in for a call to a service that only one task may use at a time."""
    await trio.sleep(0.01)
    return "pong"


async def acquire_lock() -> AsyncIterator[trio.Lock]:
    async with resource_lock:
        yield resource_lock  # held until the connection has ended


@websocket_stream("/", dependencies={"lock": Provide(acquire_lock)})
async def handler(lock: trio.Lock) -> AsyncGenerator[dict[str, str], None]:
    while True:
        yield {"data": await ping_external_resource()}
        await trio.sleep(1)


app = App([handler])
