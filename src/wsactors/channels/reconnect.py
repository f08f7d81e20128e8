"""Telling broker failures (reconnect) from bugs (report loudly)."""

from __future__ import annotations

__all__ = ["is_broker_error", "leaves"]


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``, through nested groups (``exc`` itself if none)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def is_broker_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or every exception in a group: coredis raises them from its
    task groups) means the broker is unreachable, slow, or dropped the connection."""
    import anyio
    import trio
    from coredis.exceptions import RedisError

    # coredis reads and writes through anyio streams: a lost connection can also
    # surface as one of anyio's stream errors.
    lost = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)
    kinds = (OSError, TimeoutError, RedisError, trio.TooSlowError)
    return all(isinstance(leaf, kinds + lost) for leaf in leaves(exc))
