"""Fan-out: wsactors Channels, on hypercorn's Trio worker (``fanout_wsactors_native``
serves the same App on the native engine).

Routes, as every fan-out server here (:mod:`benchmarks.fanout`):

- ``/room``: the connection is subscribed to the topic ``room``; what it sends is ignored;
- ``/idle``: the same handler without the subscription (the memory baseline);
- ``/publish``: every text message (the publisher's JSON) is published to ``room``.

How a connection subscribes depends on what this wsactors has: ``await
socket.subscribe("room")`` in a listener's ``on_connect`` (issue 20: no task per
subscriber) when the socket has it, else ``channels.send_to`` (a task per
subscriber), in a ``@websocket`` handler as docs/channels.md shows.
:data:`SUBSCRIPTION` says which one this process serves; the server prints it.
"""

from __future__ import annotations

import json
from typing import Any

from wsactors import App, Channels, WebSocket, WebSocketListener, websocket

from ._common import parse_port, serve_hypercorn_trio

TOPIC = "room"

#: ``"socket.subscribe"`` or ``"channels.send_to"``: what ``/room`` uses here.
SUBSCRIPTION = (
    "socket.subscribe" if callable(getattr(WebSocket, "subscribe", None)) else "channels.send_to"
)


class Publish(WebSocketListener):
    """Publish each message: channels.publish takes data, so the text is decoded once
    here and encoded once for every subscriber by Channels."""

    path = "/publish"

    async def on_receive(self, data: str, channels: Channels) -> None:
        await channels.publish(TOPIC, json.loads(data))


class SubscribedRoom(WebSocketListener):
    """A subscriber as issue 20 writes it: subscribed in ``on_connect``, no task of its own."""

    path = "/room"

    async def on_connect(self, socket: WebSocket) -> None:
        # getattr: this module also runs on a wsactors without socket.subscribe.
        subscribe: Any = getattr(socket, "subscribe")  # noqa: B009
        await subscribe(TOPIC)

    async def on_receive(self, data: str) -> None:
        return None


class IdleListener(WebSocketListener):
    """``SubscribedRoom`` without the subscription."""

    path = "/idle"

    async def on_receive(self, data: str) -> None:
        return None


@websocket("/room")
async def send_to_room(socket: WebSocket, channels: Channels) -> None:
    """A subscriber before issue 20: ``send_to`` reads the socket too, until it closes."""
    await socket.accept()
    await channels.send_to(socket, TOPIC, listen_for_disconnect=True)


@websocket("/idle")
async def idle(socket: WebSocket) -> None:
    """``send_to_room`` without the subscription: read until the client leaves."""
    await socket.accept()
    async for _ in socket.iter_messages():
        pass


if SUBSCRIPTION == "socket.subscribe":
    handlers: list[Any] = [Publish, SubscribedRoom, IdleListener]
else:
    handlers = [Publish, send_to_room, idle]
app = App(handlers, channels=Channels())

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    print(f"wsactors fan-out on hypercorn-trio, subscribers via {SUBSCRIPTION}", flush=True)
    serve_hypercorn_trio(app, port)
