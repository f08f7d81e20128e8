"""History in Redis streams: publishing with an id, the refill after a reconnect, replay.

:class:`StreamHistory` owns what the stream ``{prefix}:history:{topic}`` holds and
how it is read: the XADD+PUBLISH Lua script that gives each message its id, the
refill of every topic after a reconnect (from its last delivered id, saying
``history_trimmed`` when that id is older than the oldest kept), and the newest
messages a new subscriber is replayed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..hub import Hub
from ..items import Message, id_key
from .keys import Keys, text

if TYPE_CHECKING:
    import coredis

__all__ = ["PUBLISH_WITH_HISTORY", "StreamHistory"]

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


class StreamHistory:
    """The history streams of the topics under one prefix, through one client.

    Args:
        client: The backend's client; its pool is open while the backend runs.
        keys: The names of each topic's channel and stream.
        refill_limit: Most messages a topic is refilled with after a reconnect.
    """

    def __init__(self, client: coredis.Redis[bytes], keys: Keys, refill_limit: int) -> None:
        self._client = client
        self._keys = keys
        self._refill_limit = refill_limit
        self._script: Any = client.register_script(PUBLISH_WITH_HISTORY)

    async def publish(self, topic: str, raw: str, exclude: str | None, history: int) -> str:
        """XADD (keeping about ``history`` entries) and PUBLISH in one script; the id.

        Cancellation:
            Unbounded here (the caller sets the deadline); if cancelled, the
            message may or may not have been published.
        """
        keys = self._keys
        message_id = await self._script(
            keys=[keys.stream(topic)], args=[keys.channel(topic), raw, history, exclude or ""]
        )
        return text(message_id)

    async def refill(self, hub: Hub, topics: list[str]) -> None:
        """After a reconnect, replay into ``hub`` what each topic missed, from its last id.

        At most ``refill_limit`` messages per topic; a topic that never received a
        message with an id here has nothing to refill.

        Cancellation:
            Unbounded here (the caller sets the deadline); if cancelled, the topics
            are refilled up to some point, which a later refill starts from.
        """
        for topic in topics:
            last = hub.last_ids.get(topic)
            if last is None:
                continue
            stream = self._keys.stream(topic)
            # Trimming starts at the oldest entry: if the last id delivered here is
            # older than the oldest kept, what followed it may be gone too.
            oldest = await self._client.xrange(stream, "-", "+", count=1)
            if oldest and id_key(text(oldest[0].identifier)) > id_key(last):
                hub.gap(topic, "history_trimmed")
            entries = await self._client.xrange(stream, f"({last}", "+", count=self._refill_limit)
            for entry in entries:
                fields = entry.field_values
                exclude = text(fields.get(b"x", b"")) or None
                hub.dispatch(Message(topic, text(fields[b"d"]), text(entry.identifier)), exclude)

    async def read(self, topic: str, count: int) -> list[Message]:
        """The newest ``count`` entries of the topic's stream, oldest first.

        Cancellation:
            Unbounded here (the caller sets the deadline); safe, it only reads.
        """
        entries = await self._client.xrevrange(self._keys.stream(topic), "+", "-", count=count)
        return [
            Message(topic, text(e.field_values[b"d"]), text(e.identifier))
            for e in reversed(entries)
        ]
