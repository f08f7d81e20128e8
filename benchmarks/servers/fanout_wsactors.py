"""Fan-out: wsactors Channels, on hypercorn's Trio worker (``fanout_wsactors_native``
serves the same App on the native engine).

Routes, as every fan-out server here (:mod:`benchmarks.fanout`):

- ``/room``: the connection is subscribed to the topic ``room``; what it sends is ignored;
- ``/idle``: the same handler without the subscription (the memory baseline);
- ``/publish``: every text message (the publisher's JSON) is published to ``room``.

A connection subscribes with ``await socket.subscribe("room")`` in a listener's
``on_connect``: no task per subscriber.
"""

from __future__ import annotations

import json

from wsactors import App, Channels, WebSocket, WebSocketListener

from ._common import parse_port, serve_hypercorn_trio

TOPIC = "room"

#: How ``/room`` subscribes (printed by the servers, recorded in the results).
SUBSCRIPTION = "socket.subscribe"


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
        await socket.subscribe(TOPIC)

    async def on_receive(self, data: str) -> None:
        return None


class IdleListener(WebSocketListener):
    """``SubscribedRoom`` without the subscription."""

    path = "/idle"

    async def on_receive(self, data: str) -> None:
        return None


app = App([Publish, SubscribedRoom, IdleListener], channels=Channels())

if __name__ == "__main__":
    port = parse_port(__doc__ or "")
    print(f"wsactors fan-out on hypercorn-trio, subscribers via {SUBSCRIPTION}", flush=True)
    serve_hypercorn_trio(app, port)
