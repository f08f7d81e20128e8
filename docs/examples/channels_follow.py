"""Following topics: each connection subscribes itself, with no task of its own."""

from typing import Any

from wsactors import App, Channels, WebSocket, websocket


@websocket("/follow")
async def follow(socket: WebSocket) -> None:
    await socket.accept()
    async for command in socket.iter_json(type=dict[str, Any]):
        topic = command["topic"]
        if command["op"] == "follow":
            # From here on, what is published to the topic reaches this client;
            # the last 3 kept messages first.
            await socket.subscribe(topic, history=3)
        else:
            await socket.unsubscribe(topic)
        await socket.send_json({"ok": command["op"], "topic": topic})
    # Nothing to clean up: the subscriptions end with the connection.


app = App([follow], channels=Channels(history=100))
