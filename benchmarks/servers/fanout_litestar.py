"""Fan-out reference: Litestar Channels (``ChannelsPlugin``, memory backend) on uvicorn
with uvloop and httptools (``uvicorn[standard]``, what Litestar users deploy), routes
as ``fanout_wsactors``.

``/room`` is the plugin's own generated route handler (``create_ws_route_handlers``:
accept, subscribe, send every event in a background task beside a receive loop);
``/idle`` is the same loop without the subscription; ``/publish`` a
``websocket_listener`` calling ``channels.publish`` with the text as it came (the
plugin sends a ``str`` as is). Subscriber backlogs are the plugin's default
(unbounded). uvicorn's loop and HTTP parser are named, not ``auto``, so a missing
uvloop or httptools fails the start instead of silently measuring asyncio and h11.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from litestar import Litestar, WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.handlers import websocket_listener

from ._common import HOST, parse_port, uvicorn_standard

TOPIC = "room"


@websocket_listener("/publish")
async def publish(data: str, channels: ChannelsPlugin) -> None:
    """Publish each message (the publisher's JSON text) to the room."""
    channels.publish(data, TOPIC)


@websocket("/idle")
async def idle(socket: WebSocket[Any, Any, Any]) -> None:
    """The plugin's ``/room`` handler without the subscription."""
    await socket.accept()
    while (await socket.receive())["type"] != "websocket.disconnect":
        continue


channels_plugin = ChannelsPlugin(
    backend=MemoryChannelsBackend(),
    channels=[TOPIC],
    create_ws_route_handlers=True,  # /room
)
app = Litestar([publish, idle], plugins=[channels_plugin])

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    uvicorn.run(
        app, host=HOST, port=port, log_level="warning", access_log=False, **uvicorn_standard()
    )
