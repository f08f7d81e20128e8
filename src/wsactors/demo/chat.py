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

Messages travel through the App's :class:`~wsactors.channels.Channels` (topic
``chat:{room}``): with ``wsactors demo --redis URL`` two demo processes share their
rooms. Each connection's feed (``send_to``) runs in the registry's nursery, opened
by the App's lifespan (``ChatRooms.running``), from ``on_connect`` until
``on_disconnect``. The member registry, and so the ``online`` count, is this
process's own.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trio

from ..channels import Channels
from ..handlers import WebSocketListener
from ..socket.websocket import WebSocket

__all__ = ["ChatIn", "ChatListener", "ChatRooms", "StatsRequest", "topic"]

MAX_NAME = 32  # characters of a display name; longer names are cut
MAX_TEXT = 1000  # characters of one chat message; longer messages are cut
BACKLOG = 64  # chat messages queued per client before the oldest are dropped

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


def topic(room: str) -> str:
    """The channel topic of a chat room."""
    return f"chat:{room}"


class ChatRooms:
    """The rooms' members in this process, and their feeds from the Channels.

    Args:
        channels: The App's Channels (a fresh in-process one by default).
    """

    def __init__(self, channels: Channels | None = None) -> None:
        self.channels = channels if channels is not None else Channels()
        self.rooms: dict[str, set[WebSocket]] = {}
        self._nursery: trio.Nursery | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The nursery the feeds run in; the App keeps it open while it serves."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                yield
            finally:
                self._nursery = None
                nursery.cancel_scope.cancel()

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

    async def feed(self, room: str, socket: WebSocket) -> trio.CancelScope:
        """Start streaming ``room`` into ``socket``; cancel the returned scope to stop.

        Returns once subscribed, so the client's own join notice reaches it.

        Raises:
            RuntimeError: the registry is not running (no App lifespan).
        """
        if self._nursery is None:
            raise RuntimeError("ChatRooms.running() is not open: give it to App(lifespan=...)")
        scope: trio.CancelScope = await self._nursery.start(self._feed, room, socket)
        return scope

    async def _feed(
        self, room: str, socket: WebSocket, task_status: trio.TaskStatus[trio.CancelScope]
    ) -> None:
        with trio.CancelScope() as scope:
            await self.channels.send_to(
                socket, topic(room), max_backlog=BACKLOG, task_status=_Started(task_status, scope)
            )

    async def broadcast(self, room: str, event: dict[str, Any]) -> None:
        """Publish ``event`` to everyone in ``room``, in every process (encoded once)."""
        await self.channels.publish(topic(room), event)


class _Started:
    """Passes ``started()`` on with the feed's cancel scope as the value."""

    def __init__(self, inner: trio.TaskStatus[trio.CancelScope], scope: trio.CancelScope) -> None:
        self.inner = inner
        self.scope = scope

    def started(self, value: None = None) -> None:
        self.inner.started(self.scope)


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
        self.feed: trio.CancelScope | None = None

    async def on_connect(
        self, socket: WebSocket, room: str, rooms: ChatRooms, name: str = ""
    ) -> None:
        """Enter the room and tell everyone in it (this client too)."""
        self.room, self.name, self.rooms = room, clean_name(name), rooms
        self.feed = await rooms.feed(room, socket)
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
        if self.feed is not None:
            self.feed.cancel()
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
