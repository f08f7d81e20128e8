"""``RedisBackend``: channels across processes and machines, through Redis pub/sub.

Needs the optional extra ``wsactors[redis]``: coredis 6.x, the one Redis client
that runs natively on Trio (through anyio). One pub/sub connection per process
carries every topic this process has subscribers for; the :class:`Hub` fans each
message out locally. What coredis leaves to its user, handled here:

- it re-subscribes by itself after a reconnect, silently losing what was
  published meanwhile: this backend runs its own reconnect loop instead (coredis'
  retry is off) and gives every subscriber a ``Gap(reason="reconnect")``;
- its default backoff grows across outages and never resets: ours is capped by
  ``reconnect_max_delay`` and resets once connected;
- entering a pub/sub with Redis unreachable waits without bound, and leaving one
  can hang: both are bounded (``connect_timeout``, ``stop_timeout``);
- it buffers pushed messages without bound when nobody reads: the reader task
  reads continuously into the subscribers' bounded backlogs;
- its keepalive PING has no deadline, so a frozen Redis goes unnoticed: a health
  check PINGs every ``health_check_interval`` and reconnects when no PONG comes
  within ``health_check_timeout``.

The backend is made of parts, each an object with its own state; none inherits
from another:

- :mod:`.backend`: ``RedisBackend``, the Backend the Channels call: its options,
  the client, the background task and its bounded stop, the commands;
- :mod:`.pubsub`: ``PubSubConnection``, the pub/sub connection: sessions (subscribe,
  refill, read, health check), the reconnect loop, startup;
- :mod:`.history`: ``StreamHistory``, the history streams: the publish script that
  gives ids, the refill after a reconnect, the replay;
- :mod:`.keys`: ``Keys``, the channel and stream of each topic;
- :mod:`.errors`: ``RedisUnavailableError``, and which failures mean "reconnect".
"""

from __future__ import annotations

from .backend import RedisBackend
from .errors import RedisUnavailableError

__all__ = ["RedisBackend", "RedisUnavailableError"]
