"""Fixtures of the Channels tests: a real ``redis-server`` and Channels on either backend.

Both come from tests/redis_helpers.py (shared with tests/examples): ``redis_server``
is a fresh redis-server on 127.0.0.1 and a free port, ``make_channels`` builds
Channels on the memory backend or on such a server. Without the binary (or
without coredis) the Redis tests skip, except when ``CI=true``: there a missing
Redis fails the run instead of passing it silently. Redis tests carry the
``redis`` marker and run in ``nox -s redis``.
"""

from redis_helpers import make_channels as make_channels
from redis_helpers import redis_server as redis_server
