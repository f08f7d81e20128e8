"""The data-discard rule: a stream that listens for disconnects refuses client data.

- ``/strict`` (the default): a message from the client closes the connection with
  1008, and the reason names ``allow_data_discard``.
- ``/lenient``: ``allow_data_discard=True`` drops client messages (each one warns
  with ``DataDiscardedWarning`` unless ``warn_on_data_discard=False``) and counts
  them in ``socket.statistics().discarded_messages``.
- ``/countdown``: ``listen_for_disconnect=False`` lets the generator read the socket.
"""

from collections.abc import AsyncGenerator

import trio

from wsactors import App, WebSocket, websocket_stream


@websocket_stream("/strict")
async def strict() -> AsyncGenerator[str, None]:
    while True:
        yield "tick"
        await trio.sleep(0.1)


@websocket_stream("/lenient", allow_data_discard=True)
async def lenient(socket: WebSocket) -> AsyncGenerator[str, None]:
    while True:
        # Each dropped message is counted in the connection's statistics.
        yield f"tick, {socket.statistics().discarded_messages} discarded"
        await trio.sleep(0.1)


@websocket_stream("/countdown", listen_for_disconnect=False)
async def countdown(socket: WebSocket) -> AsyncGenerator[str, None]:
    start = int(await socket.receive_text())
    for n in range(start, 0, -1):
        yield str(n)
    # Exhausted: the connection closes with 1000.


app = App([strict, lenient, countdown])
