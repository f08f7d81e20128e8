"""History in Redis streams, for ``RedisBackend``: publishing with an id, reading back.

Owns what the stream ``{prefix}:history:{topic}`` holds and how it is read: the
XADD+PUBLISH Lua script that gives each message its id, the refill of every
topic after a reconnect (from its last delivered id, saying ``history_trimmed``
when that id is older than the oldest kept), and the newest messages a new
subscriber is replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..hub import Hub
from ..items import Message, id_key

if TYPE_CHECKING:
    import coredis

__all__ = ["PUBLISH_WITH_HISTORY", "publish_with_history", "read_history", "refill", "text"]

#: KEYS[1]: the topic's stream. ARGV: channel, payload, maxlen, exclude token.
#: XADD with an approximate MAXLEN (``~``: Redis trims whole macro nodes, cheaply)
#: gives the id; PUBLISH sends ``id\nexclude\npayload``, so every live message
#: carries the id a replay would give it. Being one script, no subscriber can
#: see the message live without it being in the stream, or the other way round.
PUBLISH_WITH_HISTORY = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[2], 'x', ARGV[4])
redis.call('PUBLISH', ARGV[1], id .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[2])
return id
"""


async def publish_with_history(
    script: Any, stream: str, channel: str, raw: str, exclude: str | None, history: int
) -> str:
    """XADD (keeping about ``history`` entries) and PUBLISH in one script; the id."""
    message_id = await script(keys=[stream], args=[channel, raw, history, exclude or ""])
    return text(message_id)


async def refill(
    client: coredis.Redis[bytes],
    hub: Hub,
    topics: list[str],
    stream_of: Callable[[str], str],
    limit: int,
) -> None:
    """After a reconnect, replay what each topic missed, from its last id."""
    for topic in topics:
        last = hub.last_ids.get(topic)
        if last is None:
            continue
        stream = stream_of(topic)
        # Trimming starts at the oldest entry: if the last id delivered here is
        # older than the oldest kept, what followed it may be gone too.
        oldest = await client.xrange(stream, "-", "+", count=1)
        if oldest and id_key(text(oldest[0].identifier)) > id_key(last):
            hub.gap(topic, "history_trimmed")
        entries = await client.xrange(stream, f"({last}", "+", count=limit)
        for entry in entries:
            fields = entry.field_values
            exclude = text(fields.get(b"x", b"")) or None
            hub.dispatch(Message(topic, text(fields[b"d"]), text(entry.identifier)), exclude)


async def read_history(
    client: coredis.Redis[bytes], stream: str, topic: str, count: int
) -> list[Message]:
    """The newest ``count`` entries of the topic's stream, oldest first."""
    entries = await client.xrevrange(stream, "+", "-", count=count)
    return [
        Message(topic, text(e.field_values[b"d"]), text(e.identifier)) for e in reversed(entries)
    ]


def text(value: Any) -> str:
    """A Redis reply as text (coredis gives bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)
