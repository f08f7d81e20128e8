"""Redis failures: the startup error, and telling broker failures from bugs.

A broker failure (Redis unreachable, slow, or gone) means reconnect; anything else
is a bug and is reported loudly. coredis raises from its task groups, so every
rule here looks inside exception groups (with ``wsactors.groups.leaves``).
"""

from __future__ import annotations

import logging

import trio

from ...groups import leaves

__all__ = [
    "RedisUnavailableError",
    "first_error",
    "is_broker_error",
    "raise_unless_stopping_noise",
]

logger = logging.getLogger("wsactors.channels.redis")


class RedisUnavailableError(ConnectionError):
    """Redis could not be reached within ``connect_timeout`` at startup."""


def is_broker_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or every exception in a group: coredis raises them from its
    task groups) means the broker is unreachable, slow, or dropped the connection."""
    import anyio
    from coredis.exceptions import RedisError

    # coredis reads and writes through anyio streams: a lost connection can also
    # surface as one of anyio's stream errors.
    lost = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)
    kinds = (OSError, TimeoutError, RedisError, trio.TooSlowError)
    return all(isinstance(leaf, kinds + lost) for leaf in leaves(exc))


def first_error(exc: BaseException) -> BaseException:
    """The first real exception inside (possibly nested) groups, for log lines."""
    return leaves(exc)[0]


def raise_unless_stopping_noise(exc: BaseException) -> None:
    """Called while stopping: swallow Cancelled and errors, re-raise anything else.

    With Redis down or frozen, coredis may report the lost connection beside our
    own cancellation, grouped with Cancelled that anyio re-created. Swallowing
    those is safe: Trio cancellation is level-triggered, so an outer cancellation
    is raised again at the caller's next checkpoint.
    """
    found = leaves(exc)
    if not all(isinstance(leaf, trio.Cancelled | Exception) for leaf in found):
        raise exc
    errors = [leaf for leaf in found if not isinstance(leaf, trio.Cancelled)]
    if errors:
        level = logging.DEBUG if is_broker_error(errors[0]) else logging.WARNING
        logger.log(level, "the Redis connection failed while stopping: %r", errors[0])
