"""A chat room: everyone in a room hears who comes, what they say, and who leaves."""

from wsactors import App, Channels, WebSocket, WebSocketListener


class Room(WebSocketListener):
    path = "/rooms/{room:str}"  # ?name=ada names the client

    async def on_connect(
        self, socket: WebSocket, channels: Channels, room: str, name: str = "anonymous"
    ) -> None:
        self.room, self.name = room, name
        # From here on, what is published to the room reaches this client...
        await socket.subscribe(room)
        # ...and the others learn who came (not this client: exclude=socket).
        await channels.publish(room, {"joined": name}, exclude=socket)

    async def on_receive(self, data: str, channels: Channels) -> None:
        # Everyone else in the room hears it, in this process or through Redis.
        await channels.publish(self.room, {"name": self.name, "text": data}, exclude=self.socket)

    async def on_disconnect(self, channels: Channels) -> None:
        # The subscription ended with the connection: nothing to cancel here.
        await channels.publish(self.room, {"left": self.name})


# One process; for several, Channels(RedisBackend("redis://...")) (see scaling-out).
app = App([Room], channels=Channels())
