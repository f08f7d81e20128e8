"""The Lua script that keeps history and publishes in one atomic step."""

from __future__ import annotations

__all__ = ["PUBLISH_WITH_HISTORY"]

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
