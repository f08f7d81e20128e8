"""Per-connection cleanups of yield dependencies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Cleanups"]

logger = logging.getLogger("wsactors.connection")


class Cleanups:
    """The yield-dependency cleanups of one connection, run last-in first-out.

    A small stand-in for ``contextlib.AsyncExitStack`` (which allocates a deque for
    every connection, yield dependencies or not): nothing is allocated until a
    cleanup is registered.
    """

    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        self._callbacks: list[tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]] | None = None

    def push_async_callback(self, callback: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Register ``await callback(*args)`` to run at :meth:`aclose`."""
        if self._callbacks is None:
            self._callbacks = []
        self._callbacks.append((callback, args))

    @property
    def pending(self) -> bool:
        """Whether cleanups are registered and have not run yet."""
        return bool(self._callbacks)

    async def aclose(self) -> None:
        """Run every registered cleanup, newest first; idempotent.

        Every cleanup runs even when an earlier one fails; the first failure is
        raised once all have run.

        Cancellation:
            A cancelled cleanup stops the remaining ones; the supervisor runs this
            shielded, bounded by ``cleanup_timeout``.
        """
        callbacks, self._callbacks = self._callbacks, None
        first: Exception | None = None
        while callbacks:
            callback, args = callbacks.pop()
            try:
                await callback(*args)
            except Exception as exc:
                if first is None:
                    first = exc
                else:
                    logger.error("another dependency cleanup failed too", exc_info=exc)
        if first is not None:
            raise first
