"""Telling broker failures (reconnect) from bugs (report loudly)."""

from __future__ import annotations

__all__ = ["is_broker_error"]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def is_broker_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or every exception in a group: coredis raises them from its
    task groups) means the broker is unreachable, slow, or dropped the connection."""
    import trio
    from coredis.exceptions import RedisError

    return all(
        isinstance(leaf, OSError | TimeoutError | RedisError | trio.TooSlowError)
        for leaf in _leaves(exc)
    )
