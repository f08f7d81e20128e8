"""Chat rooms on Channels: every client in a room hears the others, not itself."""

import trio

from wsactors import App, Channels, WebSocket, websocket


@websocket("/rooms/{room:str}")
async def room_socket(socket: WebSocket, room: str, channels: Channels) -> None:
    await socket.accept()
    async with trio.open_nursery() as nursery:
        # Everything published to the room goes to this client (subscribed once
        # nursery.start returns)...
        await nursery.start(channels.send_to, socket, room)
        # ...and what this client says goes to everyone else in it.
        async for text in socket.iter_data():
            await channels.publish(room, {"text": text}, exclude=socket)
        nursery.cancel_scope.cancel()


app = App([room_socket], channels=Channels())
