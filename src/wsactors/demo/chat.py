"""The demo's chat rooms: a ``WebSocketListener`` per connection and a room registry.

Client -> server, one JSON object per text frame, validated by cattrs (a payload
that fits neither type closes the connection with 1007 and a reason naming the
field)::

    {"name": "ada", "text": "hello"}    ChatIn: said to everyone in the room
    {"stats": true}                     StatsRequest: this connection's statistics()

Server -> client, one JSON object per text frame, told apart by ``type``::

    {"type": "join" | "leave", "room": ..., "name": ..., "online": 2, "time": ...}
    {"type": "message", "room": ..., "name": ..., "text": ..., "time": ...}
    {"type": "stats", "stats": {"messages_in": 3, ...}}   (to the asker only)

The registry lives in one process and one App (``create_app`` makes a fresh one
and provides it as the ``rooms`` dependency): rooms are not shared between worker
processes.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trio

from ..connection import WebSocket
from ..exceptions import WebSocketDisconnect
from ..handlers import WebSocketListener

__all__ = ["ChatIn", "ChatListener", "ChatRooms", "StatsRequest"]

MAX_NAME = 32  # characters of a display name; longer names are cut
MAX_TEXT = 1000  # characters of one chat message; longer messages are cut
SEND_TIMEOUT = 2.0  # seconds one recipient's full queue may hold up a broadcast

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


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


class ChatRooms:
    """An in-process registry: room name -> the sockets in that room."""

    def __init__(self) -> None:
        self.rooms: dict[str, set[WebSocket]] = {}

    def join(self, room: str, socket: WebSocket) -> int:
        """Add ``socket`` to ``room``; return how many are in it now."""
        members = self.rooms.setdefault(room, set())
        members.add(socket)
        return len(members)

    def leave(self, room: str, socket: WebSocket) -> int:
        """Remove ``socket`` from ``room`` (no-op if absent); return how many are left."""
        members = self.rooms.get(room)
        if members is None:
            return 0
        members.discard(socket)
        if not members:
            del self.rooms[room]
        return len(members)

    async def broadcast(self, room: str, event: dict[str, Any]) -> int:
        """Send ``event`` as JSON to everyone in ``room``; return how many got it.

        The event is encoded once. Recipients are sent to concurrently, so a slow
        one holds up nobody else, and each send is bounded by
        :data:`SEND_TIMEOUT`. A recipient whose client left (``WebSocketDisconnect``
        from its send) is skipped: its own ``on_disconnect`` removes it.
        """
        text = _encode(event)
        delivered = 0

        async def deliver(socket: WebSocket) -> None:
            nonlocal delivered
            with trio.move_on_after(SEND_TIMEOUT):
                try:
                    await socket.send_text(text)
                except WebSocketDisconnect:
                    return
                delivered += 1

        async with trio.open_nursery() as nursery:
            # A snapshot: members may join or leave while the sends wait.
            for socket in list(self.rooms.get(room, ())):
                nursery.start_soon(deliver, socket)
        return delivered


class ChatListener(WebSocketListener):
    """One chat connection (one instance per connection, so its attributes are its own).

    ``?name=`` in the URL names the client in its join notice; afterwards the name
    of its latest message is used (for the leave notice too).
    """

    path = "/ws/chat/{room:str}"
    max_message_size = 4096

    def __init__(self) -> None:
        self.room = ""
        self.name = "anonymous"
        self.rooms = ChatRooms()  # replaced by the App's registry in on_connect

    async def on_connect(
        self, socket: WebSocket, room: str, rooms: ChatRooms, name: str = ""
    ) -> None:
        """Enter the room and tell everyone in it (this client too)."""
        self.room, self.name, self.rooms = room, clean_name(name), rooms
        online = rooms.join(room, socket)
        await rooms.broadcast(room, self._notice("join", online))

    async def on_receive(self, data: ChatIn | StatsRequest) -> dict[str, Any] | None:
        """Broadcast a chat message, or answer a stats request (to this client only)."""
        if isinstance(data, StatsRequest):
            if not data.stats:
                return None
            return {"type": "stats", "stats": dataclasses.asdict(self.socket.statistics())}
        self.name = clean_name(data.name)
        text = data.text.strip()[:MAX_TEXT]
        if text:
            event = {"type": "message", "room": self.room, "name": self.name, "text": text}
            await self.rooms.broadcast(self.room, {**event, "time": _now()})
        return None

    async def on_disconnect(self, socket: WebSocket) -> None:
        """Leave the room (also after an error, e.g. an invalid payload) and tell the others."""
        online = self.rooms.leave(self.room, socket)
        await self.rooms.broadcast(self.room, self._notice("leave", online))

    def _notice(self, kind: str, online: int) -> dict[str, Any]:
        return {
            "type": kind,
            "room": self.room,
            "name": self.name,
            "online": online,
            "time": _now(),
        }
