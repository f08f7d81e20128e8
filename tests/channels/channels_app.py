"""An App whose clients talk through Channels, for the tests here and a second process.

- ``/topic/{topic}``: everything published to ``topic`` is streamed to the client
  (``send_to``), and every text the client sends is published to ``topic`` with
  ``exclude=socket`` (no echo to the sender).

As a second process: ``WSACTORS_TEST_REDIS=redis://... python -m wsactors run
channels_app:app --port 0`` from this directory (``WSACTORS_TEST_HISTORY``: the
Channels' history, default 0).
"""

from __future__ import annotations

import os
from typing import Any, Literal

import trio

from wsactors import App, Channels, WebSocket, websocket


def make_app(
    channels: Channels,
    *,
    on_gap: Literal["notify", "close"] = "notify",
    history: int = 0,
    sockets: list[WebSocket] | None = None,
) -> App:
    """The App, on ``channels``; each connection's socket is appended to ``sockets``."""

    @websocket("/topic/{topic:str}")
    async def topic_socket(socket: WebSocket, topic: str, channels: Channels) -> None:
        if sockets is not None:
            sockets.append(socket)
        await socket.accept()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stream, channels, socket, topic, on_gap, history)
            async for text in socket.iter_data():
                await channels.publish(topic, text, exclude=socket)
            nursery.cancel_scope.cancel()

    return App([topic_socket], channels=channels, shutdown_timeout=3)


async def _stream(
    channels: Channels, socket: WebSocket, topic: str, on_gap: Any, history: int
) -> None:
    await channels.send_to(socket, topic, on_gap=on_gap, history=history)


def __getattr__(name: str) -> Any:
    # Built on first access, so importing this module for make_app needs no Redis.
    if name != "app":
        raise AttributeError(name)
    from wsactors.channels import RedisBackend

    backend = RedisBackend(os.environ["WSACTORS_TEST_REDIS"], connect_timeout=2)
    history = int(os.environ.get("WSACTORS_TEST_HISTORY", "0"))
    return make_app(Channels(backend, history=history), history=history)
