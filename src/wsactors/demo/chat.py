"""The demo's chat rooms: one ``WebSocketListener``, a connection per client.

Client -> server, one JSON object per text frame, validated by cattrs (a payload
that fits neither type closes the connection with 1007 and a reason naming the
field)::

    {"name": "ada", "text": "hello"}    ChatIn: said to everyone in the room
    {"stats": true}                     StatsRequest: this connection's statistics()

Server -> client, one JSON object per text frame, told apart by ``type``::

    {"type": "join" | "leave", "room": ..., "name": ..., "online": 2, "time": ...}
    {"type": "message", "room": ..., "name": ..., "text": ..., "time": ...}
    {"type": "stats", "stats": {"messages_in": 3, ...}}   (to the asker only)

A room is a topic of the App's :class:`~wsactors.channels.Channels` (``chat:{room}``):
each connection subscribes itself (``socket.subscribe``) and publishes what its
client says, so with ``wsactors demo --redis URL`` two demo processes share their
rooms. The subscription ends with the connection. The ``online`` count is this
process's own: a :class:`collections.Counter` of the App, per room.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..channels import Channels
from ..handlers import WebSocketListener
from ..socket.websocket import WebSocket

__all__ = ["ChatIn", "ChatListener", "StatsRequest", "clean_name", "topic"]

MAX_NAME = 32  # characters of a display name; longer names are cut
MAX_TEXT = 1000  # characters of one chat message; longer messages are cut
BACKLOG = 64  # chat messages queued per client before the oldest are dropped


@dataclass(frozen=True, slots=True)
class ChatIn:
    """A chat message from a client."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class StatsRequest:
    """``{"stats": true}``: ask for this connection's statistics."""

    stats: bool


def clean_name(name: str) -> str:
    """``name`` stripped and cut to :data:`MAX_NAME` characters; never empty."""
    return name.strip()[:MAX_NAME] or "anonymous"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def topic(room: str) -> str:
    """The channel topic of a chat room."""
    return f"chat:{room}"


class ChatListener(WebSocketListener):
    """One chat connection (one instance per connection, so its attributes are its own).

    ``?name=`` in the URL names the client in its join notice; afterwards the name
    of its latest message is used (for the leave notice too). ``online`` is the
    App's per-room count of this process's clients (a dependency).
    """

    path = "/ws/chat/{room:str}"
    max_message_size = 4096

    def __init__(self) -> None:
        self.room = ""
        self.name = "anonymous"

    async def on_connect(
        self, socket: WebSocket, room: str, channels: Channels, online: Counter[str], name: str = ""
    ) -> None:
        """Enter the room and tell everyone in it (this client too)."""
        self.room, self.name = room, clean_name(name)
        online[room] += 1  # first: on_disconnect counts the leave even if subscribe fails
        await socket.subscribe(topic(room), max_backlog=BACKLOG)
        await channels.publish(topic(room), self._notice("join", online[room]))

    async def on_receive(
        self, data: ChatIn | StatsRequest, channels: Channels
    ) -> dict[str, Any] | None:
        """Publish a chat message to the room, or answer a stats request (to this client)."""
        if isinstance(data, StatsRequest):
            if not data.stats:
                return None
            return {"type": "stats", "stats": dataclasses.asdict(self.socket.statistics())}
        self.name = clean_name(data.name)
        text = data.text.strip()[:MAX_TEXT]
        if text:
            event = {"type": "message", "room": self.room, "name": self.name, "text": text}
            await channels.publish(topic(self.room), {**event, "time": _now()})
        return None

    async def on_disconnect(self, channels: Channels, online: Counter[str]) -> None:
        """Tell the others this client left (also after an error, e.g. a bad payload).

        Its subscription has already ended with the connection.
        """
        online[self.room] -= 1
        if online[self.room] <= 0:
            del online[self.room]
        await channels.publish(topic(self.room), self._notice("leave", online[self.room]))

    def _notice(self, kind: str, online: int) -> dict[str, Any]:
        return {
            "type": kind,
            "room": self.room,
            "name": self.name,
            "online": online,
            "time": _now(),
        }
